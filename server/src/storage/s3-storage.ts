/**
 * A repository on an S3-compatible object store, behind the publisher's RepositoryStorage, so
 * the one publish transaction (editRepository) runs unchanged. Consistency comes from the
 * store's conditional writes, never from listing:
 *
 * - every versioned file (`N.<role>.json`, and targets under their hash-prefixed names) is
 *   created with `If-None-Match: *` and never overwritten; a create refused because the object
 *   exists is success only when the existing object holds exactly these bytes;
 * - a version an interrupted publish left behind is skipped (freeVersion), not replaced;
 * - `timestamp.json` is replaced by compare-and-swap on the ETag read when this publish loaded
 *   the repository: that swap is the single commit point. A failed swap (another publisher
 *   committed first) is a PublishConflictError and nothing any timestamp names has changed.
 *
 * A target staged from a checked upload on this bucket (IncomingFile.origin) is copied inside the
 * store, on condition that the upload still has the ETag it was hashed with.
 *
 * Exclusion between publishers is the caller's: the service holds a PostgreSQL advisory lock
 * per repository around each publish; the swap is the fence when a holder lost that lock.
 */
import { readFile } from 'node:fs/promises';
import { cleanIncoming, eachConcurrently, metadataFileName, validatePublishedTargetPath } from 'electron-tuf/publisher';
import type { IncomingFile, Prepared, RepositoryPaths, RepositoryStorage } from 'electron-tuf/publisher';
import { StorageError, ValueError } from 'electron-tuf/core';
import { ObjectStoreError, PublishConflictError, UploadChangedError } from '../errors.js';
import type { Bucket } from './bucket.js';

const CONCURRENCY = 16;
/** Targets up to this size are sent from memory in one request. */
const IN_MEMORY_BYTES = 8 * 1024 * 1024;
/**
 * Checked uploads from this size on are copied inside the store (a look and a copy) rather than
 * sent again (one request with the bytes): on radosgw here a copy of 32 MiB took 150 ms and a PUT
 * 1.5 s, while for 1 KiB one PUT (9 ms each) beats a look plus a copy (measured 2026-12-05).
 */
export const COPY_MIN_BYTES = 1024 * 1024;
/** Leftover versions skipped at most (more means something other than interrupted publishes). */
const MAX_SKIPPED_VERSIONS = 1000;

export class S3Storage implements RepositoryStorage {
  /** ETags of unversioned files read in this transaction (null: read as absent). */
  private readonly etags = new Map<string, string | null>();

  constructor(
    private readonly bucket: Bucket,
    readonly repository: string,
    /** The local working directory (staged installers), cleaned of killed writers' leftovers. */
    private readonly scratch: RepositoryPaths,
  ) {}

  get location(): string {
    return this.bucket.url(this.metadataKey(''));
  }

  private metadataKey(name: string): string {
    return name === ''
      ? this.bucket.key('repositories', this.repository, 'metadata')
      : this.bucket.key('repositories', this.repository, 'metadata', name);
  }

  private targetKey(targetPath: string, hash: string): string {
    validatePublishedTargetPath(targetPath);
    if (!/^[0-9a-f]{16,128}$/.test(hash)) throw new ValueError(`invalid hash ${JSON.stringify(hash.slice(0, 20))}`);
    const slash = targetPath.lastIndexOf('/');
    const dir = targetPath.slice(0, slash + 1);
    return this.bucket.key('repositories', this.repository, 'targets', `${dir}${hash}.${targetPath.slice(slash + 1)}`);
  }

  async readMetadata(name: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const found = await this.bucket.get(this.metadataKey(name), maxBytes);
    if (!isVersioned(name)) this.etags.set(name, found ? found.etag : null);
    return found?.bytes;
  }

  /**
   * Nothing to check ahead: freeVersion just found each version free, and the conditional create
   * below is the check that holds under concurrency (a file created meanwhile aborts the publish
   * before its timestamp, so it changes nothing clients see). Saves a request per file.
   */
  async checkVersioned(): Promise<void> {}

  /** Creates each file unless it exists with these bytes. `replaceable` is ignored: nothing is overwritten. */
  async createVersioned(files: readonly Prepared[]): Promise<void> {
    await each(files, async (file) => {
      const key = this.metadataKey(file.name);
      if ((await this.bucket.create(key, file.bytes)) === 'created') return;
      if ((await this.bucket.holds(key, file.bytes)) !== true) throw this.taken(file.name);
    });
  }

  private taken(name: string): PublishConflictError {
    return new PublishConflictError(
      `${this.bucket.url(this.metadataKey(name))} exists with other content (another publisher, or an interrupted publish): rebuilding`,
    );
  }

  /** The commit point: compare-and-swap on the ETag this transaction read. */
  async replaceUnversioned(file: Prepared): Promise<void> {
    const key = this.metadataKey(file.name);
    const etag = this.etags.get(file.name);
    if (etag === undefined)
      throw new StorageError(`${file.name} was not read in this transaction: refusing to replace it blindly`);
    const swapped =
      etag === null
        ? (await this.bucket.create(key, file.bytes)) === 'created'
        : await this.bucket.replace(key, file.bytes, etag);
    if (!swapped)
      throw new PublishConflictError(
        `${this.bucket.url(key)} changed since this publish read it: another publisher committed first; rebuilding`,
      );
    this.etags.delete(file.name);
  }

  async readTarget(targetPath: string, hash: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return (await this.bucket.get(this.targetKey(targetPath, hash), maxBytes))?.bytes;
  }

  /**
   * Creates the target under both its hash-prefixed names (5.7.3: a client may fetch it by any
   * hash listed, and both are), at once. A small file is read once, for both.
   */
  async placeTarget(targetPath: string, file: IncomingFile): Promise<void> {
    const keys = {
      sha256: this.targetKey(targetPath, file.hashes.sha256),
      sha512: this.targetKey(targetPath, file.hashes.sha512),
    };
    const source = this.copySource(file);
    const bytes = source === undefined && file.length <= IN_MEMORY_BYTES ? await readFile(file.tempPath) : undefined;
    await Promise.all([
      this.placeUnder(keys.sha256, file, 'sha256', file.hashes.sha256, source, bytes),
      this.placeUnder(keys.sha512, file, 'sha512', file.hashes.sha512, source, bytes),
    ]);
  }

  private async placeUnder(
    key: string,
    file: IncomingFile,
    algorithm: 'sha256' | 'sha512',
    hash: string,
    source: string | undefined,
    bytes: Buffer | undefined,
  ): Promise<void> {
    if (source !== undefined && file.origin !== undefined) {
      // A checked upload: copied inside the store (no bytes through the worker), fenced on the
      // ETag its bytes were read and hashed with, so what lands is exactly what was checked.
      // Look first: the copy's destination is not conditional on every store (see Bucket.copy).
      if ((await this.bucket.head(key)) === undefined) {
        if ((await this.bucket.copy(source, key, file.origin.etag)) === 'copied') return;
        throw new UploadChangedError(
          `${file.origin.url} changed after its bytes were checked (it no longer has ETag ${file.origin.etag}): nothing copied; upload it again`,
          file.origin.url,
        );
      }
    } else if (bytes !== undefined) {
      // One request: small files (channel indexes, most test installers) go as bytes.
      if ((await this.bucket.create(key, bytes)) === 'created') return;
    } else {
      // A large installer is streamed; look first, so a re-publish does not stream it only to be refused.
      const present = (await this.bucket.head(key)) !== undefined;
      if (!present && (await this.bucket.create(key, { file: file.tempPath, length: file.length })) === 'created')
        return;
    }
    // The name is the content's hash: an existing object must hash to it (someone else wrote the bucket?).
    const existing = await this.bucket.digestOf(key, algorithm, file.length);
    if (existing !== hash)
      throw new ObjectStoreError(
        `${this.bucket.url(key)} exists with other content than its name says: refusing to publish over it (check who writes the bucket)`,
      );
  }

  /** The key to copy `file` from inside this bucket, when it has an origin there worth a copy and the store fences copies. */
  private copySource(file: IncomingFile): string | undefined {
    if (file.origin === undefined || file.length < COPY_MIN_BYTES || this.bucket.copyFence === 'none') return undefined;
    return this.bucket.keyOfUrl(file.origin.url);
  }

  async freeVersion(role: string, version: number): Promise<number> {
    for (let v = version; v < version + MAX_SKIPPED_VERSIONS; v++)
      if (!(await this.bucket.head(this.metadataKey(metadataFileName(role, v))))) return v;
    throw new ObjectStoreError(
      `${MAX_SKIPPED_VERSIONS} versions of ${role} after ${version} exist unpublished in ${this.location}: refusing to go on`,
    );
  }

  /** Deletes metadata files or target files (by their stored path); absent ones are fine. */
  async removeFiles(area: 'metadata' | 'targets', paths: readonly string[]): Promise<void> {
    if (area !== 'metadata' && area !== 'targets') throw new ValueError(`no area ${JSON.stringify(area)}`);
    const keys = paths.map((p) => this.bucket.key('repositories', this.repository, area, p));
    await each(keys, (key) => this.bucket.remove(key));
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    this.etags.clear();
    await cleanIncoming(this.scratch);
    try {
      return await fn();
    } finally {
      this.etags.clear();
    }
  }
}

/** `timestamp.json` is the one unversioned file (5.7.3 names every other one by version). */
function isVersioned(name: string): boolean {
  return /^[1-9][0-9]*\./.test(name);
}

function each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  return eachConcurrently(items, CONCURRENCY, fn);
}
