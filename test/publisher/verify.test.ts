/**
 * `repo verify` finds what a client would trip over: damaged or missing target files (under
 * either hash name), tampered metadata, broken links, expiry at a given time, channel indexes
 * that disagree with the installers' signed metadata.
 */
import { readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { addRelease, verifyRepository } from '../../publisher/index.js';
import { stageIndex } from '../../publisher/channel-indexes.js';
import { makeChannelRelease, makeIndex } from '../../publisher/release-entries.js';
import { editRepository } from '../../publisher/transaction.js';
import { cleanupTemp, cli, makeRepo, writeInstaller, type TestRepo } from './helpers.js';

afterAll(cleanupTemp);

const DAY = 86_400_000;
let r: TestRepo;
let installerFile: string;

beforeEach(async () => {
  r = await makeRepo({ bins: 4 });
  installerFile = await writeInstaller(r.dir, 'app-1.0.0.tar.gz', 5000);
  await addRelease({
    repo: r.repo,
    keys: r.keys,
    env: {},
    chunkMap: false, // chunk maps are verified in chunk-maps.test.ts
    files: [installerFile],
    version: '1.0.0',
    platform: 'linux',
    arch: 'x64',
  });
});

async function storedNames(): Promise<string[]> {
  return readdir(join(r.repo, 'targets', '1.0.0'));
}

it('passes a healthy repository and reports every expiry horizon', async () => {
  const result = await verifyRepository({ repo: r.repo });
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
  expect(result.horizons.map((h) => h.role)).toEqual([
    'root',
    'timestamp',
    'snapshot',
    'targets',
    'delegated (earliest: bins-0)',
  ]);
  expect(result.targetCount).toBe(2);
  expect(result.targetFilesChecked).toBe(2);
  // Two names for the installer (sha256 and sha512 prefixes), one inode.
  expect((await storedNames()).sort().map((n) => n.split('.')[0].length)).toEqual([128, 64]);
});

it('reports a damaged target file under the sha512 name a client like tuf-js may request', async () => {
  const name = (await storedNames()).find((n) => n.split('.')[0].length === 128)!;
  const path = join(r.repo, 'targets', '1.0.0', name);
  const bytes = await readFile(path);
  await unlink(path); // break the hard link first so the sha256 name stays intact
  bytes[100] ^= 1;
  await writeFile(path, bytes);
  const result = await verifyRepository({ repo: r.repo });
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([expect.stringMatching(/^1\.0\.0\/app-1\.0\.0\.tar\.gz: .*sha(256|512) mismatch/)]);
});

it('reports a missing target file', async () => {
  await rm(join(r.repo, 'targets', '1.0.0'), { recursive: true });
  const result = await verifyRepository({ repo: r.repo });
  expect(result.problems).toEqual([expect.stringMatching(/app-1\.0\.0\.tar\.gz: .* is missing/)]);
  expect((await verifyRepository({ repo: r.repo, checkTargetFiles: false })).ok).toBe(true);
});

it('reports a target file that cannot be read as what it is, not as missing', async () => {
  const name = (await storedNames()).find((n) => n.split('.')[0].length === 64)!;
  const path = join(r.repo, 'targets', '1.0.0', name);
  await unlink(path);
  await symlink(path, path); // ELOOP: the disk fails us; as root, EACCES cannot be made
  const result = await verifyRepository({ repo: r.repo });
  expect(result.problems).toEqual([expect.stringMatching(/app-1\.0\.0\.tar\.gz: .*ELOOP/)]);
});

it('reports tampered metadata: a changed byte breaks the hash link', async () => {
  const snapshot = join(r.repo, 'metadata', '2.snapshot.json');
  await writeFile(snapshot, (await readFile(snapshot, 'utf8')).replace('"version": 2', '"version": 3'));
  const result = await verifyRepository({ repo: r.repo });
  expect(result.ok).toBe(false);
  expect(result.problems.join()).toMatch(/2\.snapshot\.json: .*(length|sha256)/);
});

it('reports expiry at a given time', async () => {
  const at = new Date(Date.now() + 8 * DAY);
  const result = await verifyRepository({ repo: r.repo, at });
  expect(result.problems).toEqual(['timestamp.json: timestamp is expired']);
  expect((await verifyRepository({ repo: r.repo, at: new Date(Date.now() + 400 * DAY) })).problems).toEqual([
    'timestamp.json: the final root is expired',
  ]);
});

it('checks channel indexes against the installers they list', async () => {
  // Publish, properly signed, an index that offers the 1.0.0 installer as 1.0.1.
  const key = { channel: 'stable', platform: 'linux', arch: 'x64' } as const;
  const lying = makeIndex(key, [
    makeChannelRelease('1.0.1', { releaseDate: '2030-01-01T00:00:00Z' }, [
      { target: '1.0.0/app-1.0.0.tar.gz', kind: 'tar.gz' },
    ]),
  ]);
  await editRepository({ repo: r.repo, keys: r.keys, env: {} }, async (edit) => {
    const placed = await stageIndex(edit.targets, edit.state.paths, lying);
    edit.placeFile(placed!.path, placed!.file);
  });

  const result = await verifyRepository({ repo: r.repo });
  expect(result.problems).toEqual([
    'channels/stable/linux-x64.json: 1.0.1 lists 1.0.0/app-1.0.0.tar.gz, whose signed custom says 1.0.0 linux-x64 tar.gz',
  ]);
});

it('exits 1 from the CLI with the problems listed', async () => {
  await rm(join(r.repo, 'targets', '1.0.0'), { recursive: true });
  const { run, out, err } = cli(r.dir);
  expect(await run('repo', 'verify', r.repo)).toBe(1);
  expect(out.join('\n')).toMatch(/problem: 1\.0\.0\/app-1\.0\.0\.tar\.gz: .* is missing/);
  expect(out.at(-1)).toBe('FAILED: 1 problem(s).');
  const tomorrow = new Date(Date.now() + DAY).toISOString();
  expect(await run('repo', 'verify', r.repo, '--skip-target-files', '--at', tomorrow)).toBe(0);
  expect(await run('repo', 'verify', r.repo, '--at', 'yesterday')).toBe(1);
  expect(err.at(-1)).toMatch(/^error: --at: not a time/);
});
