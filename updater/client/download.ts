/**
 * TUF-side downloads over any Fetcher. The fetcher is not trusted: an app may pass its own
 * (e.g. one on Electron's `net.fetch`), so the length bound (endless-data attack), the read
 * timeout and the minimum transfer rate (slow-retrieval attack) are enforced here, on every
 * chunk, whatever the fetcher does. Both entry points share one guarded read path, `readGuarded`.
 */
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  CancelledError,
  DownloadError,
  DownloadLengthMismatchError,
  LengthOrHashMismatchError,
  SlowRetrievalError,
  StorageError,
  ValueError,
} from '../core/errors.js';
import { LengthAndHashVerifier, type Hashes } from '../core/hashes.js';
import { fsyncDirectory } from '../node-io/index.js';
import { OWNED_CHUNKS, type Fetcher, type FetchResponse } from './fetcher.js';
import { RequestScope } from './request-scope.js';
import { checkedRateOptions, type TransferRateOptions } from './transfer-rate.js';

export const DEFAULT_READ_TIMEOUT_MS = 30_000;
export const DEFAULT_DOWNLOAD_RETRIES = 3;
/** Progress events are throttled to at most one per this interval (plus a final one). */
export const PROGRESS_INTERVAL_MS = 50;
const READ_BACK_CHUNK_BYTES = 1 << 20;
/**
 * Received but not yet written bytes allowed before reading from the network waits for the
 * disk. 1 MiB keeps network and disk overlapped (writes land in the page cache) while adding
 * little to peak memory, which is mostly Node's spent socket and body buffers awaiting GC.
 */
const WRITE_BEHIND_BYTES = 1 << 20;
/** Also bound the count, for fetchers that yield tiny chunks (and writev's IOV_MAX). */
const MAX_QUEUED_CHUNKS = 1024;

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
    // A failed clean-up must not hide why the download failed.
    await (poisoned || !resume ? part.discard() : part.close()).catch(() => {});
    throw err;
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
function isInterruption(err: unknown): boolean {
  return err instanceof SlowRetrievalError || (err instanceof DownloadError && err.constructor === DownloadError);
}

interface GuardedRequest extends ReadOptions {
  offset: number;
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
      fetcher.fetch(url, { offset: request.offset, maxLength: request.maxLength, signal: scope.fetcherSignal }),
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

/**
 * `<dest>.part` on disk together with the verifier of its bytes. Each chunk is copied once
 * on arrival and that copy is both hashed and written, so what was verified is exactly what
 * is on disk even if a fetcher reuses its buffers; chunks a fetcher hands over (OWNED_CHUNKS:
 * fresh buffers it never touches again) are used as they are. Writes run behind the network
 * (one batch in flight, `writev`), bounded by WRITE_BEHIND_BYTES. Every fs failure becomes
 * StorageError.
 */
class PartFile {
  /** Bytes accepted: hashed, and written or queued for writing. */
  size: number;
  private verifier: LengthAndHashVerifier;
  private queue: Buffer[] = [];
  /** Accepted bytes not yet on disk (queued or being written). */
  private unwritten = 0;
  private writing: Promise<void> | undefined;
  private writeError: StorageError | undefined;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    existingSize: number,
    private readonly newVerifier: () => LengthAndHashVerifier,
  ) {
    this.size = existingSize;
    this.verifier = newVerifier();
  }

  static async open(path: string, keepExisting: boolean, newVerifier: () => LengthAndHashVerifier): Promise<PartFile> {
    // O_NOFOLLOW: never write through a symlink planted at the .part path (absent on Windows).
    const flags =
      constants.O_RDWR | constants.O_CREAT | (keepExisting ? 0 : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
    const handle = await onDisk(`open ${path}`, () => open(path, flags, 0o644));
    try {
      const stat = await onDisk(`stat ${path}`, () => handle.stat());
      if (!stat.isFile()) throw new StorageError(`${path} is not a regular file`);
      return new PartFile(path, handle, stat.size, newVerifier);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /** Feeds the bytes already on disk (a resumed download) through the verifier, streaming. */
  async hashExistingBytes(): Promise<void> {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BACK_CHUNK_BYTES, Math.max(this.size, 1)));
    for (let position = 0; position < this.size;) {
      const want = Math.min(buffer.length, this.size - position);
      const { bytesRead } = await onDisk(`read ${this.path}`, () => this.handle.read(buffer, 0, want, position));
      if (bytesRead === 0) throw new StorageError(`${this.path} shrank while being read`);
      this.verifier.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  }

  /** Hashes and queues `chunk` (copied first unless `handedOver`); waits only when too much is still unwritten. */
  async append(chunk: Uint8Array, handedOver = false): Promise<void> {
    if (this.writeError) throw this.writeError;
    // Our copy, unless the fetcher handed the buffer over: it may reuse its buffers otherwise.
    const owned = handedOver ? asBuffer(chunk) : Buffer.from(chunk);
    this.verifier.update(owned);
    this.queue.push(owned);
    this.size += owned.length;
    this.unwritten += owned.length;
    this.writing ??= this.writeQueued(this.size - this.unwritten);
    if (this.unwritten > WRITE_BEHIND_BYTES || this.queue.length >= MAX_QUEUED_CHUNKS) await this.flush();
  }

  /** Resolves when everything accepted is on disk; throws the first write failure. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.writeError) throw this.writeError;
  }

  private async writeQueued(position: number): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const bytes = await writeFully(this.handle, batch, position, this.path);
        position += bytes;
        this.unwritten -= bytes;
      }
    } catch (err) {
      this.writeError =
        err instanceof StorageError ? err : new StorageError(`write ${this.path}: ${String(err)}`, { cause: err });
      this.queue = [];
    } finally {
      this.writing = undefined;
    }
  }

  /** Back to an empty file and a fresh verifier. */
  async restart(): Promise<void> {
    await this.flush();
    await onDisk(`truncate ${this.path}`, () => this.handle.truncate(0));
    this.size = 0;
    this.verifier = this.newVerifier();
  }

  verify(): void {
    this.verifier.verify();
  }

  /**
   * fsync, close, rename into place, fsync the directory: destPath holds either nothing or the
   * verified file, and after a power loss the rename is not lost (no second download).
   */
  async commit(destPath: string): Promise<void> {
    await this.flush();
    await onDisk(`fsync ${this.path}`, () => this.handle.sync());
    await this.close();
    await onDisk(`rename ${this.path}`, () => rename(this.path, destPath));
    await fsyncDirectory(dirname(destPath));
  }

  async close(): Promise<void> {
    await this.flush().catch(() => {}); // never close under a write in flight
    await this.handle.close().catch(() => {}); // closing twice is harmless here
  }

  async discard(): Promise<void> {
    await this.close();
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new StorageError(`cannot delete ${this.path}: ${err.message}`, { cause: err });
    });
  }
}

/** A Buffer over the same memory (no copy). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Writes `buffers` at `position`, continuing after short writes; returns the byte count. */
async function writeFully(handle: FileHandle, buffers: Buffer[], position: number, path: string): Promise<number> {
  const total = buffers.reduce((sum, b) => sum + b.length, 0);
  let remaining = buffers;
  for (let done = 0; done < total;) {
    const { bytesWritten } = await onDisk(`write ${path}`, () => handle.writev(remaining, position + done));
    if (bytesWritten === 0) throw new StorageError(`write ${path}: no progress`);
    done += bytesWritten;
    remaining = skipBytes(remaining, bytesWritten);
  }
  return total;
}

function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let index = 0;
  while (index < buffers.length && count >= buffers[index].length) count -= buffers[index++].length;
  const rest = buffers.slice(index);
  if (rest.length > 0 && count > 0) rest[0] = rest[0].subarray(count);
  return rest;
}

async function onDisk<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw new StorageError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** At most one event per PROGRESS_INTERVAL_MS, never going backwards, and a final one at `total`. */
class ProgressThrottle {
  /** Bytes already accounted for: reported in an event, or present on disk before we started. */
  private reported: number;
  private lastEmitAt = -Infinity;
  private lastEmitted: number | undefined;

  constructor(
    private readonly total: number,
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
    alreadyOnDisk: number,
  ) {
    this.reported = alreadyOnDisk;
  }

  update(transferred: number): void {
    if (!this.onProgress || transferred <= this.reported) return; // after a restart: wait to catch up
    const now = performance.now();
    if (now - this.lastEmitAt >= PROGRESS_INTERVAL_MS) this.emit(transferred, now);
  }

  finish(): void {
    if (this.onProgress && this.lastEmitted !== this.total) this.emit(this.total, performance.now());
  }

  private emit(transferred: number, now: number): void {
    const delta = Math.max(0, transferred - this.reported);
    this.reported = Math.max(this.reported, transferred);
    this.lastEmitAt = now;
    this.lastEmitted = transferred;
    this.onProgress?.({ transferred, total: this.total, delta });
  }
}

function checkLength(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValueError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}
