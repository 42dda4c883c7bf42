/**
 * Root changes through the service on S3 storage (radosgw), with real PostgreSQL and Redis: two
 * API processes and workers started from the built CLI, each with a data directory of its own, so
 * nothing is shared but the database, the queue and the bucket. A 2-of-3 root rotation is staged
 * through one API and one worker; signatures come through the other API and, after that worker is
 * killed, another worker: the staged root and its signatures live in the database, not on a
 * worker's disk. Refused signatures (bad, for a stale staged root) and a signature below the
 * threshold leave root 1 published and the bucket unchanged. Root 2 is published into the bucket
 * and our client and tuf-js follow it there. Then two holders sign root 3 at the same time
 * through both APIs and two workers, and neither signature is lost. Last, `server gc` on the
 * bucket deletes the old channel index objects and an upload no release used, and nothing a
 * client needs.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyDirectory } from 'electron-tuf/publisher';
import { Metadata } from '../../updater/core/metadata.js';
import { main } from '../../publisher/cli/main.js';
import type { CliIO } from '../../publisher/cli/io.js';
import { signStagedWithKey } from '../../publisher/sign-staged-root.js';
import { detachedBytes } from '../../publisher/staged-root-store.js';
import {
  cleanupTemp,
  exists,
  makeRepo,
  ourClient,
  tempDir,
  tufJsClient,
  type TestRepo,
} from '../../test/publisher/helpers.js';
import { newToken } from '../src/tokens.js';
import { Children, freePort, isolated, killNine, REDIS_URL, SERVER_CLI, adminSql } from './distributed-helpers.js';
import {
  addRelease,
  bootstrapBody,
  call,
  installerBytes,
  settled,
  sha256,
  splitRootKeys,
  upload,
  type ApiBody,
} from './helpers.js';
import { s3Fixture, type S3Fixture } from './s3-helpers.js';

const iso = isolated('etuf_s3root');
const adminToken = newToken();
const children = new Children();
let fx: S3Fixture;
let repo: TestRepo;
let serviceKeys: string;
let rootKeyFiles: string[];
let work: string;
let trusted: string;
const apis: string[] = [];
const workers: Array<{ child: ChildProcess; data: string }> = [];

function env(): NodeJS.ProcessEnv {
  return { ...fx.env, ELECTRON_TUF_REDIS_PREFIX: iso.prefix, ELECTRON_TUF_ADMIN_TOKEN: adminToken };
}

function common(data: string): string[] {
  return ['--data', data, '--database-url', iso.databaseUrl, '--redis-url', REDIS_URL, '--storage', fx.storage];
}

async function startApi(): Promise<string> {
  const port = await freePort();
  const data = await tempDir('etuf-s3root-api-');
  await children.start([SERVER_CLI, 'api', '--port', String(port), ...common(data)], env(), 'listening on');
  return `http://127.0.0.1:${port}`;
}

async function startWorker(): Promise<{ child: ChildProcess; data: string }> {
  const data = await tempDir('etuf-s3root-worker-');
  const w = { child: await children.start([SERVER_CLI, 'worker', ...common(data)], env(), 'worker started'), data };
  workers.push(w);
  return w;
}

beforeAll(async () => {
  fx = await s3Fixture();
  await iso.create();
  work = await tempDir('etuf-s3root-');
  repo = await makeRepo({ rootKeys: 3, rootThreshold: 2 });
  // The service gets the online keys only: the root key files stay with their holders.
  ({ serviceKeys, rootKeyFiles } = await splitRootKeys(repo));
  trusted = join(repo.repo, 'metadata', '1.root.json');
  // One at a time: the first process migrates the database.
  apis.push(await startApi(), await startApi());
  await startWorker();
  const boot = await call({ url: apis[0] }, 'POST', '/api/v1/repositories', {
    token: adminToken,
    json: { ...(await bootstrapBody('app', repo)), keys: { dir: serviceKeys } },
  });
  expect(boot.status).toBe(201);
}, 240_000);

afterAll(async () => {
  children.killAll();
  await iso.drop().catch((e: unknown) => console.error('drop failed', e));
  fx?.client.destroy();
  await cleanupTemp();
}, 60_000);

/** `electron-tuf repo ...args --server API --token ADMIN`, as a holder runs it. */
async function cli(api: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: work };
  const code = await main(['repo', ...args, '--server', api, '--token', adminToken], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function run(api: string, path: string, json: unknown): Promise<ApiBody> {
  const a = await call({ url: api }, 'POST', `/api/v1/repositories/app${path}`, { token: adminToken, json });
  expect(a.status).toBe(202);
  return (await settled({ url: api }, adminToken, a.body.task)).body;
}

/** A metadata file as clients read it from the bucket; undefined when the bucket has none. */
async function fromBucket(name: string): Promise<string | undefined> {
  const res = await fetch(`${fx.tree('app').metadataUrl}${name}`);
  if (res.status === 200) return res.text();
  expect([403, 404]).toContain(res.status); // anonymous reads of an absent key: 404, or 403 on some gateways
  return undefined;
}

async function stagedText(api: string): Promise<string> {
  const r = await call({ url: api }, 'GET', '/api/v1/repositories/app/root/staged', { token: adminToken });
  expect(r.status).toBe(200);
  return r.body.staged;
}

/** A holder's detached signature over `staged`, made offline with root key file `n`. */
async function offlineSignature(staged: string, n: number): Promise<string> {
  const md = Metadata.fromBytes(Buffer.from(staged), 'root');
  const current = Metadata.fromBytes(await readFile(trusted), 'root');
  const file = rootKeyFiles[n];
  return detachedBytes(await signStagedWithKey(md, current.signed, await readFile(file, 'utf8'), file));
}

function keyidOf(sig: string): string {
  return (JSON.parse(sig) as { keyid: string }).keyid;
}

/** What clients can see of the repository: every metadata file a refused change must leave alone. */
async function published(): Promise<Array<string | undefined>> {
  return Promise.all(['timestamp.json', '1.root.json', '2.root.json'].map(fromBucket));
}

describe('root changes through the service on S3 storage', () => {
  it('stages a 2-of-3 rotation in the database; holders sign through other processes; refusals change nothing; root 2 reaches the bucket', async () => {
    const root1 = JSON.parse(await readFile(trusted, 'utf8')) as {
      signed: { roles: { timestamp: { keyids: string[] } } };
    };
    // Rotate the timestamp key: only root 2 trusts the new key, so a client that accepts the new
    // timestamp has accepted root 2.
    const newKey = await (await KeyDirectory.open(serviceKeys)).generate('timestamp', 'ed25519');
    const rotated = await run(apis[0], '/root/rotations', {
      role: 'timestamp',
      addKeys: [JSON.stringify(newKey.publicKey)],
      removeKeys: root1.signed.roles.timestamp.keyids,
    });
    expect(rotated).toMatchObject({
      state: 'succeeded',
      result: { published: false, staged: { version: 2, ready: false } },
    });
    // Staged in the database: the other API sees it, and the worker's directory holds nothing of it.
    const first = await stagedText(apis[1]);
    expect(await exists(join(workers[0].data, 'work', 's3', 'app', 'staged', 'root.json'))).toBe(false);
    const rows = await adminSql('SELECT repository FROM staged_roots', iso.databaseUrl);
    expect(rows).toEqual([{ repository: 'app' }]);
    const before = await published();
    expect(before[2]).toBeUndefined();

    // A signature that does not verify fails its task and changes nothing.
    const bad = JSON.parse(await offlineSignature(first, 0)) as { sig: string };
    bad.sig = bad.sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await run(apis[1], '/root/signatures', { signature: JSON.stringify(bad) })).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/does not verify/) as unknown,
    });

    // A signature over a staged root that was replaced since (the renewal accumulates into root 2).
    const stale = await offlineSignature(first, 0);
    const renewed = await run(apis[0], '/root/rotations', { role: 'root', expiresDays: 400 });
    expect(renewed).toMatchObject({ state: 'succeeded', result: { staged: { version: 2, ready: false } } });
    const staged = await stagedText(apis[1]);
    expect(staged).not.toBe(first);
    expect(await run(apis[1], '/root/signatures', { signature: stale })).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/not for the staged root/) as unknown,
    });
    // The new root lifetime went to the settings in the database, where every worker reads them.
    const [settings] = await adminSql("SELECT settings FROM repositories WHERE name = 'app'", iso.databaseUrl);
    expect(JSON.parse(settings.settings as string)).toMatchObject({ expiresDays: { root: 400 } });

    // Holder 1 signs through API 2: accepted, below the threshold: root 1 stays, nothing published.
    const one = await cli(apis[1], 'sign', 'app', 'root', '--key', rootKeyFiles[0], '--root', trusted);
    expect([one.code, one.out]).toEqual([0, expect.stringMatching(/^signature accepted; the staged root waits/)]);
    expect(await published()).toEqual(before);
    expect((await ourClient(fx.tree('app'), repo.trustedRoot, [])).rootVersion).toBe(1);

    // The worker that staged the root and took the first signature is gone; a fresh one (empty disk) takes over.
    await killNine(workers[0].child);
    await startWorker();
    const two = await cli(apis[0], 'sign', 'app', 'root', '--key', rootKeyFiles[2], '--root', trusted);
    expect([two.code, two.out]).toEqual([0, expect.stringMatching(/^published root version 2/)]);

    const root2 = JSON.parse((await fromBucket('2.root.json'))!) as {
      signed: { expires: string };
      signatures: Array<{ keyid: string }>;
    };
    expect(root2.signatures.map((s) => s.keyid).sort()).toEqual(
      [keyidOf(await offlineSignature(staged, 0)), keyidOf(await offlineSignature(staged, 2))].sort(),
    );
    expect((await ourClient(fx.tree('app'), repo.trustedRoot, [])).rootVersion).toBe(2);
    await expect(tufJsClient(fx.tree('app'), repo.trustedRoot, [])).resolves.toBeDefined();
    const timestamp = JSON.parse((await fromBucket('timestamp.json'))!) as { signatures: Array<{ keyid: string }> };
    expect(timestamp.signatures.map((s) => s.keyid)).toEqual([newKey.keyid]);
    // Published: the staged root is discarded, for every process.
    expect(
      (await call({ url: apis[1] }, 'GET', '/api/v1/repositories/app/root/staged', { token: adminToken })).status,
    ).toBe(404);
    expect(await adminSql('SELECT * FROM staged_root_signatures', iso.databaseUrl)).toEqual([]);
  }, 240_000);

  it('two holders signing at once through two APIs and two workers lose no signature', async () => {
    await startWorker(); // two workers now
    const renewed = await run(apis[1], '/root/rotations', { role: 'root', expiresDays: 300 });
    expect(renewed).toMatchObject({ state: 'succeeded', result: { staged: { version: 3, ready: false } } });
    // The holders now trust root 2 (as they checked it when it was published).
    trusted = join(work, '2.root.json');
    await writeFile(trusted, (await fromBucket('2.root.json'))!);
    // Both signatures are needed (2 of 3): root 3 is published only if neither was lost.
    const [a, b] = await Promise.all([
      cli(apis[0], 'sign', 'app', 'root', '--key', rootKeyFiles[0], '--root', trusted),
      cli(apis[1], 'sign', 'app', 'root', '--key', rootKeyFiles[1], '--root', trusted),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.out, b.out].map((o) => o.split(/[;(]/)[0].trim()).sort()).toEqual([
      'published root version 3',
      'signature accepted',
    ]);
    const root3 = JSON.parse((await fromBucket('3.root.json'))!) as { signatures: Array<{ keyid: string }> };
    expect(root3.signatures).toHaveLength(2);
    expect((await ourClient(fx.tree('app'), repo.trustedRoot, [])).rootVersion).toBe(3);
    await expect(tufJsClient(fx.tree('app'), repo.trustedRoot, [])).resolves.toBeDefined();
  }, 240_000);

  it('server gc deletes old channel index objects and unused uploads from the bucket, nothing clients need', async () => {
    const keys = async (under: string): Promise<string[]> => {
      const page = await fx.client.send(
        new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: `${fx.prefix}/${under}` }),
      );
      return (page.Contents ?? []).map((o) => o.Key!.slice(fx.prefix.length + 1 + under.length)).sort();
    };
    const abandoned = installerBytes('s3-never-released', 3000);
    expect((await upload({ url: apis[0] }, adminToken, 'app', abandoned)).status).toBe(200);
    const released: Buffer[] = [];
    for (const version of ['1.0.0', '1.1.0']) {
      const bytes = installerBytes(`s3-gc-${version}`, 4000);
      released.push(bytes);
      const a = await addRelease({ url: apis[1] }, adminToken, 'app', {
        version,
        files: { [`App-${version}.zip`]: bytes },
      });
      expect(a.status).toBe(202);
      expect((await settled({ url: apis[1] }, adminToken, a.body.task)).body.state).toBe('succeeded');
    }
    expect(await keys('uploads/app/')).toEqual([sha256(abandoned), ...released.map(sha256)].sort());
    const indexesBefore = await keys('repositories/app/targets/channels/stable/');
    expect(indexesBefore).toHaveLength(4); // two versions of the index, each under its sha256 and sha512 names

    const data = await tempDir('etuf-s3root-gc-');
    const gc = await children.run(
      [SERVER_CLI, 'gc', ...common(data), '--repository', 'app', '--keep-snapshots', '1', '--upload-grace-days', '0'],
      env(),
    );
    expect([gc.code, gc.stderr]).toEqual([0, expect.any(String)]);
    const report = JSON.parse(gc.stdout.trim()) as { uploads: string[]; targets: string[] };
    expect(report.uploads).toEqual([sha256(abandoned)]);
    // The used uploads stay (a staging change materializes them again); the abandoned one is gone.
    expect(await keys('uploads/app/')).toEqual(released.map(sha256).sort());
    // The index the current targets names stays under both names; the older one went.
    const current = JSON.parse((await fromBucket(`${await currentTargetsVersion()}.targets.json`))!) as {
      signed: { targets: Record<string, { hashes: Record<string, string> }> };
    };
    const named = Object.values(current.signed.targets['channels/stable/linux-x64.json'].hashes).map(
      (h) => `${h}.linux-x64.json`,
    );
    expect(await keys('repositories/app/targets/channels/stable/')).toEqual(named.sort());
    expect(report.targets.map((t) => t.replace('channels/stable/', '')).sort()).toEqual(
      indexesBefore.filter((k) => !named.includes(k)),
    );
    // A client from the first root still refreshes from the bucket and gets the index and the newest release.
    const paths = ['channels/stable/linux-x64.json', '1.1.0/App-1.1.0.zip'];
    const view = await ourClient(fx.tree('app'), repo.trustedRoot, paths);
    expect(sha256(view.files.get(paths[1])!)).toBe(sha256(released[1]));
    expect(view.files.get(paths[0])).toBeDefined();
    await expect(tufJsClient(fx.tree('app'), repo.trustedRoot, paths)).resolves.toBeDefined();
  }, 240_000);
});

/** The targets version the bucket's current snapshot names. */
async function currentTargetsVersion(): Promise<number> {
  const ts = JSON.parse((await fromBucket('timestamp.json'))!) as {
    signed: { meta: Record<string, { version: number }> };
  };
  const snapshot = JSON.parse((await fromBucket(`${ts.signed.meta['snapshot.json'].version}.snapshot.json`))!) as {
    signed: { meta: Record<string, { version: number }> };
  };
  return snapshot.signed.meta['targets.json'].version;
}
