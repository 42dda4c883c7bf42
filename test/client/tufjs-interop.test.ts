/**
 * Interoperability with tuf-js 6, a peer TypeScript client (docs/architecture.md: metadata written by
 * either side must be accepted by both). A repository signed with our core (through the
 * RepositorySimulator) is written out as static files: consistent snapshots, a root rotation,
 * top-level targets plus one delegated role, hash-prefixed targets, lengths and hashes in
 * timestamp/snapshot meta. It is served over HTTP on 127.0.0.1, and tuf-js and our Updater
 * (with the real HttpFetcher) must both refresh, find, download and verify the same bytes,
 * then follow an update of the repository.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater as TufJsUpdater } from 'tuf-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';
import { Updater } from '../../updater/client/updater.js';
import { DirFetcher } from '../helpers/dir-fetcher.js';
import { serveFetcher, type FetcherServer } from '../helpers/fetcher-server.js';
import { newSigner, RepositorySimulator } from '../helpers/simulator.js';

const SERVED_BASE = 'http://static.invalid';
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

const APP_V1 = randomBytes(300_000);
const APP_V2 = randomBytes(123_457);
const README = Buffer.from('top-level target of the interop repository\n');

let sim: RepositorySimulator;
let dir: string;
let server: FetcherServer;
const fetchers: HttpFetcher[] = [];
let initialRoot: Uint8Array;

/** Builds the repository: root v2 (rotated targets key), `releases/*` delegated to 'releases'. */
async function buildRepository(): Promise<void> {
  sim = await RepositorySimulator.create();
  sim.computeMetafileHashesAndLength = true;
  initialRoot = sim.initialRoot;
  // Root v2 rotates the targets key; signed by the (unchanged) root key: clients must walk 1 -> 2.
  sim.rotateKeys('targets', [newSigner()]);
  await sim.publishRoot();
  sim.addTarget('README.txt', README, 'targets', { kind: 'doc' });
  sim.addDelegation('targets', { name: 'releases', paths: ['releases/*'], terminating: true });
  sim.addTarget('releases/app-1.0.0.tar.gz', APP_V1, 'releases', { version: '1.0.0' });
  sim.updateTargets('targets');
  sim.updateTargets('releases');
  sim.updateSnapshot();
  await sim.writeTo(join(dir, 'repo'));
}

/** Publishes release 2.0.0 in 'releases' and bumps snapshot and timestamp. */
async function publishUpdate(): Promise<void> {
  sim.addTarget('releases/app-2.0.0.tar.gz', APP_V2, 'releases', { version: '2.0.0' });
  sim.updateTargets('releases');
  sim.updateSnapshot();
  await sim.writeTo(join(dir, 'repo'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etuf-tufjs-interop-'));
  await buildRepository();
  server = await serveFetcher(new DirFetcher(SERVED_BASE, join(dir, 'repo')), SERVED_BASE);
});

afterAll(async () => {
  for (const f of fetchers) f.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Client {
  refresh(): Promise<void>;
  info(path: string): Promise<{ length: number; hashes: Record<string, string>; custom: unknown } | undefined>;
  /** Downloads a target found by `info` into the client's target dir; returns the bytes. */
  download(path: string): Promise<Buffer>;
  /** Trusted versions after refresh. */
  versions(): Promise<Record<string, number>>;
}

/** tuf-js: its metadata dir must be seeded with root.json; it fetches with Node's fetch. */
async function tufJsClient(name: string): Promise<Client> {
  const metadataDir = join(dir, name, 'metadata');
  const targetDir = join(dir, name, 'targets');
  await mkdir(metadataDir, { recursive: true });
  await mkdir(targetDir, { recursive: true });
  await writeFile(join(metadataDir, 'root.json'), initialRoot);
  const make = (): TufJsUpdater =>
    new TufJsUpdater({
      metadataDir,
      targetDir,
      metadataBaseUrl: `${server.origin}/metadata`,
      targetBaseUrl: `${server.origin}/targets`,
      config: { fetchRetries: 0, fetchTimeout: 5_000 },
    });
  let updater = make();
  return {
    refresh: async () => {
      updater = make(); // tuf-js reads its local root once, in the constructor
      await updater.refresh();
    },
    info: async (path) => {
      const t = await updater.getTargetInfo(path);
      return t && { length: t.length, hashes: t.hashes, custom: t.custom };
    },
    download: async (path) => {
      const t = await updater.getTargetInfo(path);
      if (!t) throw new Error(`tuf-js did not find ${path}`);
      return readFile(await updater.downloadTarget(t));
    },
    versions: async () => {
      const read = async (role: string): Promise<number> =>
        (JSON.parse(await readFile(join(metadataDir, `${role}.json`), 'utf8')) as { signed: { version: number } })
          .signed.version;
      return {
        root: await read('root'),
        timestamp: await read('timestamp'),
        snapshot: await read('snapshot'),
        targets: await read('targets'),
      };
    },
  };
}

/** Ours, over real HTTP with HttpFetcher (no proxy from the environment). */
async function ourClient(name: string): Promise<Client> {
  const fetcher = new HttpFetcher({ proxy: {}, retries: 0, readTimeoutMs: 5_000 });
  fetchers.push(fetcher);
  const make = (): Updater =>
    new Updater({
      metadataDir: join(dir, name, 'metadata'),
      targetDir: join(dir, name, 'targets'),
      metadataBaseUrl: `${server.origin}/metadata`,
      targetBaseUrl: `${server.origin}/targets`,
      bootstrapRoot: initialRoot,
      fetcher,
    });
  let updater = make();
  return {
    refresh: async () => {
      updater = make();
      await updater.refresh();
    },
    info: async (path) => {
      const t = await updater.getTargetInfo(path);
      return t && { length: t.length, hashes: t.hashes, custom: t.custom };
    },
    download: async (path) => {
      const t = await updater.getTargetInfo(path);
      if (!t) throw new Error(`electron-tuf did not find ${path}`);
      return readFile(await updater.downloadTarget(t));
    },
    versions: async () => {
      const set = updater.trustedMetadata!;
      return {
        root: set.root.signed.version,
        timestamp: set.timestamp!.signed.version,
        snapshot: set.snapshot!.signed.version,
        targets: set.targets!.signed.version,
      };
    },
  };
}

const CLIENTS: Array<[string, (name: string) => Promise<Client>]> = [
  ['tuf-js', tufJsClient],
  ['electron-tuf', ourClient],
];

describe('the static repository written for interop', () => {
  it('has the consistent-snapshot layout a static server publishes', async () => {
    const files = await sim.writeTo(join(dir, 'layout-check'));
    const targetsVersion = sim.targets.get('targets')!.version;
    expect(files).toEqual(
      expect.arrayContaining([
        'metadata/1.root.json',
        'metadata/2.root.json',
        `metadata/${sim.snapshot.version}.snapshot.json`,
        `metadata/${targetsVersion}.targets.json`,
        `metadata/${sim.targets.get('releases')!.version}.releases.json`,
        'metadata/timestamp.json',
        `targets/${sha256(README)}.README.txt`,
        `targets/releases/${sha256(APP_V1)}.app-1.0.0.tar.gz`,
      ]),
    );
    // Every target is also stored under its sha512 prefix, as python-tuf's layout does.
    expect(files.filter((f) => f.startsWith('targets/releases/') && f.endsWith('.app-1.0.0.tar.gz'))).toHaveLength(2);
    expect(files.some((f) => f.endsWith('/targets.json') && !/\/\d+\.targets\.json$/.test(f))).toBe(false);
  });
});

for (const [label, create] of CLIENTS) {
  describe(`${label} against a repository signed by electron-tuf`, () => {
    let client: Client;

    beforeAll(async () => {
      client = await create(label);
    });

    it('refreshes through the root rotation to the current versions', async () => {
      await client.refresh();
      expect(await client.versions()).toEqual({
        root: 2,
        timestamp: sim.timestamp.version,
        snapshot: sim.snapshot.version,
        targets: sim.targets.get('targets')!.version,
      });
    });

    it('finds a top-level target and a delegated one with the signed length, hashes and custom', async () => {
      const readme = await client.info('README.txt');
      expect(readme).toEqual({
        length: README.length,
        hashes: sim.targets.get('targets')!.targets.get('README.txt')!.hashes,
        custom: { kind: 'doc' },
      });
      const app = await client.info('releases/app-1.0.0.tar.gz');
      expect(app?.length).toBe(APP_V1.length);
      expect(app?.hashes.sha256).toBe(sha256(APP_V1));
      expect(app?.custom).toEqual({ version: '1.0.0' });
      expect(await client.info('releases/missing.tar.gz')).toBeUndefined();
      expect(await client.info('other/app-1.0.0.tar.gz')).toBeUndefined();
    });

    it('downloads hash-prefixed targets and gets exactly the published bytes', async () => {
      expect((await client.download('README.txt')).equals(README)).toBe(true);
      expect((await client.download('releases/app-1.0.0.tar.gz')).equals(APP_V1)).toBe(true);
    });
  });
}

describe('both clients follow an update of the repository', () => {
  it('after a new release, both refresh to the new versions and download it', async () => {
    const clients = await Promise.all(CLIENTS.map(([label, create]) => create(`${label}-update`)));
    for (const c of clients) {
      await c.refresh();
      expect(await c.info('releases/app-2.0.0.tar.gz')).toBeUndefined();
    }
    await publishUpdate();
    for (const c of clients) {
      await c.refresh();
      expect((await c.versions()).snapshot).toBe(sim.snapshot.version);
      expect((await c.download('releases/app-2.0.0.tar.gz')).equals(APP_V2)).toBe(true);
      expect((await c.download('releases/app-1.0.0.tar.gz')).equals(APP_V1)).toBe(true);
    }
    // Both saw the same signed answers.
    const infos = await Promise.all(clients.map((c) => c.info('releases/app-2.0.0.tar.gz')));
    expect(infos[0]).toEqual(infos[1]);
  });
});
