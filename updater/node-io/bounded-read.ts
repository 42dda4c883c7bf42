/**
 * Bounded reads of whole files that may be hostile (planted, huge, growing, not regular files).
 * node:fs/promises only: this runs in Electron's main process, which must never block on disk.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StorageError } from '../core/errors.js';
import { describeError, errorCode } from './error-code.js';

/**
 * Reads a whole regular file, refusing more than `maxBytes` (the file may be hostile, or grow
 * while we read). Resolves undefined when the file does not exist; StorageError for anything
 * that is not a regular file, is too large, or cannot be read.
 */
export async function readFileBounded(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new StorageError(`invalid read bound ${maxBytes} for ${path}`);
  }
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO planted at this name must not hang us (no effect on regular files).
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new StorageError(`cannot open ${path}: ${describeError(error)}`, { cause: error });
  }
  try {
    return await readAllBounded(handle, path, maxBytes);
  } finally {
    await handle.close().catch(() => undefined); // a read-only handle: its close loses nothing
  }
}

async function readAllBounded(handle: FileHandle, path: string, maxBytes: number): Promise<Uint8Array> {
  const stats = await handle.stat().catch((error: unknown) => {
    throw new StorageError(`cannot stat ${path}: ${describeError(error)}`, { cause: error });
  });
  if (!stats.isFile()) throw new StorageError(`${path} is not a regular file`);
  if (stats.size > maxBytes)
    throw new StorageError(`${path} is ${stats.size} bytes, more than the limit of ${maxBytes}`);
  // One byte of headroom tells us whether the file grew since fstat: a writer that does not
  // replace files atomically is at work, and what we would read is not one coherent version.
  const buffer = new Uint8Array(stats.size + 1);
  let filled = 0;
  for (;;) {
    if (filled === buffer.length) {
      throw new StorageError(`${path} grew while being read`);
    }
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null).catch((error: unknown) => {
      throw new StorageError(`cannot read ${path}: ${describeError(error)}`, { cause: error });
    });
    if (bytesRead === 0) return buffer.subarray(0, filled);
    filled += bytesRead;
    // We asked for one byte more than fstat's size: a regular file reads short only at its
    // end, so ending exactly at that size is the whole file (no extra read to see EOF).
    if (filled === stats.size) return buffer.subarray(0, filled);
  }
}
