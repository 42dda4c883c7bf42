/**
 * Atomic, durable file replacement. node:fs/promises only: this runs in Electron's main
 * process, which must never block on disk.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../core/errors.js';
import { describeError, errorCode } from './error-code.js';
import { cleanupAfterFailure, removeIfPresent } from './cleanup.js';

export interface WriteFileAtomicOptions {
  /** Permission bits of the new file (before umask). Default 0o666; use 0o600 for secrets. */
  mode?: number;
  /**
   * Fsync the directory after the rename (default true). A writer of a group of files in one
   * directory passes false and calls fsyncDirectory once after the last of them.
   */
  syncDirectory?: boolean;
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
    await cleanupAfterFailure(error, () => removeIfPresent(tempPath)); // a failed removal: a warning beside it
    throw new StorageError(`cannot write ${path}: ${describeError(error)}`, { cause: error });
  }
  if (options.syncDirectory !== false) await fsyncDirectory(dirname(path));
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
      throw new StorageError(`cannot sync directory ${dir}: ${describeError(error)}`, { cause: error });
    }
  } finally {
    await handle?.close().catch(() => undefined); // a read-only handle: its close loses nothing
  }
}
