/**
 * Checked uploads copied inside the store (server-side copy) on the real S3 gateway (radosgw):
 * the probe learns which copy condition the gateway honours (Ceph 16.2 ignores the standard
 * `x-amz-copy-source-if-match` and copies anyway), a large upload reaches the targets by two
 * copies and no re-upload, and an upload overwritten by another client after the worker read
 * and hashed it is never copied: its change fails alone, nothing names it, the rest publishes.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRepository } from '../../publisher/verify.js';
import { defaultChannelFor } from '../../updater/release/index.js';
import { makeRepo, ourClient, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import type { Installer } from '../src/changes.js';
import { enqueueChange, getTask } from '../src/changes.js';
import type { Db } from '../src/db.js';
import { Repositories } from '../src/repositories.js';
import type { Bucket } from '../src/storage/bucket.js';
import { S3Repositories } from '../src/storage/s3-repositories.js';
import { COPY_MIN_BYTES } from '../src/storage/s3-storage.js';
import { S3Uploads } from '../src/storage/s3-uploads.js';
import { PublishWorker } from '../src/worker.js';
import { bootstrapBody, installerBytes, sha256 } from './helpers.js';
import { startS3Service, stopS3Service, type S3Fixture, type S3Service } from './s3-helpers.js';

let service: S3Service;
let fx: S3Fixture;
let db: Db;
let bucket: Bucket;
let repo: TestRepo;
let repositories: Repositories;
/** Every request the service's client sent: command name and key. */
const sent: Array<{ command: string; key?: string }> = [];

beforeAll(async () => {
  service = await startS3Service();
  ({ fx, db, bucket } = service);
  // Observes (does not change) what the service asks of the store.
  bucket.client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push({ command: context.commandName ?? '', key: (args.input as { Key?: string }).Key });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  const data = await tempDir('etuf-s3-copy-');
  repositories = new Repositories(db, data, process.env, new S3Repositories(bucket, db, join(data, 'work')));
  repo = await makeRepo({ bins: 4 });
  await repositories.bootstrap(await bootstrapBody('app', repo));
}, 240_000);

afterAll(() => stopS3Service(service), 60_000);

/** Uploads `bytes` as CI would (straight to the bucket) and records an add of them; returns its task and target path. */
async function addUploaded(version: string, bytes: Buffer): Promise<{ task: string; path: string; sha256: string }> {
  await fx.client.send(
    new PutObjectCommand({ Bucket: fx.bucket, Key: bucket.key('uploads', 'app', sha256(bytes)), Body: bytes }),
  );
  const installers: Installer[] = [{ name: `App-${version}.zip`, length: bytes.length, sha256: sha256(bytes) }];
  const payload = { version, platform: 'linux', arch: 'x64', channel: defaultChannelFor(version), installers };
  return {
    task: await enqueueChange(db, 'app', 'add', payload),
    path: `${version}/App-${version}.zip`,
    sha256: sha256(bytes),
  };
}

async function verifyBucket(): Promise<void> {
  const copy = await tempDir('etuf-s3-copy-verify-');
  await fx.download('app', copy);
  expect((await verifyRepository({ repo: copy })).problems).toEqual([]);
}

async function timestampVersion(): Promise<number> {
  const got = await bucket.get(bucket.key('repositories', 'app', 'metadata', 'timestamp.json'), 16384);
  return (JSON.parse(got!.bytes.toString('utf8')) as { signed: { version: number } }).signed.version;
}

/** The target objects of an installer (under both hash-prefixed names), as keys. */
function targetKeys(path: string, bytes: Buffer): string[] {
  const [dir, name] = path.split('/');
  const sha512 = createHash('sha512').update(bytes).digest('hex');
  return [sha256(bytes), sha512].map((h) => bucket.key('repositories', 'app', 'targets', dir, `${h}.${name}`));
}

describe('server-side copy of checked uploads', () => {
  it("learns the gateway's copy condition: a copy on a wrong ETag is refused, on the right one it goes through", async () => {
    // Ceph 16.2 reads x-amz-copy-if-match; the standard header alone would not stop the copy.
    expect(bucket.copyFence).toBe('ceph');
    const source = bucket.key('copy-probe', 'source');
    const dest = bucket.key('copy-probe', 'dest');
    await bucket.create(source, Buffer.from('checked bytes'));
    const etag = (await bucket.head(source))!.etag;
    expect(await bucket.copy(source, dest, 'ffffffffffffffffffffffffffffffff')).toBe('changed');
    expect(await bucket.head(dest)).toBeUndefined();
    expect(await bucket.copy(source, dest, etag)).toBe('copied');
    expect((await bucket.get(dest, 100))?.bytes.toString()).toBe('checked bytes');
    expect(await bucket.copy(bucket.key('copy-probe', 'absent'), dest, etag)).toBe('changed');
  });

  it('publishes a large upload by copying it inside the store, not by sending its bytes again', async () => {
    const bytes = installerBytes('copied-1.0.0', COPY_MIN_BYTES + 4096);
    const add = await addUploaded('1.0.0', bytes);
    sent.length = 0;
    await new PublishWorker(db, repositories, new S3Uploads(bucket), {}).drain('app');
    expect((await getTask(db, add.task)).state).toBe('succeeded');
    const keys = targetKeys(add.path, bytes);
    // Both hash-prefixed names were copied from the upload; neither was PUT by the worker.
    expect(sent.filter((s) => s.command === 'CopyObjectCommand').map((s) => s.key)).toEqual(
      expect.arrayContaining(keys),
    );
    expect(sent.filter((s) => s.command === 'PutObjectCommand' && keys.includes(s.key!))).toEqual([]);
    const view = await ourClient(fx.tree('app'), repo.trustedRoot, [add.path]);
    expect(sha256(view.files.get(add.path)!)).toBe(add.sha256);
    await verifyBucket();
  }, 120_000);

  it('refuses to copy an upload overwritten after it was hashed: that change fails alone, nothing names it', async () => {
    const good = installerBytes('good-2.0.0', COPY_MIN_BYTES + 100);
    const victim = installerBytes('victim-2.1.0', COPY_MIN_BYTES + 200);
    const other = installerBytes('other-bytes', victim.length);
    const addGood = await addUploaded('2.0.0', good);
    const addVictim = await addUploaded('2.1.0', victim);
    const before = await timestampVersion();
    // A second, real client overwrites the upload right after the worker read it (before its hash and copy).
    class OverwrittenAfterRead extends S3Uploads {
      override async materialize(repository: string, installer: Installer, dest: string) {
        const origin = await super.materialize(repository, installer, dest);
        if (installer.sha256 === addVictim.sha256)
          await fx.client.send(
            new PutObjectCommand({
              Bucket: fx.bucket,
              Key: bucket.key('uploads', 'app', addVictim.sha256),
              Body: other,
            }),
          );
        return origin;
      }
    }
    await new PublishWorker(db, repositories, new OverwrittenAfterRead(bucket), {}).drain('app');

    const failed = await getTask(db, addVictim.task);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/changed after its bytes were checked.*nothing copied/);
    expect((await getTask(db, addGood.task)).state).toBe('succeeded');
    // Nothing of the victim reached the targets, and no metadata names it.
    for (const key of targetKeys(addVictim.path, victim)) expect(await bucket.head(key)).toBeUndefined();
    for (const key of targetKeys(addVictim.path, other)) expect(await bucket.head(key)).toBeUndefined();
    const view = await ourClient(fx.tree('app'), repo.trustedRoot, [addGood.path, addVictim.path]);
    expect(sha256(view.files.get(addGood.path)!)).toBe(addGood.sha256);
    expect(view.files.get(addVictim.path)).toBeUndefined();
    // One publish (the good change), after the failed attempt wrote no metadata.
    expect(await timestampVersion()).toBe(before + 1);
    await verifyBucket();
  }, 120_000);
});
