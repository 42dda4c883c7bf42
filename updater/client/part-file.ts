/**
 * `<dest>.part`: a target being written, together with the verifier of its bytes. Shared by the
 * full download (download.ts) and the app updater's differential download, so both write,
 * verify and commit a target the same way.
 */
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageError } from '../core/errors.js';
import type { LengthAndHashVerifier } from '../core/hashes.js';
import { fsyncDirectory } from '../node-io/index.js';

const READ_BACK_CHUNK_BYTES = 1 << 20;
/**
 * Received but not yet written bytes allowed before reading from the network waits for the
 * disk. 1 MiB keeps network and disk overlapped (writes land in the page cache) while adding
 * little to peak memory, which is mostly Node's spent socket and body buffers awaiting GC.
 */
const WRITE_BEHIND_BYTES = 1 << 20;
/** Also bound the count, for fetchers that yield tiny chunks (and writev's IOV_MAX). */
const MAX_QUEUED_CHUNKS = 1024;

/**
 * `<dest>.part` on disk together with the verifier of its bytes. Each chunk is copied once
 * on arrival and that copy is both hashed and written, so what was verified is exactly what
 * is on disk even if a fetcher reuses its buffers; chunks a fetcher hands over (OWNED_CHUNKS:
 * fresh buffers it never touches again) are used as they are. Writes run behind the network
 * (one batch in flight, `writev`), bounded by WRITE_BEHIND_BYTES. Every fs failure becomes
 * StorageError.
 */
export class PartFile {
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
    private readonly writeBehindBytes: number,
  ) {
    this.size = existingSize;
    this.verifier = newVerifier();
  }

  /**
   * `writeBehindBytes` (default WRITE_BEHIND_BYTES): accepted bytes allowed to wait for the
   * disk before append() waits. A writer appending whole megabytes at a time (a differential
   * build) needs more than one append's worth, or every append waits for its own write.
   */
  static async open(
    path: string,
    keepExisting: boolean,
    newVerifier: () => LengthAndHashVerifier,
    writeBehindBytes = WRITE_BEHIND_BYTES,
  ): Promise<PartFile> {
    // O_NOFOLLOW: never write through a symlink planted at the .part path (absent on Windows).
    const flags =
      constants.O_RDWR | constants.O_CREAT | (keepExisting ? 0 : constants.O_TRUNC) | (constants.O_NOFOLLOW ?? 0);
    const handle = await onDisk(`open ${path}`, () => open(path, flags, 0o644));
    try {
      const stat = await onDisk(`stat ${path}`, () => handle.stat());
      if (!stat.isFile()) throw new StorageError(`${path} is not a regular file`);
      return new PartFile(path, handle, stat.size, newVerifier, writeBehindBytes);
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
    if (this.unwritten > this.writeBehindBytes || this.queue.length >= MAX_QUEUED_CHUNKS) await this.flush();
  }

  /** Resolves when everything accepted is on disk; throws the first write failure. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.writeError) throw this.writeError;
  }

  /**
   * Resolves once the first `offset` bytes are on disk, so a writer that handed over a buffer
   * may reuse it; throws the first write failure, or StorageError if they were never appended.
   */
  async writtenUpTo(offset: number): Promise<void> {
    while (this.size - this.unwritten < offset) {
      if (this.writeError) throw this.writeError;
      if (!this.writing) throw new StorageError(`${this.path}: bytes up to ${offset} were never appended`);
      await this.writing;
    }
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
    await this.truncate(0);
  }

  /**
   * Keeps only the first `size` bytes on disk, with a fresh verifier that has seen none of
   * them (hashExistingBytes() feeds them to it again).
   */
  async truncate(size: number): Promise<void> {
    await this.flush();
    await onDisk(`truncate ${this.path}`, () => this.handle.truncate(size));
    this.size = size;
    this.verifier = this.newVerifier();
  }

  /** Reads `length` bytes at `position` of what is on disk (short only at the end of the file). */
  async readAt(position: number, length: number): Promise<Buffer> {
    await this.flush();
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await onDisk(`read ${this.path}`, () =>
        this.handle.read(buffer, filled, length - filled, position + filled),
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
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

export async function onDisk<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw new StorageError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
