/**
 * Release-level edits (publisher/release-edits.ts): a release keeps one installer per kind
 * (issue 10: a second `MyApp-1.1.0.tar.gz` added to 1.2.0 made clients install the stale first
 * one); `--replace` is the deliberate way; staging changes without re-uploading.
 */
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readPublishedIndex } from '../../publisher/channel-indexes.js';
import { StorageError } from '../../updater/core/errors.js';
import type { TargetFile } from '../../updater/core/metadata.js';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import {
  addRelease,
  CHUNK_MAP_MIN_BYTES,
  DiskStorage,
  editRepository,
  verifyRepository,
} from '../../publisher/index.js';
import { runRepoCommand } from '../../publisher/cli/repo-commands.js';
import { targetFilePath, repositoryPaths } from '../../publisher/layout.js';
import { parseChannelIndex } from '../../updater/release/index.js';
import { cleanupTemp, makeRepo, treeDigest, writeInstaller, type TestRepo } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

afterAll(cleanupTemp);

let r: TestRepo;
const base = { version: '1.2.0', platform: 'linux', arch: 'x64', env: {} };

beforeEach(async () => {
  r = await makeRepo();
  // Large enough for a chunk map: a replaced installer must take its map along.
  const first = await writeInstaller(r.dir, 'MyApp-1.0.0.tar.gz', CHUNK_MAP_MIN_BYTES);
  await addRelease({ repo: r.repo, keys: r.keys, files: [first], ...base });
});

async function published() {
  const result = await verifyRepository({ repo: r.repo });
  expect(result.problems).toEqual([]);
  const ts = parseDoc(await readFile(join(r.repo, 'metadata', 'timestamp.json'), 'utf8')).signed;
  const snap = parseDoc(
    await readFile(join(r.repo, 'metadata', `${ts.meta['snapshot.json'].version}.snapshot.json`), 'utf8'),
  ).signed;
  const targets = parseDoc(
    await readFile(join(r.repo, 'metadata', `${snap.meta['targets.json'].version}.targets.json`), 'utf8'),
  ).signed.targets;
  const info = targets['channels/stable/linux-x64.json'];
  const index = parseChannelIndex(
    await readFile(targetFilePath(repositoryPaths(r.repo), 'channels/stable/linux-x64.json', info.hashes.sha256)),
  );
  return { paths: Object.keys(targets).sort(), index };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRepoCommand(args, {
    stdout: (l) => void out.push(l),
    stderr: (l) => void err.push(l),
    env: {},
    cwd: r.dir,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

it('refuses a second installer of the same kind for a published release, and changes nothing', async () => {
  const second = await writeInstaller(r.dir, 'MyApp-1.1.0.tar.gz', 3000, 'other bytes');
  const digest = await treeDigest(r.repo);
  const run = await cli([
    'add',
    r.repo,
    second,
    '--version',
    '1.2.0',
    '--platform',
    'linux',
    '--arch',
    'x64',
    '--keys',
    r.keys,
  ]);
  expect(run.code).toBe(1);
  expect(run.err).toBe(
    'error: 1.2.0 (stable linux-x64) already has a tar.gz installer, 1.2.0/MyApp-1.0.0.tar.gz; pass --replace to publish this one instead',
  );
  expect(await treeDigest(r.repo)).toEqual(digest);
});

it("--replace publishes the new installer in the old one's place, with a warning about the named version", async () => {
  const second = await writeInstaller(r.dir, 'MyApp-1.1.0.tar.gz', CHUNK_MAP_MIN_BYTES, 'other bytes');
  const run = await cli([
    'add',
    r.repo,
    second,
    '--version',
    '1.2.0',
    '--platform',
    'linux',
    '--arch',
    'x64',
    '--keys',
    r.keys,
    '--replace',
  ]);
  expect([run.code, run.err]).toEqual([
    0,
    'warning: MyApp-1.1.0.tar.gz names version 1.1.0, but it is published as 1.2.0',
  ]);
  expect(run.out).toMatch(/removed\s+1\.2\.0\/MyApp-1\.0\.0\.tar\.gz/);
  const { paths, index } = await published();
  expect(paths).toEqual([
    '1.2.0/MyApp-1.1.0.tar.gz',
    '1.2.0/MyApp-1.1.0.tar.gz.chunks.json', // the replaced installer's map went with it
    'channels/stable/linux-x64.json',
  ]);
  expect(index.releases.map((rel) => [rel.version, rel.installers.map((i) => i.target)])).toEqual([
    ['1.2.0', ['1.2.0/MyApp-1.1.0.tar.gz']],
  ]);
});

it('adds another kind to the release without --replace', async () => {
  const image = await writeInstaller(r.dir, 'MyApp-1.2.0.AppImage', 3000);
  await addRelease({ repo: r.repo, keys: r.keys, files: [image], ...base });
  const { index } = await published();
  expect(index.releases[0].installers.map((i) => i.kind).sort()).toEqual(['AppImage', 'tar.gz']);
});

it('changes the staged rollout of a published release in its installers and its index', async () => {
  await editRepository({ repo: r.repo, keys: r.keys, env: {} }, (edit) => edit.setStaging('1.2.0', 25));
  const { index } = await published();
  expect(index.releases[0].stagingPercentage).toBe(25);
  await editRepository({ repo: r.repo, keys: r.keys, env: {} }, (edit) => edit.setStaging('1.2.0', 100));
  expect((await published()).index.releases[0].stagingPercentage).toBeUndefined();
});

it('rebuilds a damaged published channel index from the signed targets, but reports a failing disk', async () => {
  const { index } = await published();
  const ts = parseDoc(await readFile(join(r.repo, 'metadata', 'timestamp.json'), 'utf8')).signed;
  const snap = parseDoc(
    await readFile(join(r.repo, 'metadata', `${ts.meta['snapshot.json'].version}.snapshot.json`), 'utf8'),
  ).signed;
  const targets = parseDoc(
    await readFile(join(r.repo, 'metadata', `${snap.meta['targets.json'].version}.targets.json`), 'utf8'),
  ).signed.targets;
  const entry = targets['channels/stable/linux-x64.json'];
  const info = { path: 'channels/stable/linux-x64.json', length: entry.length, hashes: entry.hashes } as TargetFile;
  const file = targetFilePath(repositoryPaths(r.repo), info.path, entry.hashes.sha256);

  expect(await readPublishedIndex(new DiskStorage(repositoryPaths(r.repo)), info)).toEqual(index);
  await writeFile(file, 'damaged');
  expect(await readPublishedIndex(new DiskStorage(repositoryPaths(r.repo)), info)).toBeUndefined(); // rebuilt by the caller
  await rm(file);
  await symlink(file, file); // ELOOP: the disk fails, which a rebuild would hide
  await expect(readPublishedIndex(new DiskStorage(repositoryPaths(r.repo)), info)).rejects.toThrow(StorageError);
});
