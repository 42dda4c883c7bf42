/**
 * The response side of HttpFetcher: where a body sits in the resource (ranges), the body as a
 * pull-based async iterator with backpressure and a read timeout, and dropping a response that
 * will not be read without draining it.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { CancelledError, DownloadError, RangeNotHonouredError, SlowRetrievalError } from '../core/errors.js';
import { OWNED_CHUNKS } from './fetcher.js';

/** One request and its response head. */
export interface Exchange {
  req: ClientRequest;
  res: IncomingMessage;
}

/**
 * Where a 2xx body sits in the resource: `start` is its first byte, `end` one past its last
 * (when the head says so). A 206 must start exactly where we asked.
 */
export function responseSpan(
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
export class ResponseBody implements AsyncIterableIterator<Uint8Array> {
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
export function dropResponse(exchange: Exchange): void {
  if (exchange.res.complete) exchange.res.resume();
  else exchange.req.destroy();
}

function parseDecimal(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
