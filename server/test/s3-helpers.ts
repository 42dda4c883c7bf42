/**
 * Helpers of the S3 tests: a fresh bucket on the real radosgw (test/helpers/radosgw.ts) whose
 * served trees are public-read (clients read the bucket), a fresh PostgreSQL database, and the
 * gateway's access log to count the writes that reached the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { cleanupAfterFailure } from 'electron-tuf/publisher';
import { radosgw, S3_ACCESS_LOG, type S3Env } from '../../test/helpers/radosgw.js';
import { cleanupTemp } from '../../test/publisher/helpers.js';
import { openPostgres, type Db } from '../src/db.js';
import { migrate } from '../src/schema.js';
import { Bucket } from '../src/storage/bucket.js';
import { probeConditionalWrites } from '../src/storage/probe.js';
import { s3ClientFromEnv } from '../src/storage/s3-location.js';

export const ADMIN_PG = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.ETUF_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export interface S3Fixture {
  env: S3Env;
  client: S3Client;
  bucket: string;
  prefix: string;
  /** `s3://bucket/prefix`, the service's --storage. */
  storage: string;
  /** A Bucket of the service's own (keys checked, ETag form probed by the caller). */
  serviceBucket(): Bucket;
  /** Where clients read a repository's tree (public-read objects on the gateway). */
  tree(repo: string): { metadataUrl: string; targetsUrl: string };
  /** Copies a repository's metadata/ and targets/ from the bucket to `dir` (for repo verify). */
  download(repo: string, dir: string): Promise<void>;
  /** Successful (2xx) PUTs per key of this bucket, from the gateway's access log. */
  puts(): Promise<Map<string, number>>;
}

export async function s3Fixture(): Promise<S3Fixture> {
  const env = await radosgw();
  const client = s3ClientFromEnv({ ...env });
  const bucket = `etuf-${randomBytes(6).toString('hex')}`;
  const prefix = 'svc/a';
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  // The served trees are public (clients and CDNs read them); uploads are not.
  const served = ['metadata', 'targets'].map((area) => `arn:aws:s3:::${bucket}/${prefix}/repositories/*/${area}/*`);
  await client.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: served }],
      }),
    }),
  );
  const base = `${env.AWS_ENDPOINT_URL}/${bucket}/${prefix}/repositories`;
  return {
    env,
    client,
    bucket,
    prefix,
    storage: `s3://${bucket}/${prefix}`,
    serviceBucket: () => new Bucket(s3ClientFromEnv({ ...env }), { bucket, prefix }),
    tree: (repo) => ({ metadataUrl: `${base}/${repo}/metadata/`, targetsUrl: `${base}/${repo}/targets/` }),
    async download(repo, dir) {
      const from = `${prefix}/repositories/${repo}/`;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: from, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
          const file = join(dir, o.Key!.slice(from.length));
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, Buffer.from(await got.Body!.transformToByteArray()));
        }
        token = page.NextContinuationToken;
      } while (token);
    },
    async puts() {
      const log = await readFile(S3_ACCESS_LOG, 'utf8');
      const counts = new Map<string, number>();
      const pattern = new RegExp(`"PUT /${bucket}/([^? ]+)(?:\\?[^ ]*)? HTTP/[0-9.]+" (\\d{3})`, 'g');
      for (const m of log.matchAll(pattern)) {
        if (!m[2].startsWith('2')) continue;
        const key = decodeURIComponent(m[1]);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
  };
}

/** A fresh PostgreSQL database; returns its URL and a function dropping it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `etuf_s3_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: ADMIN_PG });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  return {
    url: ADMIN_PG.replace(/\/[^/]*$/, `/${name}`),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** What the in-process S3 tests run the service's code on: a fresh bucket and a fresh, migrated database. */
export interface S3Service {
  fx: S3Fixture;
  database: Awaited<ReturnType<typeof freshDatabase>>;
  db: Db;
  /** The service's own Bucket on the fixture's bucket, its conditional writes probed. */
  bucket: Bucket;
}

/** The beforeAll of the in-process S3 tests; `stopS3Service` is their afterAll. */
export async function startS3Service(): Promise<S3Service> {
  const fx = await s3Fixture();
  const database = await freshDatabase();
  let db: Db | undefined;
  let bucket: Bucket | undefined;
  try {
    db = await openPostgres(database.url);
    await migrate(db);
    bucket = fx.serviceBucket();
    await probeConditionalWrites(bucket);
    return { fx, database, db, bucket };
  } catch (error) {
    await cleanupAfterFailure(error, () => stopS3Service({ fx, database, db, bucket }));
    throw error;
  }
}

/** Closes what startS3Service opened (what it got to), drops the database, removes the temporary directories. */
export async function stopS3Service(service: Partial<S3Service> | undefined): Promise<void> {
  await service?.db?.close();
  await service?.database?.drop();
  service?.bucket?.client.destroy();
  service?.fx?.client.destroy();
  await cleanupTemp();
}
