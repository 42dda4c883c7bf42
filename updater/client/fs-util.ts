/**
 * Small async file-system helpers shared by the client's local state and the publisher.
 * node:fs/promises only: these run in Electron's main process, which must never block on disk.
 */
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../core/errors.js';

export interface WriteFileAtomicOptions {
  /** Permission bits of the new file (before umask). Default 0o666; use 0o600 for secrets. */
  mode?: number;
}

/**
 * Replaces `path` with `data` so that readers see either the old file or the whole new one,
 * never a prefix, and a crash leaves one of the two on disk: write a uniquely named temp file
 * in the same directory (rename is only atomic within one file system), fsync it, rename it
 * over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const tempPath = tempPathBeside(path);
  try {
    await writeAndSync(tempPath, data, options.mode ?? 0o666);
    await rename(tempPath, path);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw new StorageError(`cannot write ${path}: ${describe(error)}`, { cause: error });
  }
  await fsyncDirectory(dirname(path));
}

/**
 * A fresh name next to `path`. Hidden and ending in `.tmp`, so it never looks like a finished
 * file; only a short prefix of the target's name is kept so it stays under NAME_MAX (255).
 */
export function tempPathBeside(path: string): string {
  const hint = basename(path).slice(0, 32);
  return join(dirname(path), `.${hint}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
}

async function writeAndSync(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  // 'wx': never reuse (or follow a symlink planted at) an existing name.
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Error codes with which platforms refuse to open or fsync a directory (Windows, some FUSE/network file systems). */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'EBADF', 'ENOTSUP', 'ENOSYS']);

/** Makes a rename in `dir` durable. Best effort: skipped where the platform cannot fsync a directory. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has(errorCode(error) ?? '')) {
      throw new StorageError(`cannot sync directory ${dir}: ${describe(error)}`, { cause: error });
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

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
    throw new StorageError(`cannot open ${path}: ${describe(error)}`, { cause: error });
  }
  try {
    return await readAllBounded(handle, path, maxBytes);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function readAllBounded(handle: FileHandle, path: string, maxBytes: number): Promise<Uint8Array> {
  const stats = await handle.stat().catch((error: unknown) => {
    throw new StorageError(`cannot stat ${path}: ${describe(error)}`, { cause: error });
  });
  if (!stats.isFile()) throw new StorageError(`${path} is not a regular file`);
  if (stats.size > maxBytes) throw new StorageError(`${path} is ${stats.size} bytes, more than the limit of ${maxBytes}`);
  // One byte of headroom tells us whether the file grew since fstat: a writer that does not
  // replace files atomically is at work, and what we would read is not one coherent version.
  const buffer = new Uint8Array(stats.size + 1);
  let filled = 0;
  for (;;) {
    if (filled === buffer.length) {
      throw new StorageError(`${path} grew while being read`);
    }
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null).catch((error: unknown) => {
      throw new StorageError(`cannot read ${path}: ${describe(error)}`, { cause: error });
    });
    if (bytesRead === 0) return buffer.subarray(0, filled);
    filled += bytesRead;
    // We asked for one byte more than fstat's size: a regular file reads short only at its
    // end, so ending exactly at that size is the whole file (no extra read to see EOF).
    if (filled === stats.size) return buffer.subarray(0, filled);
  }
}

/** The `code` of a Node system error (ENOENT, EEXIST, ...), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
