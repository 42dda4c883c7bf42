/**
 * Where a repository's files live, behind the few operations a publish needs, so the one
 * transaction (transaction.ts) runs the same against the disk today and an object store later.
 *
 * The operations are chosen so no state is found by listing: every file read is named by the
 * metadata that points at it (or is `N.root.json`, probed in order), and every write is either
 * a versioned file created once (`N.<role>.json`, consistent snapshots: a second, different
 * file under one version would make one version mean two things to clients) or the one
 * unversioned file, `timestamp.json`, replaced atomically.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, StorageError, ValueError } from '../updater/core/errors.js';
import { errorCode, fsyncDirectory, readFileBounded, writeFileAtomic } from '../updater/node-io/index.js';
import { withLock } from '../updater/node-io/index.js';
import { removeIfPresent } from '../updater/node-io/cleanup.js';
import { eachConcurrently } from './concurrency.js';
import { targetFilePath, type RepositoryPaths } from './layout.js';
import { cleanIncoming, isAlive, placeTarget, type IncomingFile } from './target-store.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;
const WRITE_CONCURRENCY = 32;

/** A metadata file ready to be written: its name inside metadata/ and its bytes. */
export interface Prepared {
  name: string;
  bytes: Uint8Array;
}

export interface LockSettings {
  /** How long to wait for another command working on the same repository (ms). */
  lockTimeoutMs?: number;
}

export interface RepositoryStorage {
  /** Where this storage is, for messages. */
  readonly location: string;
  /** A metadata file's bytes (at most `maxBytes`, else an error), or undefined when absent. */
  readMetadata(name: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Creates each versioned metadata file unless it exists with exactly these bytes; a file
   * that exists with other bytes is refused (RepositoryError) before any file of the group is
   * written, unless named in `replaceable` (leftovers of an interrupted publish that no
   * timestamp names). Durable when this resolves.
   */
  createVersioned(files: readonly Prepared[], replaceable?: ReadonlySet<string>): Promise<void>;
  /** The check of createVersioned alone, for a whole publish before anything is written. */
  checkVersioned(files: readonly Prepared[], replaceable?: ReadonlySet<string>): Promise<void>;
  /** Replaces an unversioned metadata file (timestamp.json) atomically and durably. */
  replaceUnversioned(file: Prepared): Promise<void>;
  /**
   * A published target file's bytes by its path and one of its hashes (its consistent-snapshot
   * name), at most `maxBytes` (else an error); undefined when absent. For small targets the
   * publisher reads back (channel indexes); the caller checks them against their signed hashes.
   */
  readTarget(targetPath: string, hash: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Moves incoming content to its consistent-snapshot target names (spec 5.7.3). */
  placeTarget(targetPath: string, file: IncomingFile): Promise<void>;
  /**
   * The first version >= `version` whose `N.<role>.json` this storage can still create
   * (storages that never overwrite skip leftovers of interrupted publishes); absent: `version`.
   */
  freeVersion?(role: string, version: number): Promise<number>;
  /**
   * Deletes files no client can need any more (garbage collection, gc.ts): metadata file names,
   * or paths inside targets/. A file already absent is fine. Each path is checked with
   * `checkRemovable` first: nothing outside the area, never a root or timestamp.json.
   */
  removeFiles(area: StorageArea, paths: readonly string[]): Promise<void>;
  /** Runs `fn` as the only writer of this repository. */
  withLock<T>(fn: () => Promise<T>, settings?: LockSettings): Promise<T>;
}

export type StorageArea = 'metadata' | 'targets';

const ROOT_OR_TIMESTAMP = /^(?:\d+\.root|timestamp)\.json$/;

/**
 * Refuses a path that garbage collection must never remove, whatever computed it: anything
 * that is not plain `/`-separated names inside its area (no empty, `.` or `..` segment, no
 * backslash or NUL), a metadata name with a directory, and every root and timestamp.json
 * (clients walk the whole root chain; the timestamp is the repository's entry point).
 */
export function checkRemovable(area: StorageArea, path: string): void {
  const segments = typeof path === 'string' ? path.split('/') : [];
  const plain = segments.every(
    // eslint-disable-next-line no-control-regex
    (s) => s !== '' && s !== '.' && s !== '..' && !/[\\\u0000]/.test(s),
  );
  if (!plain || path.length > 4096 || (area === 'metadata' && segments.length !== 1))
    throw new ValueError(`refusing to remove ${JSON.stringify(String(path).slice(0, 100))} from ${area}/`);
  if (area === 'metadata' && ROOT_OR_TIMESTAMP.test(path))
    throw new ValueError(`refusing to remove ${path}: roots and timestamp.json are never removed`);
}

/** The repository as a directory on this machine (layout.ts). */
export class DiskStorage implements RepositoryStorage {
  /** Files checked while this storage's lock is held: stored identically (true) or absent (false). */
  private readonly checked = new Map<string, boolean>();

  constructor(readonly paths: RepositoryPaths) {}

  get location(): string {
    return this.paths.metadata;
  }

  async readMetadata(name: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return readFileBounded(join(this.paths.metadata, name), maxBytes);
  }

  async createVersioned(files: readonly Prepared[], replaceable: ReadonlySet<string> = new Set()): Promise<void> {
    const held = await this.held(files, replaceable);
    await writeGroup(
      this.paths.metadata,
      files.filter((f) => !held.has(f)),
    );
  }

  async checkVersioned(files: readonly Prepared[], replaceable: ReadonlySet<string> = new Set()): Promise<void> {
    await this.held(files, replaceable);
  }

  /** The files already stored with exactly these bytes; RepositoryError for one stored with others. */
  private async held(files: readonly Prepared[], replaceable: ReadonlySet<string>): Promise<Set<Prepared>> {
    const held = new Set<Prepared>();
    await eachConcurrently(files, WRITE_CONCURRENCY, async (file) => {
      if (replaceable.has(file.name)) return;
      const known = this.checked.get(file.name);
      const same = known ?? (await this.holdsExactly(file));
      this.checked.set(file.name, same);
      if (same) held.add(file);
    });
    return held;
  }

  /** True when `file` is already stored with these bytes; refuses one stored with others. */
  private async holdsExactly(file: Prepared): Promise<boolean> {
    const path = join(this.paths.metadata, file.name);
    const size = await stat(path).then(
      (s) => s.size,
      (error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw new StorageError(`cannot inspect ${path}: ${(error as Error).message}`, { cause: error });
      },
    );
    if (size === undefined) return false;
    // Same size: compare the bytes (bounded by that size; a file growing meanwhile is an error).
    const existing = size === file.bytes.length ? await readFileBounded(path, size) : undefined;
    if (!existing || Buffer.compare(existing, file.bytes) !== 0) {
      throw new RepositoryError(
        `${file.name} is already published with other content; refusing to publish a second file under its version`,
      );
    }
    return true;
  }

  async replaceUnversioned(file: Prepared): Promise<void> {
    await writeFileAtomic(join(this.paths.metadata, file.name), file.bytes, { mode: 0o644 });
  }

  async readTarget(targetPath: string, hash: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return readFileBounded(targetFilePath(this.paths, targetPath, hash), maxBytes);
  }

  async placeTarget(targetPath: string, file: IncomingFile): Promise<void> {
    await placeTarget(this.paths, targetPath, file);
  }

  async removeFiles(area: StorageArea, paths: readonly string[]): Promise<void> {
    for (const path of paths) checkRemovable(area, path);
    const base = this.paths[area];
    await eachConcurrently(paths, WRITE_CONCURRENCY, (path) => removeIfPresent(join(base, ...path.split('/'))));
  }

  /**
   * Holds the repository's lock: concurrent commands run one after another. A holder that died
   * (kill -9) is detected by pid and its lock broken; its leftovers are cleaned first.
   */
  async withLock<T>(fn: () => Promise<T>, settings: LockSettings = {}): Promise<T> {
    this.checked.clear();
    try {
      return await withRepositoryLock(this.paths, fn, settings);
    } finally {
      this.checked.clear(); // only the lock holder's own checks stay true
    }
  }
}

/**
 * Writes files into one directory, several at a time, each by temp file + fsync + rename
 * (writeFileAtomic), then fsyncs the directory once for the whole group: durable when this
 * resolves. One directory fsync per group, not per file, keeps `repo init --bins 16384` fast.
 */
async function writeGroup(dir: string, files: readonly Prepared[]): Promise<void> {
  if (files.length === 0) return;
  await eachConcurrently(files, WRITE_CONCURRENCY, (file) =>
    writeFileAtomic(join(dir, file.name), file.bytes, { mode: 0o644, syncDirectory: false }),
  );
  await fsyncDirectory(dir);
}

/** Temp files (`.<name>.<pid>.<random>.tmp`) that killed writers left in metadata/. */
async function cleanMetadataTemps(paths: RepositoryPaths): Promise<void> {
  let names: string[];
  try {
    names = await readdir(paths.metadata);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new StorageError(`cannot list ${paths.metadata}: ${(error as Error).message}`, { cause: error });
  }
  for (const name of names) {
    const pid = Number(/^\..*\.(\d+)\.[0-9a-f]{16}\.tmp$/.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid)) await removeIfPresent(join(paths.metadata, name));
  }
}

/**
 * Runs `fn` holding the repository's lock (`<repo>/.publish.lock`), after removing what killed
 * holders left behind (incoming copies, metadata temp files).
 */
export async function withRepositoryLock<T>(
  paths: RepositoryPaths,
  fn: () => Promise<T>,
  settings: LockSettings = {},
): Promise<T> {
  return withLock(
    paths.lock,
    async () => {
      await cleanIncoming(paths);
      await cleanMetadataTemps(paths);
      return fn();
    },
    { timeoutMs: settings.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS },
  );
}
