/**
 * The one publish transaction (publisher/transaction.ts): group commit (many edits, one new
 * version of each affected role), nothing written when an edit or a signature fails, and a
 * versioned file never published twice with different content.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import {
  addRelease,
  addReleases,
  editRepository,
  hashAndCopy,
  validateReleaseInput,
  verifyRepository,
} from '../../publisher/index.js';
import { repositoryPaths } from '../../publisher/layout.js';
import type { Signer } from '../../updater/core/keys.js';
import { cleanupTemp, makeRepo, treeDigest, writeInstaller, type TestRepo } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

afterAll(cleanupTemp);

let r: TestRepo;
const base = { platform: 'linux', arch: 'x64' };

beforeEach(async () => {
  r = await makeRepo({ bins: 16 });
  const first = await writeInstaller(r.dir, 'app-1.0.0.tar.gz', 3000);
  await addRelease({ repo: r.repo, keys: r.keys, env: {}, files: [first], version: '1.0.0', ...base });
});

async function signed(file: string): Promise<{ version: number; meta?: Record<string, { version: number }> }> {
  const doc = parseDoc(await readFile(join(r.repo, 'metadata', file), 'utf8'));
  return doc.signed;
}

/** Hashes and copies an installer the way addRelease does before taking the lock. */
async function incoming(name: string, version: string) {
  const file = await writeInstaller(r.dir, name, 2000, name);
  const input = validateReleaseInput({ files: [file], version, ...base });
  return { input, staged: [await hashAndCopy(repositoryPaths(r.repo), file)] };
}

it('group-commits several releases and targets: one new version of each affected role', async () => {
  const before = await signed('timestamp.json');
  const snapshotBefore = await signed(`${before.meta!['snapshot.json'].version}.snapshot.json`);
  const a = await incoming('app-1.1.0.tar.gz', '1.1.0');
  const b = await incoming('app-1.2.0.tar.gz', '1.2.0');

  const { value, publish } = await editRepository({ repo: r.repo, keys: r.keys, env: {} }, async (edit) => {
    await edit.addRelease(a.input, a.staged);
    await edit.addRelease(b.input, b.staged);
    await edit.addTargets(
      [{ path: 'docs/notes.txt', length: 5, hashes: { sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) } }],
      new Map(),
    );
    return edit.targets.changed.size;
  });

  const after = await signed('timestamp.json');
  expect(after.version).toBe(before.version + 1);
  const snapshot = await signed(`${after.meta!['snapshot.json'].version}.snapshot.json`);
  expect(snapshot.version).toBe(snapshotBefore.version + 1);
  // Every role the edits touched went up by exactly one, however many edits touched it.
  const bumped = Object.entries(snapshot.meta!).filter(([name, m]) => m.version !== snapshotBefore.meta![name].version);
  expect(bumped.length).toBe(value);
  for (const [name, m] of bumped) expect([name, m.version]).toEqual([name, snapshotBefore.meta![name].version + 1]);
  expect(bumped.map(([name]) => name)).toContain('targets.json'); // the channel index lives there
  // One file per bumped role, plus snapshot and timestamp.
  expect(publish!.files.length).toBe(bumped.length + 2);
  const verified = await verifyRepository({ repo: r.repo, checkTargetFiles: false });
  expect(verified.problems).toEqual([]);
  expect(verified.targetCount).toBe(5); // three installers (too small for chunk maps), the channel index, the notes
});

it('changes nothing when an edit fails after others succeeded', async () => {
  const digest = await treeDigest(r.repo);
  const a = await incoming('app-1.1.0.tar.gz', '1.1.0');
  await expect(
    editRepository({ repo: r.repo, keys: r.keys, env: {} }, async (edit) => {
      await edit.addRelease(a.input, a.staged);
      await edit.removeRelease('9.9.9'); // no such release
    }),
  ).rejects.toThrow('no release 9.9.9 in this repository');
  expect(await treeDigest(r.repo)).toEqual(digest);
});

it('changes nothing when signing fails midway (a KMS that refuses)', async () => {
  const root = parseDoc(await readFile(join(r.repo, 'metadata', '1.root.json'), 'utf8')).signed;
  const keyid: string = root.roles.timestamp.keyids[0];
  const refusing: Signer = {
    keyid,
    publicKey: root.keys[keyid],
    sign: () => Promise.reject(new Error('KMS: access denied')),
  };
  const digest = await treeDigest(r.repo);
  const file = await writeInstaller(r.dir, 'app-1.1.0.tar.gz', 2000);
  await expect(
    addRelease({
      repo: r.repo,
      keys: r.keys,
      env: {},
      signers: { timestamp: [refusing] },
      files: [file],
      version: '1.1.0',
      ...base,
    }),
  ).rejects.toThrow('KMS: access denied');
  expect(await treeDigest(r.repo)).toEqual(digest);
});

it('refuses to publish a second file under a version that exists with other bytes', async () => {
  const ts = await signed('timestamp.json');
  const next = `${ts.meta!['snapshot.json'].version + 1}.snapshot.json`;
  // Someone (another publisher, a bad sync) already put a different file under the next version.
  await writeFile(join(r.repo, 'metadata', next), '{"not": "ours"}');
  const file = await writeInstaller(r.dir, 'app-1.1.0.tar.gz', 2000);
  await expect(
    addRelease({ repo: r.repo, keys: r.keys, env: {}, files: [file], version: '1.1.0', ...base }),
  ).rejects.toThrow(
    `${next} is already published with other content; refusing to publish a second file under its version`,
  );
  expect((await signed('timestamp.json')).version).toBe(ts.version);
  expect(await readFile(join(r.repo, 'metadata', next), 'utf8')).toBe('{"not": "ours"}');
  // Refused again on retry: a refusal never makes the foreign file "ours to replace".
  await expect(
    addRelease({ repo: r.repo, keys: r.keys, env: {}, files: [file], version: '1.1.0', ...base }),
  ).rejects.toThrow('already published with other content');
  expect(await readFile(join(r.repo, 'metadata', next), 'utf8')).toBe('{"not": "ours"}');
});

it('an edit that changes nothing writes nothing', async () => {
  const digest = await treeDigest(r.repo);
  const { publish } = await editRepository({ repo: r.repo, keys: r.keys, env: {} }, async (edit) => {
    await edit.targets.get('1.0.0/app-1.0.0.tar.gz');
  });
  expect(publish).toBeUndefined();
  expect(await treeDigest(r.repo)).toEqual(digest);
});

it('addReleases publishes several releases (a build of two archs) as one transaction', async () => {
  const before = (await signed('timestamp.json')).version;
  const x64 = await writeInstaller(r.dir, 'app-2.0.0-x64.tar.gz', 2000);
  const arm = await writeInstaller(r.dir, 'app-2.0.0-arm64.tar.gz', 2000);
  const results = await addReleases({ repo: r.repo, keys: r.keys, env: {} }, [
    { files: [x64], version: '2.0.0', platform: 'linux', arch: 'x64' },
    { files: [arm], version: '2.0.0', platform: 'linux', arch: 'arm64' },
  ]);
  expect(results.map((x) => [x.arch, x.changed, x.publish?.timestampVersion])).toEqual([
    ['x64', true, before + 1],
    ['arm64', true, before + 1],
  ]);
  expect((await signed('timestamp.json')).version).toBe(before + 1);
  // All or nothing: a batch with one bad release publishes none of it.
  const digest = await treeDigest(r.repo);
  const next = await writeInstaller(r.dir, 'app-2.1.0.tar.gz', 2000);
  await expect(
    addReleases({ repo: r.repo, keys: r.keys, env: {} }, [
      { files: [next], version: '2.1.0', platform: 'linux', arch: 'x64' },
      { files: [next], version: '2.1.0', platform: 'win32', arch: 'x64' },
    ]),
  ).rejects.toThrow('app-2.1.0.tar.gz is a tar.gz installer, which does not install on win32');
  expect(await treeDigest(r.repo)).toEqual(digest);
});
