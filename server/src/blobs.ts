/**
 * Uploaded installer bytes, stored by content: `<data>/uploads/<repo>/<sha256>`. An upload is
 * streamed to a temporary file while it is hashed and counted, and kept only when its length
 * and SHA-256 match what the client declared; before a release is signed the stored file is
 * hashed again while it is copied for publishing (publish.ts), so bytes that changed on disk
 * are never signed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValueError } from 'electron-tuf/core';
import { errorCode } from 'electron-tuf/node-io';
import type { StoredOrigin } from 'electron-tuf/publisher';
import type { Installer } from './changes.js';
import { BadRequestError } from './errors.js';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** `stat`, or undefined when nothing is there; other errors (EACCES, EIO) are thrown, not read as "absent". */
async function statIfPresent(path: string): Promise<Stats | undefined> {
  return stat(path).catch((e: unknown) => {
    if (errorCode(e) === 'ENOENT') return undefined;
    throw e;
  });
}

/** Where uploaded installers wait for their release to be published: the disk, or the object store. */
export interface UploadStore {
  /** True when clients upload straight to the store with a presigned URL (not through the API). */
  readonly direct: boolean;
  /** True when an upload of this length is stored under this digest (its bytes are checked later). */
  has(repository: string, sha256: string, length: number): Promise<boolean>;
  /**
   * Puts the stored upload at `dest` (a new file) for staging; ValueError when there is none, or
   * it is longer than declared. Its hash is checked after, while it is copied for publishing.
   * On an object store, returns where those bytes are and the ETag they were read with (a
   * storage may then copy them inside the store, fenced on that ETag).
   */
  materialize(repository: string, installer: Installer, dest: string): Promise<StoredOrigin | undefined>;
  /** Deletes the stored upload (garbage collection of unused uploads); absent is fine. */
  remove(repository: string, sha256: string): Promise<void>;
}

export class BlobStore implements UploadStore {
  readonly direct = false;

  constructor(readonly dir: string) {}

  private repoDir(repository: string): string {
    return join(this.dir, repository);
  }

  /** The stored file for a digest (`sha256` must already be validated as 64 hex digits). */
  pathOf(repository: string, sha256: string): string {
    if (!SHA256_PATTERN.test(sha256)) throw new BadRequestError('sha256 must be 64 lowercase hex digits');
    return join(this.repoDir(repository), sha256);
  }

  /** Streams `body` to disk; refuses more than `length` bytes, fewer bytes, or other content. */
  async put(repository: string, sha256: string, length: number, body: Readable): Promise<void> {
    const target = this.pathOf(repository, sha256);
    const dir = this.repoDir(repository);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.upload-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > length)
          return done(new BadRequestError(`the upload is longer than its declared length ${length}`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
      if (received !== length)
        throw new BadRequestError(`the upload has ${received} bytes, not its declared length ${length}`);
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new BadRequestError(`the upload's SHA-256 is ${actual}, not ${sha256}`);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async materialize(repository: string, installer: Installer, dest: string): Promise<undefined> {
    await link(this.pathOf(repository, installer.sha256), dest).catch((e: unknown) => {
      // A missing upload or a name clash (case-insensitive disk) is the change's fault and fails its task;
      // any other failure (EXDEV, EACCES, ENOSPC) is the server's and is rethrown, not blamed on the upload.
      const code = errorCode(e);
      if (code === 'EEXIST') throw new ValueError(`installer ${installer.name}: another installer has this name`);
      if (code !== 'ENOENT') throw e;
      throw new ValueError(`installer ${installer.name}: no upload with SHA-256 ${installer.sha256} (upload it first)`);
    });
  }

  async has(repository: string, sha256: string, length: number): Promise<boolean> {
    const info = await statIfPresent(this.pathOf(repository, sha256));
    return info?.isFile() === true && info.size === length;
  }

  async remove(repository: string, sha256: string): Promise<void> {
    await rm(this.pathOf(repository, sha256), { force: true });
  }
}
