/**
 * S3Storage and its probe against the real S3 gateway (radosgw): two publishers racing on one
 * repository (the loser's compare-and-swap on timestamp.json fails, it rebuilds and skips the
 * version it left behind), two workers draining one repository without the lock (as a holder that
 * lost it would), the probe learning Ceph's ETag form and refusing a bucket where conditional
 * writes do not hold (radosgw ignores If-None-Match on a versioned bucket), and keys that would
 * leave the prefix refused.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValueError } from 'electron-tuf/core';
import { repositoryPaths } from '../../publisher/layout.js';
import { editRepository } from '../../publisher/transaction.js';
import { verifyRepository } from '../../publisher/verify.js';
import { defaultChannelFor } from '../../updater/release/index.js';
import { makeRepo, ourClient, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import { enqueueChange, getTask } from '../src/changes.js';
import type { Db } from '../src/db.js';
import { PublishConflictError } from '../src/errors.js';
import { Repositories } from '../src/repositories.js';
import { Bucket, checkKeyPart } from '../src/storage/bucket.js';
import { openServiceStorage } from '../src/storage/index.js';
import { decideProbe } from '../src/storage/probe.js';
import { S3Repositories } from '../src/storage/s3-repositories.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import { S3Uploads } from '../src/storage/s3-uploads.js';
import { PublishWorker } from '../src/worker.js';
import { bootstrapBody, installerBytes, sha256 } from './helpers.js';
import { REDIS_URL, startS3Service, stopS3Service, type S3Fixture, type S3Service } from './s3-helpers.js';

let service: S3Service;
let fx: S3Fixture;
let db: Db;
let bucket: Bucket;
let repo: TestRepo;
/** A "machine": its own working directory, the shared database and bucket. */
let machine: () => Promise<Repositories>;

beforeAll(async () => {
  service = await startS3Service();
  ({ fx, db, bucket } = service);
  machine = async () => {
    const data = await tempDir('etuf-s3-machine-');
    return new Repositories(db, data, process.env, new S3Repositories(bucket, db, join(data, 'work')));
  };
  repo = await makeRepo({ bins: 4 });
  await (await machine()).bootstrap(await bootstrapBody('app', repo));
}, 240_000);

afterAll(() => stopS3Service(service), 60_000);

async function timestamp(): Promise<{ version: number; snapshot: number }> {
  const got = await bucket.get(bucket.key('repositories', 'app', 'metadata', 'timestamp.json'), 16384);
  const signed = (
    JSON.parse(got!.bytes.toString('utf8')) as {
      signed: { version: number; meta: Record<string, { version: number }> };
    }
  ).signed;
  return { version: signed.version, snapshot: signed.meta['snapshot.json'].version };
}

async function verifyBucket(): Promise<void> {
  const copy = await tempDir('etuf-s3-verify-');
  await fx.download('app', copy);
  const check = await verifyRepository({ repo: copy });
  expect(check.problems).toEqual([]);
}

describe('S3Storage', () => {
  it('learns the ETag form the gateway matches, and refuses a bucket where conditional writes do not hold', async () => {
    // Ceph 16.2 matches If-Match only without the quotes S3 puts around ETags.
    expect(bucket.etagForm).toBe('unquoted');
    // The same gateway ignores If-None-Match on a versioned bucket: a real store without conditional creates.
    const versioned = `${fx.bucket}-v`;
    await fx.client.send(new CreateBucketCommand({ Bucket: versioned }));
    await fx.client.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await expect(openServiceStorage(db, await tempDir(), `s3://${versioned}/x`, { ...fx.env })).rejects.toThrow(
      /does not honour conditional writes.*If-None-Match: \* did not stop a second write/,
    );
    // The server refuses to start there, with one line.
    const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
    const run = await promisify(execFile)(
      process.execPath,
      [cli, 'worker', '--data', await tempDir(), '--database-url', service.database.url, '--redis-url', REDIS_URL],
      { env: { ...process.env, ...fx.env, ELECTRON_TUF_STORAGE: `s3://${versioned}/x`, NODE_NO_WARNINGS: '1' } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: the object store does not honour conditional writes/);
  }, 60_000);

  it('decides from what the store answered', () => {
    const works = { firstCreate: true, secondCreate: false, wrongEtagReplace: false };
    expect(decideProbe({ ...works, quotedReplace: true })).toEqual({ form: 'quoted' });
    expect(decideProbe({ ...works, quotedReplace: false, unquotedReplace: true })).toEqual({ form: 'unquoted' });
    for (const broken of [
      { ...works, firstCreate: false, quotedReplace: true },
      { ...works, secondCreate: true, quotedReplace: true },
      { ...works, wrongEtagReplace: true, quotedReplace: true },
      { ...works, quotedReplace: false, unquotedReplace: false },
    ])
      expect(decideProbe(broken)).toHaveProperty('refuse');
  });

  it('loses the race on timestamp.json to a second publisher, then rebuilds past the version it left', async () => {
    const [a, b] = [await machine(), await machine()];
    const before = await timestamp();
    // A loads, then B publishes whole while A is still editing: A's swap must fail.
    const first = editRepository({ ...(await a.target('app')), keys: repo.keys, env: {} }, async (edit) => {
      await editRepository({ ...(await b.target('app')), keys: repo.keys, env: {} }, async (e) => e.resignSnapshot());
      edit.resignSnapshot();
    });
    await expect(first).rejects.toBeInstanceOf(PublishConflictError);
    const afterB = await timestamp();
    expect(afterB).toEqual({ version: before.version + 1, snapshot: before.snapshot + 1 });
    // A wrote snapshot N+2 before losing: it stays, named by no timestamp, never overwritten.
    const leftover = bucket.key('repositories', 'app', 'metadata', `${before.snapshot + 2}.snapshot.json`);
    const left = await bucket.get(leftover, 2_000_000);
    expect(left).toBeDefined();

    // The rebuild (what the worker does on a conflict) loads B's state and skips the leftover version.
    const retry = await editRepository({ ...(await a.target('app')), keys: repo.keys, env: {} }, async (edit) =>
      edit.resignSnapshot(),
    );
    expect(retry.publish?.snapshotVersion).toBe(before.snapshot + 3);
    expect(await timestamp()).toEqual({ version: before.version + 2, snapshot: before.snapshot + 3 });
    expect((await bucket.get(leftover, 2_000_000))?.bytes.equals(left!.bytes)).toBe(true);
    await verifyBucket();
    const view = await ourClient(fx.tree('app'), repo.trustedRoot, []);
    expect(view.files.size).toBe(0);
  }, 120_000);

  it('publishes every add once when two workers drain one repository without the lock', async () => {
    const uploads = new S3Uploads(bucket);
    const tasks: string[] = [];
    const paths: string[] = [];
    const digests: string[] = [];
    for (let i = 0; i < 6; i++) {
      const version = `3.${i}.0`;
      const bytes = installerBytes(`race-${version}`, 3000 + i);
      await bucket.create(bucket.key('uploads', 'app', sha256(bytes)), bytes);
      const installers = [{ name: `App-${version}.zip`, length: bytes.length, sha256: sha256(bytes) }];
      const payload = { version, platform: 'linux', arch: 'x64', channel: defaultChannelFor(version), installers };
      tasks.push(await enqueueChange(db, 'app', 'add', payload));
      paths.push(`${version}/App-${version}.zip`);
      digests.push(sha256(bytes));
    }
    const workers = [await machine(), await machine()].map((r) => new PublishWorker(db, r, uploads, {}));
    await Promise.all(workers.map((w) => w.drain('app')));
    expect((await Promise.all(tasks.map((t) => getTask(db, t)))).map((t) => t.state)).toEqual(
      tasks.map(() => 'succeeded'),
    );
    const view = await ourClient(fx.tree('app'), repo.trustedRoot, paths);
    expect(paths.map((p) => sha256(view.files.get(p)!))).toEqual(digests);
    await verifyBucket();
    const puts = await fx.puts();
    const versioned = [...puts].filter(([k]) => k.includes('/repositories/app/') && !k.endsWith('/timestamp.json'));
    expect(versioned.filter(([, n]) => n !== 1)).toEqual([]);
  }, 120_000);

  it('refuses keys that would leave the prefix', async () => {
    const storage = new S3Storage(bucket, 'app', repositoryPaths(await tempDir()));
    for (const bad of ['../x', '/abs', 'a\\b', 'a//b', 'a/./b', 'a/\u0000'])
      expect(() => checkKeyPart(bad)).toThrow(ValueError);
    await expect(storage.readMetadata('../../uploads/app/x', 100)).rejects.toThrow(ValueError);
    await expect(storage.removeFiles('targets', ['../metadata/timestamp.json'])).rejects.toThrow(ValueError);
    await expect(storage.removeFiles('metadata', ['/timestamp.json'])).rejects.toThrow(ValueError);
    const file = { tempPath: '/nonexistent', length: 1, hashes: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) } };
    await expect(storage.placeTarget('../evil.zip', file)).rejects.toThrow(ValueError);
    await expect(storage.placeTarget('1.0/..\\evil.zip', file)).rejects.toThrow(ValueError);
    // Nothing under the tree was touched: timestamp.json is still readable where it belongs.
    expect(await storage.readMetadata('timestamp.json', 16384)).toBeDefined();
  });

  it('removes files by name; absent ones are fine', async () => {
    const storage = new S3Storage(bucket, 'app', repositoryPaths(await tempDir()));
    const key = bucket.key('repositories', 'app', 'metadata', '999.snapshot.json');
    await bucket.create(key, Buffer.from('{}'));
    await storage.removeFiles('metadata', ['999.snapshot.json', '998.snapshot.json']);
    expect(await bucket.head(key)).toBeUndefined();
  });
});
