/**
 * The default Fetcher for plain Node: HTTP/1.1 on node:http and node:https.
 *
 * Not undici: on Node 20, undici 6 and 7 crash the process with an uncatchable assertion when
 * a server closes the connection at the end of a body while the reader applies backpressure
 * (docs/architecture.md, "HTTP client on Node 20"). Whatever a server does, this fetcher turns it into a
 * typed rejection or an error thrown from the body iterator; no 'error' event goes unhandled.
 */
import http, { type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { isIP, type Socket } from 'node:net';
import type tls from 'node:tls';
import {
  CancelledError,
  DownloadError,
  DownloadHTTPError,
  DownloadLengthMismatchError,
  SlowRetrievalError,
  ValueError,
} from '../core/errors.js';
import { rangeHeader, type FetchRequest, type FetchResponse, type Fetcher } from './fetcher.js';
import { dropResponse, ResponseBody, responseSpan, type Exchange } from './http-response.js';
import {
  isConnectionFailure,
  nonNegativeInteger,
  parseHttpUrl,
  positiveInteger,
  redirectTarget,
  REDIRECT_STATUSES,
  sleep,
  validatedHeaders,
  withoutCredentials,
  type Headers,
} from './http-rules.js';
import {
  asDownloadError,
  effectivePort,
  openTunnel,
  proxyAuthorization,
  proxyConfigFromEnv,
  proxyFor,
  unbracket,
  type ProxyConfig,
} from './proxy.js';

export interface HttpFetcherOptions {
  /** Bound on opening a connection (TCP, or the proxy tunnel). */
  connectTimeoutMs?: number;
  /** Bound on any wait for the response head or for the next body bytes. */
  readTimeoutMs?: number;
  /** Extra attempts after a connection failure or a 5xx, only before any body byte arrived. */
  retries?: number;
  /** First delay between attempts; doubles each time. */
  retryDelayMs?: number;
  /** Sent with every request. Authorization, Cookie and Proxy-Authorization are dropped on cross-origin redirects. */
  headers?: Record<string, string>;
  /** Defaults to HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment. Pass `{}` for no proxy. */
  proxy?: ProxyConfig;
  maxRedirects?: number;
  userAgent?: string;
  /** Trusted CA certificates (PEM) for https. Replaces Node's bundled roots, as in node:tls. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * node:https and node:tls, loaded on the first https request (synchronously: they are
 * built in). A repository served over plain http, or a process that only publishes, never
 * pays their ~5 ms of start-up and ~2 MiB.
 */
const requireBuiltin = createRequire(import.meta.url);
let httpsModule: typeof https | undefined;
let tlsModule: typeof tls | undefined;
const httpsLib = (): typeof https => (httpsModule ??= requireBuiltin('node:https') as typeof https);
const tlsLib = (): typeof tls => (tlsModule ??= requireBuiltin('node:tls') as typeof tls);

export class HttpFetcher implements Fetcher {
  private readonly connectTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRedirects: number;
  private readonly userAgent: string;
  private readonly headers: Headers;
  private readonly proxy: ProxyConfig;
  private readonly ca: HttpFetcherOptions['ca'];
  private readonly httpAgent: http.Agent;
  private httpsAgentValue: https.Agent | undefined;

  constructor(options: HttpFetcherOptions = {}) {
    this.connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs');
    this.readTimeoutMs = positiveInteger(options.readTimeoutMs ?? 30_000, 'readTimeoutMs');
    this.retries = nonNegativeInteger(options.retries ?? 2, 'retries');
    this.retryDelayMs = nonNegativeInteger(options.retryDelayMs ?? 250, 'retryDelayMs');
    this.maxRedirects = nonNegativeInteger(options.maxRedirects ?? 5, 'maxRedirects');
    this.userAgent = options.userAgent ?? 'electron-tuf';
    this.headers = validatedHeaders(options.headers ?? {});
    this.proxy = options.proxy ?? proxyConfigFromEnv();
    this.ca = options.ca;
    this.httpAgent = new http.Agent({ keepAlive: true });
  }

  /** Closes idle keep-alive connections. The fetcher stays usable. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgentValue?.destroy();
  }

  private get httpsAgent(): https.Agent {
    this.httpsAgentValue ??= new (httpsLib().Agent)({ keepAlive: true, ca: this.ca });
    return this.httpsAgentValue;
  }

  async fetch(url: string, request: FetchRequest = {}): Promise<FetchResponse> {
    const offset = nonNegativeInteger(request.offset ?? 0, 'offset');
    const { signal, maxLength } = request;
    const end = request.end === undefined ? undefined : nonNegativeInteger(request.end, 'end');
    if (end !== undefined && end <= offset) throw new ValueError(`range end ${end} is not after offset ${offset}`);
    if (signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);
    let target = parseHttpUrl(url);
    let headers = this.requestHeaders(offset, end);
    for (let redirects = 0; ; redirects++) {
      const exchange = await this.exchangeWithRetries(target, headers, signal);
      const status = exchange.res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        dropResponse(exchange);
        if (redirects >= this.maxRedirects) throw new DownloadError(`${url}: more than ${this.maxRedirects} redirects`);
        const next = redirectTarget(target, exchange.res.headers.location, status);
        if (next.origin !== target.origin) headers = withoutCredentials(headers);
        target = next;
        continue;
      }
      if (status < 200 || status >= 300) {
        dropResponse(exchange);
        throw new DownloadHTTPError(`${target.href}: HTTP ${status}`, status);
      }
      return this.toFetchResponse(exchange, target.href, offset, maxLength, signal);
    }
  }

  private requestHeaders(offset: number, end: number | undefined): Headers {
    const headers: Headers = { 'user-agent': this.userAgent, 'accept-encoding': 'identity', ...this.headers };
    const range = rangeHeader(offset, end);
    if (range) headers.range = range;
    return headers;
  }

  /** Retries connection failures and 5xx answers; nothing of the body has been read yet. */
  private async exchangeWithRetries(target: URL, headers: Headers, signal?: AbortSignal): Promise<Exchange> {
    for (let attempt = 0; ; attempt++) {
      const isLastAttempt = attempt >= this.retries;
      let exchange: Exchange;
      try {
        exchange = await this.exchange(target, headers, signal);
      } catch (err) {
        if (isLastAttempt || !isConnectionFailure(err)) throw err;
        await sleep(this.retryDelayMs * 2 ** attempt, signal);
        continue;
      }
      if ((exchange.res.statusCode ?? 0) < 500 || isLastAttempt) return exchange;
      dropResponse(exchange);
      await sleep(this.retryDelayMs * 2 ** attempt, signal);
    }
  }

  /** Sends one GET and resolves when the response head has arrived. */
  private async exchange(target: URL, headers: Headers, signal?: AbortSignal): Promise<Exchange> {
    const proxy = proxyFor(target, this.proxy);
    if (proxy && target.protocol === 'https:') {
      const tunnel = await openTunnel(proxy, unbracket(target.hostname), effectivePort(target), {
        timeoutMs: this.connectTimeoutMs,
        signal,
        userAgent: this.userAgent,
      });
      return this.send(target, () => this.tunnelledRequest(target, headers, tunnel), signal);
    }
    if (proxy) return this.send(target, () => this.proxiedRequest(target, proxy, headers), signal);
    return this.send(target, () => this.directRequest(target, headers), signal);
  }

  private directRequest(target: URL, headers: Headers): ClientRequest {
    const isHttps = target.protocol === 'https:';
    const options = {
      host: unbracket(target.hostname),
      port: effectivePort(target),
      path: target.pathname + target.search,
      headers,
    };
    return isHttps
      ? httpsLib().request({ ...options, agent: this.httpsAgent })
      : http.request({ ...options, agent: this.httpAgent });
  }

  /** http:// through a proxy: the request line carries the absolute URI. */
  private proxiedRequest(target: URL, proxy: URL, headers: Headers): ClientRequest {
    const proxyHeaders: OutgoingHttpHeaders = { ...headers, host: target.host };
    const auth = proxyAuthorization(proxy);
    if (auth) proxyHeaders['proxy-authorization'] = auth;
    return http.request({
      host: unbracket(proxy.hostname),
      port: effectivePort(proxy),
      path: `${target.protocol}//${target.host}${target.pathname}${target.search}`,
      headers: proxyHeaders,
      agent: this.httpAgent,
    });
  }

  /** https:// through a CONNECT tunnel: TLS to the origin runs inside the tunnel socket. */
  private tunnelledRequest(target: URL, headers: Headers, tunnel: Socket): ClientRequest {
    const host = unbracket(target.hostname);
    return httpsLib().request({
      host,
      port: effectivePort(target),
      path: target.pathname + target.search,
      headers,
      createConnection: () => {
        // RFC 6066: SNI carries host names only, never IP addresses.
        const secure = tlsLib().connect({
          socket: tunnel,
          servername: isIP(host) ? undefined : host,
          ca: this.ca,
          ALPNProtocols: ['http/1.1'],
        });
        secure.once('close', () => tunnel.destroy());
        return secure;
      },
    });
  }

  /**
   * Starts a request and waits for its response head, bounded by connectTimeoutMs until the
   * socket is connected and readTimeoutMs after that. Every failure destroys the request.
   */
  private send(target: URL, start: () => ClientRequest, signal?: AbortSignal): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = start();
      } catch (err) {
        return reject(asDownloadError(err, target.href));
      }
      // Errors after the head arrived surface through the response; keep the process alive.
      req.on('error', () => {});
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const armTimer = (ms: number, makeError: () => Error): void => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(makeError()), ms);
      };
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: Error): void => {
        if (!finish()) return;
        req.destroy();
        reject(error);
      };
      const onAbort = (): void => fail(new CancelledError(`download of ${target.href} cancelled`));
      const awaitHead = (): void =>
        armTimer(
          this.readTimeoutMs,
          () => new SlowRetrievalError(`${target.href}: no response within ${this.readTimeoutMs} ms`),
        );

      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      armTimer(
        this.connectTimeoutMs,
        () => new SlowRetrievalError(`${target.href}: no connection within ${this.connectTimeoutMs} ms`),
      );
      req.on('socket', (socket) => (socket.connecting ? socket.once('connect', awaitHead) : awaitHead()));
      req.on('error', (err) => fail(asDownloadError(err, target.href)));
      req.on('response', (res) => {
        res.on('error', () => {}); // ResponseBody maps body errors; this one only keeps the process alive
        if (finish()) resolve({ req, res });
        else res.destroy();
      });
      req.end();
    });
  }

  private toFetchResponse(
    exchange: Exchange,
    url: string,
    offset: number,
    maxLength: number | undefined,
    signal: AbortSignal | undefined,
  ): FetchResponse {
    let span: { start: number; end?: number; totalLength?: number };
    try {
      span = responseSpan(exchange.res, url, offset);
      if (maxLength !== undefined && span.end !== undefined && span.end > maxLength) {
        throw new DownloadLengthMismatchError(
          `${url}: server announced ${span.end} bytes, more than the allowed ${maxLength}`,
        );
      }
    } catch (err) {
      dropResponse(exchange);
      throw err;
    }
    return {
      start: span.start,
      totalLength: span.totalLength,
      body: new ResponseBody(exchange, url, this.readTimeoutMs, signal),
    };
  }
}
