/**
 * Proxy selection (HTTP_PROXY / HTTPS_PROXY / NO_PROXY) and CONNECT tunnels for HttpFetcher.
 * Only plain-HTTP proxies are supported: http:// targets go through them as absolute-URI
 * requests, https:// targets through a CONNECT tunnel, so TLS stays end-to-end with the origin.
 */
import http from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import {
  CancelledError,
  DownloadError,
  DownloadHTTPError,
  SlowRetrievalError,
  TufError,
  ValueError,
} from '../core/errors.js';

export interface ProxyConfig {
  /** Proxy for http:// URLs, e.g. `http://user:pass@proxy.corp:3128`. */
  httpProxy?: string;
  /** Proxy for https:// URLs (reached with CONNECT). */
  httpsProxy?: string;
  /** Comma- or space-separated hosts that bypass the proxy: `host`, `.suffix`, `host:port`, `*`. */
  noProxy?: string;
}

/** Reads the conventional variables; the lower-case spelling wins, as in curl. */
export function proxyConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const pick = (name: string): string | undefined =>
    nonEmpty(env[name.toLowerCase()]) ?? nonEmpty(env[name.toUpperCase()]);
  return { httpProxy: pick('http_proxy'), httpsProxy: pick('https_proxy'), noProxy: pick('no_proxy') };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The proxy to use for `target`, or undefined to connect directly. */
export function proxyFor(target: URL, config: ProxyConfig): URL | undefined {
  const configured = target.protocol === 'https:' ? config.httpsProxy : config.httpProxy;
  if (!configured || bypassesProxy(target, config.noProxy)) return undefined;
  return parseProxyUrl(configured);
}

/** Parses a proxy setting; a bare `host:port` means http://host:port. */
export function parseProxyUrl(setting: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(setting) ? setting : `http://${setting}`;
  let proxy: URL;
  try {
    proxy = new URL(withScheme);
  } catch (cause) {
    throw new ValueError(`invalid proxy URL ${JSON.stringify(setting)}`, { cause });
  }
  if (proxy.protocol !== 'http:') {
    throw new ValueError(`unsupported proxy scheme ${proxy.protocol} (only http:// proxies are supported)`);
  }
  return proxy;
}

/**
 * NO_PROXY matching with curl's rules: `*` matches everything; `example.com` and
 * `.example.com` both match example.com and its subdomains; `host:port` matches that port
 * only. Comparison is case-insensitive; IPv6 entries may be bracketed. No CIDR ranges.
 */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = unbracket(target.hostname).toLowerCase();
  const port = effectivePort(target);
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => matchesNoProxyEntry(entry.toLowerCase(), host, port));
}

function matchesNoProxyEntry(entry: string, host: string, port: number): boolean {
  if (entry === '*') return true;
  const { entryHost, entryPort } = splitHostPort(entry);
  if (entryPort !== undefined && entryPort !== port) return false;
  const domain = entryHost.replace(/^\*?\./, '');
  if (!domain) return false;
  return host === domain || host.endsWith(`.${domain}`);
}

function splitHostPort(entry: string): { entryHost: string; entryPort?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { entryHost: bracketed[1], entryPort: bracketed[2] ? Number(bracketed[2]) : undefined };
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  if (withPort) return { entryHost: withPort[1], entryPort: Number(withPort[2]) };
  return { entryHost: entry }; // a bare IPv6 address has several colons and no port
}

/** URL.hostname keeps IPv6 brackets; sockets and TLS want them off. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** `Proxy-Authorization` value from the proxy URL's credentials, if it has any. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

export interface TunnelOptions {
  /** Bound on reaching the proxy and getting its answer to CONNECT. */
  timeoutMs: number;
  signal?: AbortSignal;
  userAgent?: string;
}

/**
 * Asks `proxy` for a raw TCP tunnel to host:port (CONNECT) and resolves with the socket once
 * the proxy answers 2xx. The caller layers TLS on top. Rejects with SlowRetrievalError on
 * timeout, DownloadHTTPError when the proxy refuses, DownloadError on network failure,
 * CancelledError when `signal` aborts; the socket is destroyed in every failure.
 */
export function openTunnel(proxy: URL, host: string, port: number, options: TunnelOptions): Promise<Socket> {
  const authority = `${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new CancelledError(`CONNECT ${authority} cancelled`));
    const headers: Record<string, string> = { host: authority };
    const auth = proxyAuthorization(proxy);
    if (auth) headers['proxy-authorization'] = auth;
    if (options.userAgent) headers['user-agent'] = options.userAgent;
    const req = http.request({
      host: unbracket(proxy.hostname),
      port: effectivePort(proxy),
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    });
    let settled = false;
    const settle = (error: Error | undefined, socket?: Socket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        socket?.destroy();
        req.destroy();
        reject(error);
      } else resolve(socket!);
    };
    const onAbort = (): void => settle(new CancelledError(`CONNECT ${authority} cancelled`));
    const timer = setTimeout(
      () =>
        settle(
          new SlowRetrievalError(
            `proxy ${proxy.host} did not open a tunnel to ${authority} within ${options.timeoutMs} ms`,
          ),
        ),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => settle(asDownloadError(err, `CONNECT ${authority} via ${proxy.host}`)));
    req.on('connect', (res, socket, head) => {
      socket.on('error', () => {}); // reported through the TLS layer or the caller's request
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        return settle(
          new DownloadHTTPError(`proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${status}`, status),
          socket,
        );
      }
      // TLS clients speak first, so a proxy has nothing to send yet; keep anything it did send.
      if (head.length > 0) socket.unshift(head);
      settle(undefined, socket);
    });
    req.end();
  });
}

/** Network failures become DownloadError; our own typed errors pass through unchanged. */
export function asDownloadError(err: unknown, what: string): TufError {
  if (err instanceof TufError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DownloadError(`${what}: ${message}`, { cause: err });
}
