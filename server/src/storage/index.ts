/**
 * Where the service keeps repositories and uploads: on disk under the data directory (default),
 * or on an S3-compatible object store (`--storage s3://bucket/prefix`, ELECTRON_TUF_STORAGE),
 * probed at start: a store without working conditional writes is refused.
 */
import { join } from 'node:path';
import { BlobStore } from '../blobs.js';
import type { Db } from '../db.js';
import { diskStorageCheck } from '../ops/checks.js';
import { Repositories } from '../repositories.js';
import type { S3Uploads } from './s3-uploads.js';

export { STORAGE_ENV } from './env.js';

export interface ServiceStorage {
  kind: 'disk' | 's3';
  repositories: Repositories;
  uploads: BlobStore | S3Uploads;
  /** Resolves when the storage answers (readiness): the data directory, or the bucket. */
  check(): Promise<void>;
  close(): void;
}

/** `storage`: undefined or 'disk' (under `data`), or `s3://bucket/prefix` with the AWS variables in `env`. */
export async function openServiceStorage(
  db: Db,
  data: string,
  storage: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ServiceStorage> {
  if (storage === undefined || storage === '' || storage === 'disk')
    return {
      kind: 'disk',
      repositories: new Repositories(db, data, env),
      uploads: new BlobStore(join(data, 'uploads')),
      check: () => diskStorageCheck(data).check(),
      close: () => undefined,
    };
  // The S3 backend (the AWS SDK: hundreds of modules) is loaded only when the storage is s3://.
  const [{ Bucket }, { probeConditionalWrites }, { S3Repositories }, { parseS3Url, s3ClientFromEnv }, { S3Uploads }] =
    await Promise.all([
      import('./bucket.js'),
      import('./probe.js'),
      import('./s3-repositories.js'),
      import('./s3-location.js'),
      import('./s3-uploads.js'),
    ]);
  const bucket = new Bucket(s3ClientFromEnv(env), parseS3Url(storage));
  try {
    await probeConditionalWrites(bucket);
  } catch (e) {
    bucket.client.destroy();
    throw e;
  }
  return {
    kind: 's3',
    repositories: new Repositories(db, data, env, new S3Repositories(bucket, db, join(data, 'work', 's3'))),
    uploads: new S3Uploads(bucket),
    // A HEAD of an absent key answers 404 when the store is up and our credentials work.
    check: async () => void (await bucket.head(bucket.key('readyz-probe'))),
    close: () => bucket.client.destroy(),
  };
}
