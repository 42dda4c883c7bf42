/**
 * Installer uploads on the object store: CI PUTs the bytes straight to the bucket with a
 * presigned URL the API hands out (the service never streams installers through itself), under
 * `<prefix>/uploads/<repository>/<sha256>`, with the exact Content-Length signed into the URL
 * and a bounded expiry. Nothing trusts those bytes: before signing, the worker streams the
 * object to its working directory, refusing more than the declared length, and the publisher's
 * hash-while-copying (hashAndCopy) must then find the declared length and SHA-256 (publish.ts).
 * Large checked uploads are then copied inside the store into the targets, on condition that
 * the upload still has the ETag it was read with (s3-storage.ts), not uploaded again.
 */
import { open } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ValueError } from 'electron-tuf/core';
import type { StoredOrigin } from 'electron-tuf/publisher';
import { SHA256_PATTERN, type UploadStore } from '../blobs.js';
import type { Installer } from '../changes.js';
import { BadRequestError, ObjectStoreError } from '../errors.js';
import type { Bucket } from './bucket.js';

/** Long enough to upload a large installer from CI, short enough that a leaked URL soon expires. */
export const PRESIGN_EXPIRY_SECONDS = 900;

export interface PresignedUpload {
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

export class S3Uploads implements UploadStore {
  readonly direct = true;

  constructor(private readonly bucket: Bucket) {}

  private keyOf(repository: string, sha256: string): string {
    if (!SHA256_PATTERN.test(sha256)) throw new BadRequestError('sha256 must be 64 lowercase hex digits');
    return this.bucket.key('uploads', repository, sha256);
  }

  async presign(repository: string, sha256: string, length: number): Promise<PresignedUpload> {
    const command = new PutObjectCommand({
      Bucket: this.bucket.name,
      Key: this.keyOf(repository, sha256),
      ContentLength: length,
      ContentType: 'application/octet-stream',
    });
    // Content-Length is signed: the store refuses a body of any other size.
    const url = await getSignedUrl(this.bucket.client, command, {
      expiresIn: PRESIGN_EXPIRY_SECONDS,
      signableHeaders: new Set(['content-length', 'content-type']),
    });
    return {
      method: 'PUT',
      url,
      headers: { 'content-length': String(length), 'content-type': 'application/octet-stream' },
      expiresAt: new Date(Date.now() + PRESIGN_EXPIRY_SECONDS * 1000).toISOString(),
    };
  }

  async has(repository: string, sha256: string, length: number): Promise<boolean> {
    return (await this.bucket.head(this.keyOf(repository, sha256)))?.length === length;
  }

  async remove(repository: string, sha256: string): Promise<void> {
    await this.bucket.remove(this.keyOf(repository, sha256));
  }

  /** The bytes and the ETag of the one GET that read them: the origin a copy is fenced on. */
  async materialize(repository: string, installer: Installer, dest: string): Promise<StoredOrigin | undefined> {
    const key = this.keyOf(repository, installer.sha256);
    const out = await open(dest, 'wx', 0o600);
    try {
      let etag = '';
      const found = await this.bucket.stream(
        key,
        installer.length,
        async (chunk) => void (await out.write(chunk)),
        (e) => (etag = e),
      );
      if (!found)
        throw new ValueError(
          `installer ${installer.name}: no upload with SHA-256 ${installer.sha256} (upload it first)`,
        );
      // Without an ETag there is nothing to fence a copy on: the bytes are then uploaded.
      return etag === '' ? undefined : { url: this.bucket.url(key), etag };
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(`installer ${installer.name}: ${e.message}`, { cause: e });
      throw e instanceof ObjectStoreError
        ? e
        : new ObjectStoreError(`reading ${this.bucket.url(key)}: ${(e as Error).message}`, { cause: e });
    } finally {
      await out.close();
    }
  }
}
