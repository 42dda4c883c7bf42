/**
 * An inter-process lock on a path, for two app instances sharing one TUF cache or two publishes
 * of one repository. Node has no flock, so the lock is a file, `<path>.lock`, created with
 * O_CREAT|O_EXCL (atomic on local file systems and NFSv3+); it names its owner (pid, host,
 * a random token) and its mtime is the holder's heartbeat, touched every staleMs / 4.
 *
 * A lock is stale when its owner is a process on this host that no longer exists, or its
 * heartbeat is older than staleMs (owner on another host, pid reused, or a crash before the
 * owner was written). A stale lock is broken by renaming it to a unique name and looking at
 * what was moved: if, in between, the stale lock had been replaced by a live one, it is put
 * back with link() (which, unlike rename, never overwrites). What remains is one narrow race:
 * a third process creating a lock in the microseconds between that rename and link, while a
 * fourth had already replaced the stale one. Holders must not block the event loop for staleMs.
 */
import { hostname } from 'node:os';
import { link, mkdir, open, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, StorageError, ValueError } from '../core/errors.js';
import { readFileBounded } from './bounded-read.js';
import { describeError, errorCode, isSystemFailure } from './error-code.js';
import { parseJsonBytes } from './json-bytes.js';
import { cleanupAfterFailure, removeIfPresent } from './cleanup.js';

export interface LockOptions {
  /** Give up with StorageError after waiting this long (ms). 0 means try once. Default 30,000. */
  timeoutMs?: number;
  /** A lock whose heartbeat is older than this (ms) is considered abandoned. Default 30,000. */
  staleMs?: number;
  /** Stop waiting (CancelledError), e.g. when the app quits. */
  signal?: AbortSignal;
}

/** Releases the lock; calling it again does nothing. */
export type ReleaseLock = () => Promise<void>;

const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const DEFAULT_LOCK_STALE_MS = 30_000;

const MAX_OWNER_BYTES = 4096;
const FIRST_RETRY_DELAY_MS = 10;
const MAX_RETRY_DELAY_MS = 250;

export interface LockOwner {
  pid: number;
  hostname: string;
  token: string;
  acquiredAt: string;
}

/** What a lock file showed when looked at. `owner` is missing while its creator is still writing it. */
interface LockState {
  owner?: LockOwner;
  mtimeMs: number;
}

/** Takes the lock on `path` (the file `<path>.lock`), waiting with backoff while another holds it. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const { timeoutMs, staleMs } = checkedOptions(options);
  const lockPath = `${path}.lock`;
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    token: randomBytes(16).toString('hex'),
    acquiredAt: '',
  };
  const deadline = Date.now() + timeoutMs;
  for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    throwIfAborted(options.signal, lockPath);
    owner.acquiredAt = new Date().toISOString();
    if (await tryCreate(lockPath, owner)) return startHolding(lockPath, owner.token, staleMs);
    const state = await inspect(lockPath);
    if (state === undefined) continue; // released just now: try again at once
    if (isStale(state, staleMs) && (await breakStaleLock(lockPath, staleMs))) continue;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timeoutError(lockPath, timeoutMs, state);
    await pause(Math.min(delay + Math.random() * delay, remaining), options.signal, lockPath);
  }
}

/** Runs `fn` holding the lock on `path`, and releases it however `fn` ends. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const release = await acquireLock(path, options);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await cleanupAfterFailure(error, release); // fn's error is thrown; a failed release is a warning beside it
    throw error;
  }
  await release();
  return result;
}

function checkedOptions(options: LockOptions): { timeoutMs: number; staleMs: number } {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new ValueError(`invalid lock timeoutMs ${timeoutMs}`);
  if (!Number.isFinite(staleMs) || staleMs <= 0) throw new ValueError(`invalid lock staleMs ${staleMs}`);
  return { timeoutMs, staleMs };
}

/**
 * Creates the lock file with its owner in it (and the directory holding it, the first time);
 * false if someone else has it.
 */
async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await createExclusive(lockPath);
  } catch (error) {
    if (isBusy(error)) return false;
    throw new StorageError(`cannot create lock ${lockPath}: ${describeError(error)}`, { cause: error });
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
    await handle.close();
  } catch (error) {
    // The close may be what failed: a second one can only fail the same way, so it is not reported.
    await handle.close().catch(() => undefined);
    await cleanupAfterFailure(error, () => removeIfPresent(lockPath));
    throw new StorageError(`cannot write lock ${lockPath}: ${describeError(error)}`, { cause: error });
  }
  return true;
}

/** O_CREAT|O_EXCL open of `lockPath`; the directory is made only when missing (usually it exists). */
async function createExclusive(lockPath: string): Promise<FileHandle> {
  try {
    return await open(lockPath, 'wx', 0o644);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  await mkdir(dirname(lockPath), { recursive: true }).catch((error: unknown) => {
    throw new StorageError(`cannot create the directory for ${lockPath}: ${describeError(error)}`, { cause: error });
  });
  return open(lockPath, 'wx', 0o644);
}

/** EEXIST: held. EPERM on Windows: a lock file being deleted is still in the way. */
function isBusy(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EEXIST' || (process.platform === 'win32' && code === 'EPERM');
}

/** The lock file's owner and heartbeat, or undefined if there is no lock file. */
async function inspect(lockPath: string): Promise<LockState | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    if (isBusy(error)) return { mtimeMs: Date.now() }; // Windows, being deleted: wait as for a fresh lock
    throw new StorageError(`cannot inspect lock ${lockPath}: ${describeError(error)}`, { cause: error });
  }
  return { owner: await readOwner(lockPath), mtimeMs };
}

/**
 * The owner written in a lock file; undefined when there is no file or no usable owner in it
 * (being written, junk, too large, not a regular file: such a lock is judged by its heartbeat).
 * A failing disk (EACCES, EIO, ...) is an error, not "no owner".
 */
async function readOwner(lockPath: string): Promise<LockOwner | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileBounded(lockPath, MAX_OWNER_BYTES);
  } catch (error) {
    // Not a system failure: readFileBounded refused the content itself (size, file type).
    if (!isSystemFailure(error) || isBusy((error as Error).cause)) return undefined;
    throw error; // a StorageError naming the file, with the system error as its cause
  }
  return bytes && parseOwner(bytes);
}

/** The owner recorded in a lock file; undefined for anything malformed (being written, or junk). */
function parseOwner(bytes: Uint8Array): LockOwner | undefined {
  try {
    const value = parseJsonBytes(bytes, 'lock owner');
    const o = value as Partial<LockOwner>;
    if (typeof value !== 'object' || value === null) return undefined;
    if (!Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    if (typeof o.hostname !== 'string' || typeof o.token !== 'string') return undefined;
    return { pid: o.pid as number, hostname: o.hostname, token: o.token, acquiredAt: String(o.acquiredAt ?? '') };
  } catch {
    return undefined; // not JSON: a lock with no readable owner, which the callers handle as such
  }
}

function isStale(state: LockState, staleMs: number): boolean {
  const { owner } = state;
  if (owner && owner.hostname === hostname() && !isProcessAlive(owner.pid)) return true;
  return Date.now() - state.mtimeMs > staleMs;
}

/** Signal 0 only checks that the process exists; EPERM means it exists but is not ours. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/**
 * Moves a stale lock aside and deletes it; if what was moved turns out to be live (the stale
 * lock was replaced after we looked), puts it back. True if the caller should retry at once.
 */
async function breakStaleLock(lockPath: string, staleMs: number): Promise<boolean> {
  const asidePath = `${lockPath}.stale-${randomBytes(8).toString('hex')}`;
  try {
    await rename(lockPath, asidePath);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return true; // released or broken by someone else meanwhile
    if (code === 'EPERM' || code === 'EBUSY' || code === 'EACCES') return false; // Windows: open elsewhere
    throw new StorageError(`cannot break stale lock ${lockPath}: ${describeError(error)}`, { cause: error });
  }
  const moved = await inspect(asidePath);
  if (moved && !isStale(moved, staleMs)) await restoreLiveLock(asidePath, lockPath, moved.owner);
  try {
    await unlink(asidePath);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new StorageError(`cannot delete broken lock ${asidePath}: ${describeError(error)}`, { cause: error });
    }
  }
  return true;
}

/**
 * Puts a live lock that was moved aside back in place, never over a lock created meanwhile:
 * link() where the file system has hard links, else an exclusive create holding the same owner
 * (the holder's heartbeat and release work by path and token, so a copy serves as well).
 * EEXIST from either means a newer lock is in place; leaving it there is the documented race.
 * A live lock that can be restored neither way is an error: retrying would make two holders.
 */
export async function restoreLiveLock(
  asidePath: string,
  lockPath: string,
  owner: LockOwner | undefined,
  linkFile: (from: string, to: string) => Promise<void> = link,
): Promise<void> {
  let linkError: unknown;
  try {
    await linkFile(asidePath, lockPath);
    return;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return;
    linkError = error;
  }
  if (owner === undefined) {
    throw new StorageError(`cannot restore live lock ${lockPath}: ${describeError(linkError)}`, { cause: linkError });
  }
  await tryCreate(lockPath, owner); // false: a newer lock is in place
}

/** Starts the heartbeat and returns the release function. */
function startHolding(lockPath: string, token: string, staleMs: number): ReleaseLock {
  let beat: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      const now = new Date();
      beat ??= utimes(lockPath, now, now)
        .catch(() => undefined) // a missed beat only brings staleness closer
        .finally(() => (beat = undefined));
    },
    Math.max(1, Math.floor(staleMs / 4)),
  );
  timer.unref(); // a held lock must not keep the process alive
  let released: Promise<void> | undefined;
  return () => {
    released ??= (async () => {
      clearInterval(timer);
      await beat;
      await removeIfOurs(lockPath, token);
    })();
    return released;
  };
}

/**
 * Deletes the lock file only if it is still ours (it may have been broken and taken since).
 * Only the owner matters here, not the heartbeat: no stat.
 */
async function removeIfOurs(lockPath: string, token: string): Promise<void> {
  if ((await readOwner(lockPath))?.token !== token) return;
  try {
    await unlink(lockPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new StorageError(`cannot release lock ${lockPath}: ${describeError(error)}`, { cause: error });
  }
}

function timeoutError(lockPath: string, timeoutMs: number, state: LockState): StorageError {
  const holder = state.owner
    ? ` (held by pid ${state.owner.pid} on ${state.owner.hostname} since ${state.owner.acquiredAt})`
    : '';
  return new StorageError(`timed out after ${timeoutMs} ms waiting for lock ${lockPath}${holder}`);
}

async function pause(ms: number, signal: AbortSignal | undefined, lockPath: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new CancelledError(`cancelled while waiting for lock ${lockPath}`, { cause: error });
  }
}

function throwIfAborted(signal: AbortSignal | undefined, lockPath: string): void {
  if (signal?.aborted)
    throw new CancelledError(`cancelled while waiting for lock ${lockPath}`, { cause: signal.reason });
}
