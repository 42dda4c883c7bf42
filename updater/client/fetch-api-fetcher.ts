/**
 * A Fetcher over any WHATWG `fetch` function: Electron's `net.fetch` (Chromium's network stack,
 * with the system proxy settings and certificate store, as electron-updater's `net` requests)
 * or Node's global `fetch`. The TUF-side guards (length bound, read timeout, hashes) stay in
 * download.ts; this only adapts requests and responses.
 *
 * Redirects are followed by the fetch implementation, which per the Fetch standard drops
 * `Authorization` on a cross-origin redirect.
 */
import {
  CancelledError,
  DownloadError,
  DownloadHTTPError,
  RangeNotHonouredError,
  SlowRetrievalError,
  ValueError,
} from '../core/errors.js';
import { rangeHeader, type Fetcher, type FetchRequest, type FetchResponse } from './fetcher.js';

/** The part of the Fetch API this adapter uses. */
export type FetchFunction = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal; redirect: 'follow' },
) => Promise<Response>;

export interface FetchApiFetcherOptions {
  /** Sent with every request (e.g. Authorization for a private repository). */
  headers?: Record<string, string>;
  /** Bound on waiting for the response head (connect, TLS, server think time). */
  connectTimeoutMs?: number;
}

const CONTENT_RANGE = /^bytes (\d+)-\d+\/(\d+|\*)$/;

export class FetchApiFetcher implements Fetcher {
  private readonly headers: Record<string, string>;
  private readonly connectTimeoutMs: number;

  constructor(
    private readonly fetchFn: FetchFunction,
    options: FetchApiFetcherOptions = {},
  ) {
    if (typeof fetchFn !== 'function') throw new ValueError('FetchApiFetcher needs a fetch function');
    this.headers = { ...options.headers };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  async fetch(url: string, request: FetchRequest = {}): Promise<FetchResponse> {
    const offset = request.offset ?? 0;
    if (request.signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);
    // One controller for the whole exchange: the caller's signal, the head timeout, and the
    // body iterator's early exit all end the request through it.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.connectTimeoutMs);
    const range = rangeHeader(offset, request.end);
    const headers = { ...this.headers, ...(range ? { range } : {}) };
    let response: Response;
    try {
      response = await this.fetchFn(url, { headers, signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      request.signal?.removeEventListener('abort', onAbort);
      if (timedOut)
        throw new SlowRetrievalError(`${url}: no response within ${this.connectTimeoutMs} ms`, { cause: e });
      if (request.signal?.aborted) throw new CancelledError(`download of ${url} cancelled`, { cause: e });
      throw new DownloadError(`${url}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    const finish = () => {
      request.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    };
    try {
      return { ...responseRange(url, response, offset, range !== undefined), body: bodyOf(url, response, finish) };
    } catch (e) {
      finish();
      throw e;
    }
  }
}

/** Where the body starts and how long the whole resource is, from status and headers. */
function responseRange(url: string, response: Response, offset: number, ranged: boolean): Omit<FetchResponse, 'body'> {
  if (response.status === 206 && ranged) {
    const m = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== offset)
      throw new RangeNotHonouredError(`${url}: partial content does not start at byte ${offset}`);
    return { start: offset, totalLength: m[2] === '*' ? undefined : Number(m[2]) };
  }
  if (response.status < 200 || response.status >= 300 || response.status === 206) {
    throw new DownloadHTTPError(`${url}: HTTP ${response.status}`, response.status);
  }
  const length = Number(response.headers.get('content-length'));
  return { start: 0, totalLength: Number.isSafeInteger(length) && length >= 0 ? length : undefined };
}

async function* bodyOf(url: string, response: Response, finish: () => void): AsyncGenerator<Uint8Array> {
  const reader = response.body?.getReader();
  try {
    if (!reader) return;
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new DownloadError(`${url}: connection failed mid-body: ${(e as Error)?.message ?? String(e)}`, {
          cause: e,
        });
      }
      if (chunk.done) return;
      yield chunk.value;
    }
  } finally {
    reader?.releaseLock();
    finish();
  }
}
