/**
 * Group commit: the worker publishes every pending add, yank and staging change of a repository
 * in one transaction (one new version of each affected role), and a change that is refused on
 * its own fails its task alone. Real PGlite database, real blob store and repository on disk.
 */
import { parseDoc, type MetadataDoc } from '../../test/helpers/metadata-doc.js';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { editRepository, verifyRepository } from 'electron-tuf/publisher';
import { cleanupTemp, makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { BlobStore } from '../src/blobs.js';
import { enqueueChange, getTask, type AddPayload } from '../src/changes.js';
import { openPglite, type Db } from '../src/db.js';
import { Repositories } from '../src/repositories.js';
import { migrate } from '../src/schema.js';
import { PublishWorker } from '../src/worker.js';
import { bootstrapBody, installerBytes, newPgliteDir, sha256 } from './helpers.js';

const dbs: Db[] = [];
afterAll(async () => {
  for (const db of dbs) await db.close();
  await cleanupTemp();
});

/** The real store, counting how often the worker opens a stored upload to copy and hash it. */
class CountingBlobStore extends BlobStore {
  opened = 0;
  override pathOf(repository: string, sha256: string): string {
    this.opened++;
    return super.pathOf(repository, sha256);
  }
}

interface Service {
  db: Db;
  blobs: CountingBlobStore;
  worker: PublishWorker;
  repoDir: string;
  keys: string;
}

async function service(): Promise<Service> {
  const data = await tempDir('etuf-group-');
  await newPgliteDir(join(data, 'db'));
  const db = await openPglite(join(data, 'db'));
  dbs.push(db);
  await migrate(db);
  const repositories = new Repositories(db, data);
  const repo = await makeRepo({ bins: 16 });
  await repositories.bootstrap(await bootstrapBody('app', repo));
  const blobs = new CountingBlobStore(join(data, 'uploads'));
  const worker = new PublishWorker(db, repositories, blobs, {});
  return { db, blobs, worker, repoDir: repositories.dirOf('app'), keys: repo.keys };
}

/** Uploads the installer and records an add (its task pending); nothing publishes until `drain`. */
async function pendingAdd(
  s: Service,
  version: string,
  name = `App-${version}.zip`,
  bytes = installerBytes(`group-${version}`, 1024),
): Promise<string> {
  const digest = sha256(bytes);
  await s.blobs.put('app', digest, bytes.length, Readable.from([bytes]));
  const payload: AddPayload = {
    version,
    platform: 'linux',
    arch: 'x64',
    channel: 'stable',
    installers: [{ name, length: bytes.length, sha256: digest }],
  };
  return enqueueChange(s.db, 'app', 'add', payload);
}

/** Versioned metadata files by role name (`3.snapshot.json` -> snapshot: [3]). */
async function versions(repoDir: string): Promise<Map<string, number[]>> {
  const byRole = new Map<string, number[]>();
  for (const f of await readdir(join(repoDir, 'metadata'))) {
    const m = /^(\d+)\.(.+)\.json$/.exec(f);
    if (m) byRole.set(m[2], [...(byRole.get(m[2]) ?? []), Number(m[1])]);
  }
  return byRole;
}

async function timestampVersion(repoDir: string): Promise<number> {
  return (
    JSON.parse(await readFile(join(repoDir, 'metadata', 'timestamp.json'), 'utf8')) as { signed: { version: number } }
  ).signed.version;
}

/** The roles that got new versioned files, with how many each. */
function newVersions(before: Map<string, number[]>, after: Map<string, number[]>): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [role, list] of after) {
    const added = list.length - (before.get(role)?.length ?? 0);
    if (added > 0) grown[role] = added;
  }
  return grown;
}

/** The target paths the current snapshot's targets roles list (what a client sees now). */
async function targetPaths(repoDir: string): Promise<string[]> {
  const check = await verifyRepository({ repo: repoDir });
  expect(check.problems).toEqual([]);
  const read = async (file: string): Promise<MetadataDoc> => parseDoc(await readFile(join(repoDir, 'metadata', file)));
  const timestamp = await read('timestamp.json');
  const snapshot = await read(`${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`);
  const paths: string[] = [];
  for (const [name, meta] of Object.entries(snapshot.signed.meta)) {
    paths.push(...Object.keys((await read(`${meta.version}.${name}`)).signed.targets));
  }
  return paths;
}

/** The published channel index of stable linux-x64, through top-level targets' entry for it. */
async function channelIndex(repoDir: string): Promise<{ releases: Array<{ version: string }> }> {
  const timestamp = JSON.parse(await readFile(join(repoDir, 'metadata', 'timestamp.json'), 'utf8')) as {
    signed: { meta: Record<string, { version: number }> };
  };
  const snapshot = JSON.parse(
    await readFile(
      join(repoDir, 'metadata', `${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`),
      'utf8',
    ),
  ) as { signed: { meta: Record<string, { version: number }> } };
  const targets = JSON.parse(
    await readFile(join(repoDir, 'metadata', `${snapshot.signed.meta['targets.json'].version}.targets.json`), 'utf8'),
  ) as { signed: { targets: Record<string, { hashes: { sha256: string } }> } };
  const entry = targets.signed.targets['channels/stable/linux-x64.json'];
  return JSON.parse(
    await readFile(join(repoDir, 'targets', 'channels', 'stable', `${entry.hashes.sha256}.linux-x64.json`), 'utf8'),
  ) as { releases: Array<{ version: string }> };
}

describe('group commit', () => {
  it('publishes 20 pending adds as one new version of each affected role', async () => {
    const s = await service();
    const tasks = [];
    for (let i = 0; i < 20; i++) tasks.push(await pendingAdd(s, `1.${i}.0`));
    const before = await versions(s.repoDir);
    const timestamp = await timestampVersion(s.repoDir);

    expect(await s.worker.drain('app')).toBe(20);

    expect((await Promise.all(tasks.map((t) => getTask(s.db, t)))).map((t) => t.state)).toEqual(
      tasks.map(() => 'succeeded'),
    );
    expect(await timestampVersion(s.repoDir)).toBe(timestamp + 1);
    const grown = newVersions(before, await versions(s.repoDir));
    expect(grown.snapshot).toBe(1);
    // Each role the adds touched (top-level targets for the channel index, some bins) got one version.
    expect(Object.values(grown).every((n) => n === 1)).toBe(true);
    expect(Object.keys(grown).length).toBeGreaterThan(2);
    const paths = await targetPaths(s.repoDir);
    for (let i = 0; i < 20; i++) expect(paths).toContain(`1.${i}.0/App-1.${i}.0.zip`);
    // Each add of the batch read the index the previous one staged: the index lists all 20.
    expect((await channelIndex(s.repoDir)).releases.map((r) => r.version).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `1.${i}.0`).sort(),
    );
  }, 60_000);

  it('fails a refused change alone and publishes the rest of the batch once', async () => {
    const s = await service();
    await pendingAdd(s, '2.0.0');
    await s.worker.drain('app');
    const timestamp = await timestampVersion(s.repoDir);

    const good1 = await pendingAdd(s, '2.1.0');
    // A second zip installer for 2.0.0: the publisher refuses it (one installer of each kind).
    const sameKind = await pendingAdd(s, '2.0.0', 'App-2.0.0-other.zip', installerBytes('other', 1024));
    // An installer never uploaded.
    const missing = await enqueueChange(s.db, 'app', 'add', {
      version: '2.2.0',
      platform: 'linux',
      arch: 'x64',
      channel: 'stable',
      installers: [{ name: 'App-2.2.0.zip', length: 10, sha256: 'a'.repeat(64) }],
    });
    // An upload whose stored bytes changed on disk after it was accepted (same length).
    const tamperedBytes = installerBytes('tampered', 1024);
    const tampered = await pendingAdd(s, '2.3.0', 'App-2.3.0.zip', tamperedBytes);
    await writeFile(s.blobs.pathOf('app', sha256(tamperedBytes)), installerBytes('evil', 1024));
    // A staging change of a release never published.
    const staging = await enqueueChange(s.db, 'app', 'staging', {
      version: '9.9.9',
      platform: 'linux',
      arch: 'x64',
      channel: 'stable',
      staging: 10,
    });
    const good2 = await pendingAdd(s, '2.4.0');
    const yank = await enqueueChange(s.db, 'app', 'remove', { version: '2.0.0' });
    const before = await versions(s.repoDir);

    s.blobs.opened = 0;
    expect(await s.worker.drain('app')).toBe(7);
    // The refused change cost a second transaction, not a second copy and hash of the installers.
    expect(s.blobs.opened).toBe(5);

    const task = (id: string) => getTask(s.db, id);
    expect((await task(good1)).state).toBe('succeeded');
    expect((await task(good2)).state).toBe('succeeded');
    expect((await task(yank)).state).toBe('succeeded');
    expect(await task(sameKind)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/already has a zip installer/) as unknown,
    });
    expect(await task(missing)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/App-2\.2\.0\.zip: no upload/) as unknown,
    });
    expect(await task(tampered)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/App-2\.3\.0\.zip: the stored upload is not 1024 bytes/) as unknown,
    });
    expect(await task(staging)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/no published release 9\.9\.9/) as unknown,
    });

    expect(await timestampVersion(s.repoDir)).toBe(timestamp + 1);
    expect(newVersions(before, await versions(s.repoDir)).snapshot).toBe(1);
    const paths = await targetPaths(s.repoDir);
    expect(paths).toEqual(expect.arrayContaining(['2.1.0/App-2.1.0.zip', '2.4.0/App-2.4.0.zip']));
    for (const gone of [
      '2.0.0/App-2.0.0.zip',
      '2.0.0/App-2.0.0-other.zip',
      '2.2.0/App-2.2.0.zip',
      '2.3.0/App-2.3.0.zip',
    ])
      expect(paths).not.toContain(gone);
  }, 60_000);

  it('a yank of a release that is already gone succeeds (typed UnknownReleaseError, not message matching)', async () => {
    const s = await service();
    await pendingAdd(s, '3.0.0');
    await s.worker.drain('app');
    // Two yanks of one release in one batch: the second finds it gone, as after a killed worker.
    const first = await enqueueChange(s.db, 'app', 'remove', { version: '3.0.0' });
    const again = await enqueueChange(s.db, 'app', 'remove', { version: '3.0.0', channel: 'stable' });
    expect(await s.worker.drain('app')).toBe(2);
    expect(await getTask(s.db, first)).toMatchObject({
      state: 'succeeded',
      result: { removed: ['3.0.0/App-3.0.0.zip'] },
    });
    expect(await getTask(s.db, again)).toMatchObject({ state: 'succeeded', result: { alreadyRemoved: true } });
    expect(await targetPaths(s.repoDir)).not.toContain('3.0.0/App-3.0.0.zip');
    await expect(
      editRepository({ repo: s.repoDir, keys: s.keys, env: {} }, (edit) => edit.removeRelease('3.0.0', 'stable')),
    ).rejects.toMatchObject({ name: 'UnknownReleaseError', version: '3.0.0', channel: 'stable' });
  }, 60_000);

  it('a drain told to stop (shutdown) finishes the round under way and leaves the rest pending', async () => {
    const s = await service();
    const first = await pendingAdd(s, '3.0.0');
    // Stopped before any round: nothing is taken.
    expect(await s.worker.drainUntil('app', () => true)).toEqual({ settled: 0, stopped: true });
    expect((await getTask(s.db, first)).state).toBe('pending');
    // Stop asked during the first round: it is published and settled, the next one is not started.
    let checks = 0;
    const stopAfterFirstRound = (): boolean => checks++ > 0;
    const settledRounds: number[] = [];
    const observed = new PublishWorker(s.db, new Repositories(s.db, join(s.repoDir, '..', '..')), s.blobs, {}, (r) =>
      settledRounds.push(r.length),
    );
    expect(await observed.drainUntil('app', stopAfterFirstRound)).toEqual({ settled: 1, stopped: true });
    expect((await getTask(s.db, first)).state).toBe('succeeded');
    expect(settledRounds).toEqual([1]);
    const second = await pendingAdd(s, '3.1.0');
    expect((await getTask(s.db, second)).state).toBe('pending');
    expect(await observed.drainUntil('app', () => false)).toEqual({ settled: 1, stopped: false });
    expect((await getTask(s.db, second)).state).toBe('succeeded');
  }, 60_000);
});
