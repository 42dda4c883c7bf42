/**
 * TUF-side downloads over any Fetcher. The fetcher is not trusted: an app may pass its own
 * (e.g. one on Electron's `net.fetch`), so the length bound (endless-data attack), the read
 * timeout and the minimum transfer rate (slow-retrieval attack) are enforced here, on every
 * chunk, whatever the fetcher does. All entry points share one guarded read path, `readGuarded`.
 */
import {
  CancelledError,
  DownloadError,
  DownloadLengthMismatchError,
  LengthOrHashMismatchError,
  RangeNotHonouredError,
  SlowRetrievalError,
  ValueError,
} from '../core/errors.js';
import { LengthAndHashVerifier, type Hashes } from '../core/hashes.js';
import { OWNED_CHUNKS, type Fetcher, type FetchResponse } from './fetcher.js';
import { PartFile } from './part-file.js';
import { ProgressThrottle } from './progress-throttle.js';
import { RequestScope } from './request-scope.js';
import { checkedRateOptions, type TransferRateOptions } from './transfer-rate.js';
import { cleanupAfterFailure } from '../node-io/cleanup.js';

export { PROGRESS_INTERVAL_MS } from './progress-throttle.js';

export const DEFAULT_READ_TIMEOUT_MS = 30_000;
export const DEFAULT_DOWNLOAD_RETRIES = 3;

/** `minBytesPerSecond` / `rateWindowMs`: the body's minimum average rate over any window (transfer-rate.ts). */
export interface ReadOptions extends TransferRateOptions {
  signal?: AbortSignal;
  /** Longest wait for the response or for the next chunk (default 30 s). */
  readTimeoutMs?: number;
}

export interface DownloadProgress {
  /** Bytes of the file on disk so far; never decreases between events. */
  transferred: number;
  total: number;
  /** Bytes received since the previous event. */
  delta: number;
}

export interface DownloadFileOptions extends ReadOptions {
  /** Exact expected length (from trusted metadata); also the bound while reading. */
  length: number;
  /** Expected digests (from trusted metadata), e.g. `{ sha256: '…' }`. */
  hashes: Hashes;
  /** Throttled; the last event has `transferred === total`. Exceptions it throws abort the download. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Continue an existing `<destPath>.part`, and keep it after a network failure for a later resume. */
  resume?: boolean;
  /** Range-resumed attempts after the connection broke or stalled mid-download (default 3). */
  retries?: number;
}

export interface DownloadedFile {
  path: string;
  length: number;
}

/**
 * Downloads a small document (metadata) into memory, refusing more than `maxLength` bytes.
 * Rejects with DownloadLengthMismatchError (too long), SlowRetrievalError (no data for
 * `readTimeoutMs`, or less than `minBytesPerSecond` over a window), CancelledError, or the
 * fetcher's DownloadError.
 */
export async function downloadBytes(
  fetcher: Fetcher,
  url: string,
  maxLength: number,
  options: ReadOptions = {},
): Promise<Uint8Array> {
  checkLength(maxLength, 'maxLength');
  return readGuarded(fetcher, url, { ...options, offset: 0, maxLength }, async ({ chunks }) => {
    const received: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      received.push(chunk);
      size += chunk.length;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of received) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  });
}

/**
 * Streams a target into `<destPath>.part`, hashing while writing (one pass, nothing held in
 * memory), then fsyncs and renames it to `destPath`. An interrupted transfer is resumed with
 * a Range request from what was written; a server that ignores the range restarts from 0.
 * On a length or hash mismatch the .part file is deleted and nothing appears at destPath.
 */
export async function downloadFile(
  fetcher: Fetcher,
  url: string,
  destPath: string,
  options: DownloadFileOptions,
): Promise<DownloadedFile> {
  const length = checkLength(options.length, 'length');
  const retries = options.retries ?? DEFAULT_DOWNLOAD_RETRIES;
  if (!Number.isSafeInteger(retries) || retries < 0)
    throw new ValueError(`retries must be a non-negative integer, got ${retries}`);
  checkedRateOptions(options); // bad settings fail here, before anything touches the disk
  const newVerifier = (): LengthAndHashVerifier => new LengthAndHashVerifier(length, options.hashes, url);
  newVerifier(); // unsupported hash algorithms fail here, before anything touches the disk
  const resume = options.resume === true;
  if (options.signal?.aborted) throw new CancelledError(`download of ${url} cancelled`);

  const part = await PartFile.open(`${destPath}.part`, resume, newVerifier);
  try {
    if (part.size > length) await part.restart();
    else await part.hashExistingBytes();
    const progress = new ProgressThrottle(length, options.onProgress, part.size);
    await transferRemainder(fetcher, url, part, progress, { ...options, length, retries });
    part.verify();
    await part.commit(destPath);
    progress.finish();
    return { path: destPath, length };
  } catch (err) {
    const poisoned = err instanceof LengthOrHashMismatchError || err instanceof DownloadLengthMismatchError;
    // A failed clean-up must not hide why the download failed: reported beside it (a warning).
    await cleanupAfterFailure(err, () => (poisoned || !resume ? part.discard() : part.close()));
    throw err;
  }
}

export interface RangeReadOptions extends ReadOptions {
  /** First byte wanted. */
  start: number;
  /** Bytes wanted from `start` (at least 1). */
  length: number;
  /** Trusted length of the whole target: nothing the server sends may reach past it. */
  fileLength: number;
  /** Attempts after an interruption, each asking only for what is still missing (default 3). */
  retries?: number;
}

/**
 * Reads bytes `[start, start + length)` of a target with HTTP Range requests and hands them to
 * `sink` in order, under the same guards as every download (length bound, read timeout,
 * minimum rate, cancellation). A body that runs past the range (a fetcher or server that
 * ignores the range's end, or an endless body) is cut at `length` and the connection dropped;
 * an interrupted one is resumed from where it stopped. A server that answers from another
 * offset (a 200 with the whole file) fails with RangeNotHonouredError. What `sink` throws
 * (e.g. a chunk that does not match its signed hash) ends the read.
 */
export async function readRange(
  fetcher: Fetcher,
  url: string,
  options: RangeReadOptions,
  sink: (bytes: Uint8Array) => void,
): Promise<void> {
  const { start, length, fileLength } = options;
  checkLength(start, 'start');
  checkLength(fileLength, 'fileLength');
  if (!Number.isSafeInteger(length) || length <= 0 || start + length > fileLength)
    throw new ValueError(`range ${start}+${length} is not inside a ${fileLength}-byte target`);
  const retries = options.retries ?? DEFAULT_DOWNLOAD_RETRIES;
  const { readTimeoutMs, minBytesPerSecond, rateWindowMs, signal } = options;
  let received = 0;
  for (let attempt = 0; ; attempt++) {
    const offset = start + received;
    const request = {
      offset,
      end: start + length,
      maxLength: fileLength,
      readTimeoutMs,
      minBytesPerSecond,
      rateWindowMs,
      signal,
    };
    try {
      await readGuarded(fetcher, url, request, async ({ start: answered, chunks }) => {
        if (answered !== offset)
          throw new RangeNotHonouredError(`${url}: asked for bytes from ${offset}, the server sent from ${answered}`);
        for await (const chunk of chunks) {
          const piece = chunk.length > length - received ? chunk.subarray(0, length - received) : chunk;
          received += piece.length;
          sink(piece);
          if (received === length) return; // the rest, if any, is never read
        }
      });
      if (received < length) throw new DownloadError(`${url}: the range ended after ${received} of ${length} bytes`);
      return;
    } catch (err) {
      if (attempt >= retries || !isInterruption(err)) throw err;
    }
  }
}

/** Fetches from `part.size` on until the server ends the body; resumes after interruptions. */
async function transferRemainder(
  fetcher: Fetcher,
  url: string,
  part: PartFile,
  progress: ProgressThrottle,
  options: ReadOptions & { length: number; retries: number },
): Promise<void> {
  for (let attempt = 0; part.size < options.length; attempt++) {
    try {
      const { readTimeoutMs, minBytesPerSecond, rateWindowMs, signal } = options;
      const request = {
        offset: part.size,
        maxLength: options.length,
        readTimeoutMs,
        minBytesPerSecond,
        rateWindowMs,
        signal,
      };
      await readGuarded(fetcher, url, request, async ({ start, chunks, owned }) => {
        if (start !== part.size) await part.restart(); // the server ignored the Range: start is 0
        for await (const chunk of chunks) {
          await part.append(chunk, owned);
          progress.update(part.size);
        }
      });
      return; // a body that ended early is judged by verify()
    } catch (err) {
      if (attempt >= options.retries || !isInterruption(err)) throw err;
    }
  }
}

/** The connection broke or went silent; a Range request may pick up where it stopped. */
export function isInterruption(err: unknown): boolean {
  return err instanceof SlowRetrievalError || (err instanceof DownloadError && err.constructor === DownloadError);
}

interface GuardedRequest extends ReadOptions {
  offset: number;
  /** Asked-for end of the body (exclusive), for a ranged read; the fetcher may ignore it. */
  end?: number;
  maxLength: number;
}

interface GuardedResponse {
  /** 0 or the requested offset. */
  start: number;
  chunks: AsyncIterable<Uint8Array>;
  /** The fetcher hands its chunks over (OWNED_CHUNKS): they need no copy before use. */
  owned: boolean;
}

/**
 * The one code path for "bound + timeout". Fetches `url` and hands `consume` a body that
 * throws DownloadLengthMismatchError as soon as `start + bytes` would pass `maxLength`, and
 * SlowRetrievalError when the fetcher takes longer than `readTimeoutMs` for the response or
 * for any chunk, or when the body falls below the minimum rate (spec 1.5.2, slow retrieval).
 * When `consume` returns or throws, the fetcher's signal is aborted, so an abandoned stream
 * is torn down at once even if the fetcher's iterator ignores `return()`.
 */
async function readGuarded<T>(
  fetcher: Fetcher,
  url: string,
  request: GuardedRequest,
  consume: (response: GuardedResponse) => Promise<T>,
): Promise<T> {
  const readTimeoutMs = request.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  if (!Number.isSafeInteger(readTimeoutMs) || readTimeoutMs <= 0)
    throw new ValueError(`readTimeoutMs must be a positive integer, got ${readTimeoutMs}`);
  const scope = new RequestScope(url, readTimeoutMs, request.signal, checkedRateOptions(request));
  try {
    const fetching = promiseOf(() =>
      fetcher.fetch(url, {
        offset: request.offset,
        end: request.end,
        maxLength: request.maxLength,
        signal: scope.fetcherSignal,
      }),
    );
    fetching.catch(() => scope.fetcherFinished()); // registered first: runs before the wait below rejects
    const response = await scope.wait(fetching, 'no response');
    const start = checkedStart(response, request, url);
    scope.bodyStarted();
    const chunks = boundedChunks(response.body, start, request.maxLength, scope, url);
    return await consume({ start, chunks, owned: handsOverChunks(response.body) });
  } finally {
    scope.end();
  }
}

/** Whether the fetcher marked the body OWNED_CHUNKS; a mark that cannot be read is no mark. */
function handsOverChunks(body: FetchResponse['body']): boolean {
  try {
    return body[OWNED_CHUNKS] === true;
  } catch {
    return false;
  }
}

/** Validates what an untrusted fetcher resolved with; returns where the body starts. */
function checkedStart(response: FetchResponse, request: GuardedRequest, url: string): number {
  if (
    typeof response !== 'object' ||
    response === null ||
    typeof response.body?.[Symbol.asyncIterator] !== 'function'
  ) {
    throw new DownloadError(`${url}: the fetcher returned no body`);
  }
  const { start, totalLength } = response;
  if (start !== 0 && start !== request.offset) {
    throw new DownloadError(
      `${url}: asked for bytes from ${request.offset}, the fetcher answered from ${String(start)}`,
    );
  }
  if (typeof totalLength === 'number' && totalLength > request.maxLength) {
    throw new DownloadLengthMismatchError(
      `${url}: server announced ${totalLength} bytes, more than the allowed ${request.maxLength}`,
    );
  }
  return start;
}

async function* boundedChunks(
  body: AsyncIterable<Uint8Array>,
  start: number,
  maxLength: number,
  scope: RequestScope,
  url: string,
): AsyncGenerator<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array>;
  try {
    iterator = body[Symbol.asyncIterator]();
  } catch (err) {
    throw new DownloadError(`${url}: the fetcher's body cannot be read`, { cause: err });
  }
  let position = start;
  let exhausted = false;
  try {
    for (;;) {
      const step = await scope.wait(
        promiseOf(() => iterator.next()),
        'no data',
      );
      if (typeof step !== 'object' || step === null)
        throw new DownloadError(`${url}: the fetcher's body is not an async iterator`);
      if (step.done) {
        exhausted = true;
        scope.fetcherFinished();
        return;
      }
      const chunk: unknown = step.value;
      if (!(chunk instanceof Uint8Array))
        throw new DownloadError(`${url}: the fetcher yielded ${typeof chunk}, not bytes`);
      position += chunk.length;
      scope.received(chunk.length);
      // Endless-data attack (spec 1.5.2): stop reading the moment the bound is passed.
      if (position > maxLength)
        throw new DownloadLengthMismatchError(`${url}: more than the allowed ${maxLength} bytes`);
      yield chunk;
    }
  } finally {
    // Do not wait for a misbehaving fetcher to clean up; readGuarded also aborts its signal.
    if (!exhausted) promiseOf(() => iterator.return?.()).catch(() => {});
  }
}

/** Runs `fn` and returns its result as a promise; a synchronous throw becomes a rejection. */
function promiseOf<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on whatever fn threw, unchanged
    return Promise.reject(err);
  }
}

function checkLength(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValueError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}
