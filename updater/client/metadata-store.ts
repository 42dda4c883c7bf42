/**
 * The client's metadata directory: one file per role, `<encoded role>.json`, as python-tuf
 * lays it out (the trusted root is `root.json`). Reads are bounded, writes atomic; the name
 * encoding is the same both ways, so what was written under a role is what is read back.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageError, ValueError } from '../core/errors.js';
import {
  acquireLock,
  withLock,
  type LockOptions,
  errorCode,
  readFileBounded,
  writeFileAtomic,
} from '../node-io/index.js';
import { describeName, MAX_FILE_NAME_LENGTH, percentEncode, portableFileName } from './target-path.js';

/** Default read bound: the reference client's largest default (top-level targets, 5,000,000 bytes). */
export const DEFAULT_MAX_METADATA_BYTES = 5_000_000;

const SUFFIX = '.json';

/**
 * The file name a role is stored under: python-tuf's `quote(role, '') + '.json'`, made
 * portable (see portableFileName), so `a/b` -> `a%2Fb.json` and `..` -> `...json`: always one
 * plain name inside the directory. ValueError for names that cannot be stored: not a string,
 * empty, not well-formed Unicode, or encoding to more than 255 characters.
 */
export function roleFileName(role: string): string {
  if (typeof role !== 'string' || role.length === 0) throw new ValueError('role name is empty');
  const name = portableFileName(`${percentEncode(role)}${SUFFIX}`);
  if (name.length > MAX_FILE_NAME_LENGTH) {
    throw new ValueError(
      `role name ${describeName(role)} is too long to store (${name.length} > ${MAX_FILE_NAME_LENGTH} characters encoded)`,
    );
  }
  return name;
}

export interface MetadataStoreOptions {
  /** Refuse to read files larger than this (bytes) unless a read says otherwise. */
  maxBytes?: number;
}

export class MetadataStore {
  private constructor(
    /** Absolute path of the metadata directory. */
    readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Opens (creating if needed) the metadata directory `dir`. */
  static async open(dir: string, options: MetadataStoreOptions = {}): Promise<MetadataStore> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_METADATA_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new ValueError(`invalid maxBytes ${maxBytes}`);
    const absolute = resolve(dir);
    try {
      // Usually there from an earlier run: look before making it.
      const existing = await stat(absolute).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (!existing) await mkdir(absolute, { recursive: true });
      if (!(existing ?? (await stat(absolute))).isDirectory()) throw new Error('not a directory');
    } catch (error) {
      throw new StorageError(`cannot use ${absolute} as the metadata directory: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return new MetadataStore(absolute, maxBytes);
  }

  /** Where `role` is stored. ValueError if the name cannot be stored. */
  pathOf(role: string): string {
    return join(this.dir, roleFileName(role));
  }

  /**
   * The stored bytes of `role`, or undefined if none are stored. StorageError when the file is
   * larger than `maxBytes` (default: the store's bound) or cannot be read.
   */
  async read(role: string, maxBytes: number = this.maxBytes): Promise<Uint8Array | undefined> {
    return readFileBounded(this.pathOf(role), maxBytes);
  }

  /** Stores `bytes` as `role`, atomically: a reader sees the old or the new file, never a mix. */
  async write(role: string, bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new ValueError('metadata must be given as bytes');
    await writeFileAtomic(this.pathOf(role), bytes);
  }

  /** Forgets `role`; nothing happens if it was not stored. */
  async remove(role: string): Promise<void> {
    const path = this.pathOf(role);
    try {
      await unlink(path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        throw new StorageError(`cannot remove ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  /**
   * Runs `fn` holding the directory's inter-process lock (`<dir>/.updater.lock`, a name no role
   * can map to), so two app instances never refresh the same cache at once.
   */
  withLock<T>(fn: () => Promise<T>, options?: LockOptions): Promise<T> {
    return withLock(this.lockPath, fn, options);
  }

  /** Takes the directory's lock; resolves to its release function. */
  lock(options?: LockOptions): Promise<() => Promise<void>> {
    return acquireLock(this.lockPath, options);
  }

  private get lockPath(): string {
    return join(this.dir, '.updater');
  }
}
