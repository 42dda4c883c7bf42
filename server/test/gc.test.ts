/**
 * Garbage collection (server/src/gc.ts over publisher/gc.ts) on a repository the embedded
 * service published: old snapshots and role versions go, every root and the last K snapshots
 * with what they list stay, a client that refreshed long ago still refreshes, the tree verifies,
 * and a yanked release's files go only after the grace period. Old channel index files go with
 * the targets versions that named them; those the kept versions name stay. Uploads never used by
 * a release go after their grace period; used ones stay.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_MAP_MIN_BYTES, DiskStorage, repositoryPaths, verifyRepository } from 'electron-tuf/publisher';
import { ourClient, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import { BlobStore } from '../src/blobs.js';
import { collectRepository } from '../src/gc.js';
import { Repositories } from '../src/repositories.js';
import {
  addRelease,
  bootstrapRepository,
  call,
  installerBytes,
  settled,
  upload,
  sha256,
  startAppServer,
  stopTestServer,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let repo: TestRepo;
let repositories: Repositories;
const KEEP = 3;
const DAY_MS = 86_400_000;
const tree = (): { metadataUrl: string; targetsUrl: string } => ({
  metadataUrl: `${server.url}/repositories/app/metadata/`,
  targetsUrl: `${server.url}/repositories/app/targets/`,
});
const metadataDir = (): string => join(server.data, 'repositories', 'app', 'metadata');
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );
const versionsOf = async (role: string): Promise<number[]> =>
  (await readdir(metadataDir()))
    .map((f) => new RegExp(`^(\\d+)\\.${role}\\.json$`).exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);

const indexDir = (): string => join(server.data, 'repositories', 'app', 'targets', 'channels', 'stable');
const indexFiles = async (): Promise<string[]> => (await readdir(indexDir())).sort();

/** The stored names (`<hash>.linux-x64.json`) of the index every remaining targets version lists. */
async function indexFilesNamedByTargets(): Promise<string[]> {
  const names = new Set<string>();
  for (const v of await versionsOf('targets')) {
    const md = JSON.parse(await readFile(join(metadataDir(), `${v}.targets.json`), 'utf8')) as {
      signed: { targets: Record<string, { hashes: Record<string, string> }> };
    };
    const index = md.signed.targets['channels/stable/linux-x64.json'];
    for (const hash of Object.values(index?.hashes ?? {})) names.add(`${hash}.linux-x64.json`);
  }
  return [...names].sort();
}

/** The files of removed releases a gc run deleted (its other targets are old channel indexes). */
const releaseFiles = (r: { targets: string[]; indexes: string[] }): string[] =>
  r.targets.filter((t) => !r.indexes.includes(t));

async function publish(version: string, seed = version, size?: number): Promise<Buffer> {
  const bytes = installerBytes(`gc-${seed}`, size);
  const a = await addRelease(server, server.adminToken, 'app', { version, files: { [`App-${version}.zip`]: bytes } });
  expect(a.status).toBe(202);
  expect((await settled(server, server.adminToken, a.body.task)).body.state).toBe('succeeded');
  return bytes;
}

beforeAll(async () => {
  ({ server, repo } = await startAppServer({ init: { bins: 4 } }));
  repositories = new Repositories(server.db, server.data);
  await bootstrapRepository(server, server.adminToken, 'app', repo); // throws unless 201
}, 120_000);

afterAll(() => stopTestServer(server));

describe('gc', () => {
  it('keeps every root and the last K snapshots with what they list; an old client still refreshes', async () => {
    await publish('1.0.0');
    // A client that refreshed at the very beginning and keeps its trusted metadata.
    const clientState = join(await tempDir('etuf-gc-client-'), 'metadata');
    await ourClient(tree(), repo.trustedRoot, ['1.0.0/App-1.0.0.zip'], clientState);
    let newest: Buffer = Buffer.alloc(0);
    for (let i = 1; i <= 8; i++) newest = await publish(`1.${i}.0`);
    const snapshotsBefore = await versionsOf('snapshot');
    const current = snapshotsBefore[snapshotsBefore.length - 1];
    const rootsBefore = await versionsOf('root');
    // Every publish changed the channel index: one file per version (under 2 names), the old ones left behind.
    const indexesBefore = await indexFiles();
    expect(indexesBefore.length).toBeGreaterThanOrEqual(2 * 9);

    const dry = await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP, dryRun: true });
    expect(dry.snapshotVersion).toBe(current);
    expect(dry.metadata).toContain('1.snapshot.json');
    expect(dry.metadata).not.toContain(`${current - KEEP + 1}.snapshot.json`);
    expect(await versionsOf('snapshot')).toEqual(snapshotsBefore); // a dry run deletes nothing
    expect(await indexFiles()).toEqual(indexesBefore);

    const run = await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP });
    expect(run.metadata).toEqual(dry.metadata);
    expect(await versionsOf('snapshot')).toEqual([current - 2, current - 1, current]);
    expect(await versionsOf('root')).toEqual(rootsBefore);
    expect(await exists(join(metadataDir(), 'timestamp.json'))).toBe(true);
    // Older versions of targets roles went too; the versions the kept snapshots list stayed.
    expect(run.metadata.some((f) => /^\d+\.bin-.*\.json$/.test(f) || /^\d+\.targets\.json$/.test(f))).toBe(true);
    // Old index files went: exactly those the remaining targets versions name are left.
    expect(run.indexes.sort()).toEqual(dry.indexes.sort());
    expect(run.indexes.length).toBeGreaterThan(0);
    expect(run.targets).toEqual(expect.arrayContaining(run.indexes));
    const indexesAfter = await indexFiles();
    expect(indexesAfter).toEqual(await indexFilesNamedByTargets());
    expect(indexesAfter.length).toBeLessThan(indexesBefore.length);
    expect(indexesAfter.length).toBeGreaterThanOrEqual(2);
    expect(run.indexes.map((f) => f.replace('channels/stable/', '')).sort()).toEqual(
      indexesBefore.filter((f) => !indexesAfter.includes(f)),
    );
    expect((await verifyRepository({ repo: join(server.data, 'repositories', 'app') })).problems).toEqual([]);

    const path = '1.8.0/App-1.8.0.zip';
    const view = await ourClient(tree(), repo.trustedRoot, [path, 'channels/stable/linux-x64.json'], clientState);
    expect(sha256(view.files.get(path)!)).toBe(sha256(newest));
    expect(view.files.get('channels/stable/linux-x64.json')).toBeDefined();

    // The next run starts where this one stopped: nothing new to delete.
    const again = await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP });
    expect(again.metadata).toEqual([]);
    expect(again.indexes).toEqual([]);
  }, 180_000);

  it("deletes a yanked release's files only after the grace period, and never a listed one", async () => {
    const bytes = await publish('3.0.0', '3.0.0', CHUNK_MAP_MIN_BYTES); // large enough for a chunk map
    await publish('3.1.0');
    const yank = await call(server, 'DELETE', '/api/v1/repositories/app/releases/3.0.0', { token: server.adminToken });
    expect(yank.status).toBe(202);
    expect((await settled(server, server.adminToken, yank.body.task)).body.state).toBe('succeeded');
    const targets = join(server.data, 'repositories', 'app', 'targets', '3.0.0');
    const stored = (await readdir(targets)).sort();
    // <sha256>.App-3.0.0.zip and <sha512>.App-3.0.0.zip, and its chunk map under both names
    expect(stored).toHaveLength(4);
    expect(stored.some((f) => f.startsWith(sha256(bytes)))).toBe(true);

    const early = await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP, graceDays: 7 });
    expect(releaseFiles(early)).toEqual([]);
    expect((await readdir(targets)).sort()).toEqual(stored);

    const later = new Date(Date.now() + 8 * DAY_MS);
    const dry = await collectRepository(server.db, repositories, 'app', {
      keepSnapshots: KEEP,
      graceDays: 7,
      now: later,
      dryRun: true,
    });
    expect(releaseFiles(dry).sort()).toEqual(stored.map((f) => `3.0.0/${f}`));
    expect((await readdir(targets)).sort()).toEqual(stored);

    const run = await collectRepository(server.db, repositories, 'app', {
      keepSnapshots: KEEP,
      graceDays: 7,
      now: later,
    });
    expect(releaseFiles(run).sort()).toEqual(releaseFiles(dry).sort());
    expect(await readdir(targets)).toEqual([]);
    // The release still published is untouched (its installer under both names: too small for a
    // chunk map), and the tree verifies.
    expect((await readdir(join(server.data, 'repositories', 'app', 'targets', '3.1.0'))).length).toBe(2);
    expect((await verifyRepository({ repo: join(server.data, 'repositories', 'app') })).problems).toEqual([]);
    const again = await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP, now: later });
    expect(releaseFiles(again)).toEqual([]);
  }, 180_000);

  it('a path published again after its yank is listed and stays', async () => {
    const bytes = await publish('4.0.0');
    const yank = await call(server, 'DELETE', '/api/v1/repositories/app/releases/4.0.0', { token: server.adminToken });
    expect((await settled(server, server.adminToken, yank.body.task)).body.state).toBe('succeeded');
    await publish('4.0.0'); // the same bytes under the same path, again
    const r = await collectRepository(server.db, repositories, 'app', {
      keepSnapshots: KEEP,
      graceDays: 0,
      now: new Date(Date.now() + DAY_MS),
    });
    expect(r.stillListed).toContain('4.0.0/App-4.0.0.zip');
    expect(r.targets.filter((t) => t.startsWith('4.0.0/'))).toEqual([]);
    const view = await ourClient(tree(), repo.trustedRoot, ['4.0.0/App-4.0.0.zip']);
    expect(sha256(view.files.get('4.0.0/App-4.0.0.zip')!)).toBe(sha256(bytes));
  }, 120_000);

  it('deletes uploads no release used once their grace period is over; used ones stay', async () => {
    const uploads = new BlobStore(join(server.data, 'uploads'));
    const stored = (digest: string): Promise<boolean> => exists(uploads.pathOf('app', digest));
    const abandoned = installerBytes('never-released', 3000);
    expect((await upload(server, server.adminToken, 'app', abandoned)).status).toBe(201);
    const used = await publish('6.0.0');
    const [unused, kept] = [sha256(abandoned), sha256(used)];
    expect([await stored(unused), await stored(kept)]).toEqual([true, true]);
    const settings = { keepSnapshots: KEEP, uploads };

    const early = await collectRepository(server.db, repositories, 'app', settings);
    expect(early.uploads).toEqual([]);
    const later = new Date(Date.now() + 2 * DAY_MS);
    const dry = await collectRepository(server.db, repositories, 'app', { ...settings, now: later, dryRun: true });
    expect(dry.uploads).toEqual([unused]);
    expect(await stored(unused)).toBe(true);
    // Without the upload store, uploads are left alone.
    expect(
      (await collectRepository(server.db, repositories, 'app', { keepSnapshots: KEEP, now: later })).uploads,
    ).toEqual([]);

    const run = await collectRepository(server.db, repositories, 'app', { ...settings, now: later });
    expect(run.uploads).toEqual([unused]);
    expect([await stored(unused), await stored(kept)]).toEqual([false, true]);
    // The used upload still serves a staging change of its release (it is materialized again).
    const staging = await call(server, 'PATCH', '/api/v1/repositories/app/releases/6.0.0', {
      token: server.adminToken,
      json: { platform: 'linux', arch: 'x64', channel: 'stable', staging: 50 },
    });
    expect(staging.status).toBe(202);
    expect((await settled(server, server.adminToken, staging.body.task)).body.state).toBe('succeeded');
    const again = await collectRepository(server.db, repositories, 'app', { ...settings, now: later });
    expect(again.uploads).toEqual([]);
  }, 120_000);

  it('storage refuses to remove roots, timestamp.json or anything outside its area', async () => {
    const storage = new DiskStorage(repositoryPaths(join(server.data, 'repositories', 'app')));
    await expect(storage.removeFiles('metadata', ['1.root.json'])).rejects.toThrow(/never removed/);
    await expect(storage.removeFiles('metadata', ['timestamp.json'])).rejects.toThrow(/never removed/);
    await expect(storage.removeFiles('metadata', ['../electron-tuf.json'])).rejects.toThrow(/refusing/);
    await expect(storage.removeFiles('targets', ['a/../../metadata/1.snapshot.json'])).rejects.toThrow(/refusing/);
    await expect(storage.removeFiles('targets', ['/etc/passwd'])).rejects.toThrow(/refusing/);
    await storage.removeFiles('metadata', ['999999.snapshot.json']); // absent is fine
    expect(await exists(join(metadataDir(), '1.root.json'))).toBe(true);
  });
});
