/**
 * The default Fetcher for plain Node: HTTP/1.1 on node:http and node:https.
 *
 * Not undici: on Node 20, undici 6 and 7 crash the process with an uncatchable assertion when
 * a server closes the connection at the end of a body while the reader applies backpressure
 * (docs/architecture.md, "HTTP client on Node 20"). Whatever a server does, this fetcher turns it into a
 * typed rejection or an error thrown from the body iterator; no 'error' event goes unhandled.
 */
import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { isIP, type Socket } from 'node:net';
import type tls from 'node:tls';
import {
  CancelledError,
  DownloadError,
  DownloadHTTPError,
  DownloadLengthMismatchError,
  RangeNotHonouredError,
  SlowRetrievalError,
  ValueError,
} from '../core/errors.js';
import { OWNED_CHUNKS, rangeHeader, type FetchRequest, type FetchResponse, type Fetcher } from './fetcher.js';
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

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Credentials that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/** Headers this fetcher owns; letting a caller set them would break framing or ranges. */
const RESERVED_HEADERS = new Set([
  'host',
  'range',
  'content-length',
  'transfer-encoding',
  'connection',
  'accept-encoding',
]);

type Headers = Record<string, string>;

/** One request and its response head. */
interface Exchange {
  req: ClientRequest;
  res: IncomingMessage;
}

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
        discard(exchange);
        if (redirects >= this.maxRedirects) throw new DownloadError(`${url}: more than ${this.maxRedirects} redirects`);
        const next = redirectTarget(target, exchange.res.headers.location, status);
        if (next.origin !== target.origin) headers = withoutCredentials(headers);
        target = next;
        continue;
      }
      if (status < 200 || status >= 300) {
        discard(exchange);
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
      discard(exchange);
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
      discard(exchange);
      throw err;
    }
    return {
      start: span.start,
      totalLength: span.totalLength,
      body: new ResponseBody(exchange, url, this.readTimeoutMs, signal),
    };
  }
}

/**
 * Where a 2xx body sits in the resource: `start` is its first byte, `end` one past its last
 * (when the head says so). A 206 must start exactly where we asked.
 */
function responseSpan(
  res: IncomingMessage,
  url: string,
  offset: number,
): { start: number; end?: number; totalLength?: number } {
  const contentLength = parseDecimal(res.headers['content-length']);
  if (res.statusCode !== 206) return { start: 0, end: contentLength, totalLength: contentLength };
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
  // Not interruptions (another attempt would get the same answer): typed, so they are not retried.
  if (!range) throw new RangeNotHonouredError(`${url}: 206 without a valid Content-Range`);
  const [first, last, total] = [Number(range[1]), Number(range[2]), parseDecimal(range[3])];
  if (first !== offset)
    throw new RangeNotHonouredError(`${url}: asked for bytes from ${offset}, server sent from ${first}`);
  if (last < first || (total !== undefined && last >= total))
    throw new DownloadError(`${url}: inconsistent Content-Range ${res.headers['content-range']}`);
  return { start: first, end: Math.max(last + 1, total ?? 0), totalLength: total };
}

/**
 * The body of one response as a single-use async iterator. It pulls with `res.read()` only
 * when the consumer asks, so the socket stays paused while the consumer is busy
 * (backpressure), and the read timeout only runs while the consumer is waiting.
 */
class ResponseBody implements AsyncIterableIterator<Uint8Array> {
  /** Node allocates every socket read afresh, and `read()` returns slices of those or a new concatenation. */
  readonly [OWNED_CHUNKS] = true;
  private failure: Error | undefined;
  private ended = false;
  private finished = false;
  private wake: (() => void) | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly url: string,
    private readonly readTimeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    const { res } = exchange;
    res.on('readable', this.notify);
    res.on('end', () => {
      this.ended = true;
      this.notify();
    });
    res.on('error', (err) =>
      this.fail(new DownloadError(`${url}: connection failed mid-body: ${err.message}`, { cause: err })),
    );
    res.on('close', () => {
      if (!this.ended) this.fail(new DownloadError(`${url}: connection closed before the end of the body`));
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
    else if (res.destroyed) this.fail(new DownloadError(`${url}: connection closed before the end of the body`));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    while (!this.finished) {
      if (this.failure) {
        this.finish();
        throw this.failure;
      }
      const chunk = this.exchange.res.read() as Buffer | null;
      if (chunk !== null) return { done: false, value: chunk };
      if (this.ended) break;
      await this.nextActivity();
    }
    this.finish();
    return { done: true, value: undefined };
  }

  /** The consumer stopped early (break, or a thrown length error): drop the connection. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Waits for data, the end or a failure; at most readTimeoutMs (one timer per body, re-armed). */
  private nextActivity(): Promise<void> {
    if (this.silenceTimer) this.silenceTimer.refresh();
    else this.silenceTimer = setTimeout(this.onSilence, this.readTimeoutMs);
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private readonly onSilence = (): void => {
    if (this.wake) this.fail(new SlowRetrievalError(`${this.url}: no data for ${this.readTimeoutMs} ms`));
  };

  private readonly notify = (): void => {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  private readonly onAbort = (): void => this.fail(new CancelledError(`download of ${this.url} cancelled`));

  private fail(error: Error): void {
    this.failure ??= error;
    this.exchange.req.destroy();
    this.notify();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.silenceTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    // A finished body may leave its socket to the keep-alive pool; anything else must not. A
    // body left unread after the parser received all of it (a ranged read cut at its end)
    // counts as finished: nothing more can arrive on it.
    const { req, res } = this.exchange;
    if (this.failure || (!this.ended && !res.complete)) req.destroy();
    else if (!this.ended) res.resume();
  }
}

/**
 * Drops a response we will not read (an error status, a redirect, a retried 5xx). Never drain:
 * a hostile error or redirect body may be endless or slow. A body the parser already received
 * in full (e.g. a 404 with Content-Length: 0, the usual answer to the next-root probe) costs
 * nothing to consume, and consuming it keeps the keep-alive connection for the next request.
 */
function discard(exchange: Exchange): void {
  if (exchange.res.complete) exchange.res.resume();
  else exchange.req.destroy();
}

function redirectTarget(current: URL, location: string | undefined, status: number): URL {
  if (!location) throw new DownloadHTTPError(`${current.href}: redirect ${status} without Location`, status);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch (cause) {
    throw new DownloadError(`${current.href}: invalid redirect Location ${JSON.stringify(location)}`, { cause });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new DownloadError(`${current.href}: refusing redirect to ${next.protocol} URL`);
  }
  if (current.protocol === 'https:' && next.protocol === 'http:') {
    throw new DownloadError(`${current.href}: refusing redirect from https to http (${next.href})`);
  }
  return next;
}

function withoutCredentials(headers: Headers): Headers {
  const kept = { ...headers };
  for (const name of CREDENTIAL_HEADERS) delete kept[name];
  return kept;
}

/** Failures worth another attempt: the connection broke, not the server's answer or our own limits. */
function isConnectionFailure(err: unknown): boolean {
  return err instanceof DownloadError && err.constructor === DownloadError;
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ValueError(`invalid URL ${JSON.stringify(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValueError(`unsupported URL scheme ${parsed.protocol} in ${url}`);
  }
  return parsed;
}

function validatedHeaders(headers: Record<string, string>): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw new ValueError(`header ${name} is managed by the fetcher`);
    try {
      http.validateHeaderName(lower);
      http.validateHeaderValue(lower, value);
    } catch (cause) {
      throw new ValueError(`invalid header ${JSON.stringify(name)}`, { cause });
    }
    out[lower] = value;
  }
  return out;
}

function parseDecimal(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ValueError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValueError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('download cancelled'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('download cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
