/**
 * Hashed bins at scale: 100,000 targets in 256 bins. Adding one installer rewrites its bin,
 * top-level targets (which holds only the small channel indexes), snapshot and timestamp; the
 * bytes rewritten do not grow with the number of targets in other bins. Clients fetch only the
 * bins they need.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SuccinctRoles } from '../../updater/core/delegations.js';
import { Updater } from '../../updater/client/updater.js';
import { addRelease, addTargets, serveRepository, type TargetEntry } from '../../publisher/index.js';
import { cleanupTemp, makeRepo, tempDir, tufJsClient, writeInstaller, type TestRepo } from './helpers.js';

const TARGETS = 100_000;
const BINS = 256;
let r: TestRepo;

function syntheticTargets(count: number, from = 0): TargetEntry[] {
  const out: TargetEntry[] = [];
  for (let i = from; i < from + count; i++) {
    const sha256 = createHash('sha256').update(String(i)).digest('hex');
    out.push({ path: `0.0.${i}/app-${i}.tar.gz`, length: 1000 + i, hashes: { sha256, sha512: sha256 + sha256 } });
  }
  return out;
}

beforeAll(async () => {
  r = await makeRepo({ bins: BINS });
  const imported = await addTargets({ repo: r.repo, keys: r.keys, env: {}, targets: syntheticTargets(TARGETS) });
  expect(imported.added).toBe(TARGETS);
  // The import rewrote every bin once; top-level targets (no targets of its own) stayed as it was.
  expect(imported.publish!.files.filter((f) => f.name.includes('.bins-'))).toHaveLength(BINS);
}, 120_000);
afterAll(cleanupTemp);

it('adding one installer to 100,000 targets in 256 bins rewrites one bin, targets, snapshot and timestamp', async () => {
  const file = await writeInstaller(r.dir, 'app-9.0.0.tar.gz', 10_000);
  const result = await addRelease({
    repo: r.repo,
    keys: r.keys,
    env: {},
    files: [file],
    version: '9.0.0',
    platform: 'linux',
    arch: 'x64',
    chunkMap: false, // its map would land in another bin; this is about the installer's
  });
  const bin = new SuccinctRoles([], 1, 8, 'bins').getRoleForTarget('9.0.0/app-9.0.0.tar.gz');
  expect(result.targets[0].role).toBe(bin);
  expect(result.publish!.files.map((f) => f.name)).toEqual([
    `3.${bin}.json`,
    '2.targets.json',
    '3.snapshot.json',
    'timestamp.json',
  ]);
  // One bin holds about 100,000 / 256 = 390 entries; the rest is small and independent of them.
  const binBytes = result.publish!.files[0].bytes;
  const others = result.publish!.metadataBytes - binBytes;
  expect(binBytes).toBeLessThan(200_000);
  expect(others).toBeLessThan(60_000);

  // A client needs targets and that one bin, never the other 255.
  const server = await serveRepository({ repo: r.repo });
  try {
    const dir = await tempDir('etuf-app-');
    const fetched: string[] = [];
    const updater = new Updater({
      metadataDir: join(dir, 'metadata'),
      metadataBaseUrl: server.metadataUrl,
      targetDir: join(dir, 'targets'),
      targetBaseUrl: server.targetsUrl,
      bootstrapRoot: r.trustedRoot,
      trace: (e) => e.type === 'fetch' && fetched.push(e.url),
    });
    const channelInfo = await updater.getTargetInfo('channels/stable/linux-x64.json');
    expect(channelInfo).toBeDefined();
    expect(fetched.some((u) => u.includes('bins-'))).toBe(false);
    const info = await updater.getTargetInfo('9.0.0/app-9.0.0.tar.gz');
    expect(await readFile(await updater.downloadTarget(info!))).toEqual(await readFile(file));
    expect(fetched.filter((u) => u.includes('bins-'))).toEqual([`${server.metadataUrl}/3.${bin}.json`]);

    expect((await updater.getTargetInfo('0.0.77/app-77.tar.gz'))?.length).toBe(1077);
    const peer = await tufJsClient(server, r.trustedRoot, ['9.0.0/app-9.0.0.tar.gz']);
    expect(peer.files.get('9.0.0/app-9.0.0.tar.gz')).toEqual(await readFile(file));
  } finally {
    await server.close();
  }
}, 120_000);

it('adding one installer target outside any channel rewrites exactly its bin, snapshot and timestamp', async () => {
  const [entry] = syntheticTargets(1, TARGETS + 1);
  const result = await addTargets({ repo: r.repo, keys: r.keys, env: {}, targets: [entry] });
  const bin = new SuccinctRoles([], 1, 8, 'bins').getRoleForTarget(entry.path);
  const names = result.publish!.files.map((f) => f.name);
  expect(names).toHaveLength(3);
  expect(names[0]).toMatch(new RegExp(`^\\d+\\.${bin}\\.json$`));
  expect(names.slice(1)).toEqual([expect.stringMatching(/^\d+\.snapshot\.json$/), 'timestamp.json']);
}, 120_000);
