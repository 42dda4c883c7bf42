/**
 * Loading the published repository (publisher/repository.ts) trusts the storage no more than a
 * client does (issue 11, finding 1). The attacker can write the storage (the bucket the refresh
 * job syncs from) but holds no key: every test starts with their steps.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { addRelease, KeyDirectory, refreshRepository, rotateKeys, verifyRepository } from '../../publisher/index.js';
import { readKeyFile, signerFromPem } from '../../publisher/keystore.js';
import { Metadata, MetaFile, Timestamp } from '../../updater/core/metadata.js';
import { runRepoCommand } from '../../publisher/cli/repo-commands.js';
import { cleanupTemp, makeRepo, treeDigest, writeInstaller, type TestRepo } from './helpers.js';
import { parseDoc, type MetadataDoc } from '../helpers/metadata-doc.js';

afterAll(cleanupTemp);

let r: TestRepo;
const base = { platform: 'linux', arch: 'x64', env: {} };

async function add(version: string): Promise<void> {
  const file = await writeInstaller(r.dir, `app-${version}.tar.gz`, 2000);
  await addRelease({ repo: r.repo, keys: r.keys, files: [file], version, ...base });
}

const metadata = (name: string): string => join(r.repo, 'metadata', name);
const readJson = async (name: string): Promise<MetadataDoc> => parseDoc(await readFile(metadata(name), 'utf8'));

beforeEach(async () => {
  r = await makeRepo();
  for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) await add(v); // targets is now version 5
});

/**
 * The attack of the finding: a new timestamp.json and N.snapshot.json, signed by nobody (the old
 * signatures kept), pointing targets back to its genuine version 2.
 */
async function forgeRollbackToTargets2(): Promise<void> {
  const ts = await readJson('timestamp.json');
  const snapshot = await readJson(`${ts.signed.meta['snapshot.json'].version}.snapshot.json`);
  const oldTargets = await readFile(metadata('2.targets.json'));
  snapshot.signed.version += 1;
  snapshot.signed.meta['targets.json'] = {
    version: 2,
    length: oldTargets.length,
    hashes: { sha256: createHash('sha256').update(oldTargets).digest('hex') },
  };
  const snapshotBytes = Buffer.from(JSON.stringify(snapshot, null, 1));
  await writeFile(metadata(`${snapshot.signed.version}.snapshot.json`), snapshotBytes);
  ts.signed.version += 1;
  ts.signed.meta['snapshot.json'] = {
    version: snapshot.signed.version,
    length: snapshotBytes.length,
    hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') },
  };
  await writeFile(metadata('timestamp.json'), JSON.stringify(ts, null, 1));
}

it('refresh refuses a forged, unsigned timestamp and snapshot rolling targets back, and changes nothing', async () => {
  await forgeRollbackToTargets2();
  const forged = await treeDigest(r.repo);

  await expect(refreshRepository({ repo: r.repo, keys: r.keys, env: {}, force: true })).rejects.toThrow(
    /^timestamp\.json is not signed by the timestamp keys of root 1/,
  );
  expect(await treeDigest(r.repo)).toEqual(forged);
  // Nor does the next release build on it.
  const file = await writeInstaller(r.dir, 'app-2.0.0.tar.gz', 2000);
  await expect(addRelease({ repo: r.repo, keys: r.keys, files: [file], version: '2.0.0', ...base })).rejects.toThrow(
    /timestamp\.json is not signed/,
  );
  expect(await treeDigest(r.repo)).toEqual(forged);

  // repo verify reports it and exits non-zero.
  expect((await verifyRepository({ repo: r.repo })).ok).toBe(false);
  const out: string[] = [];
  const code = await runRepoCommand(['verify', r.repo], {
    stdout: (l) => void out.push(l),
    stderr: (l) => void out.push(l),
    env: {},
    cwd: r.dir,
  });
  expect(code).toBe(1);
  expect(out.join('\n')).toMatch(/problem: timestamp\.json: .*signed/);
});

it('refuses a genuine old timestamp replayed over a newer one, with or without its own record', async () => {
  const oldTimestamp = await readFile(metadata('timestamp.json'));
  await add('1.4.0');
  await add('1.5.0');
  await writeFile(metadata('timestamp.json'), oldTimestamp); // signed, but two publishes old
  const replayed = await treeDigest(r.repo);

  // With the publisher's record of what it published: a rollback (5.4.3).
  await expect(refreshRepository({ repo: r.repo, keys: r.keys, env: {}, force: true })).rejects.toThrow(
    /^timestamp\.json: version \d+ is below version \d+, which this publisher published: a rollback$/,
  );
  expect(await treeDigest(r.repo)).toEqual(replayed);

  // A fresh checkout without the record trusts the signed chain as a new install would, but
  // never writes a different file under a version that is already published.
  await rm(join(r.repo, 'electron-tuf.state.json'));
  await expect(refreshRepository({ repo: r.repo, keys: r.keys, env: {}, force: true })).rejects.toThrow(
    /\.snapshot\.json is already published with other content; refusing to publish a second file under its version/,
  );
});

it('a fresh checkout without the record loads and publishes, and records what it published', async () => {
  await rm(join(r.repo, 'electron-tuf.state.json'));
  await add('2.0.0');
  const record = JSON.parse(await readFile(join(r.repo, 'electron-tuf.state.json'), 'utf8')) as {
    timestamp?: unknown;
    pending?: unknown;
  };
  const ts = await readFile(metadata('timestamp.json'));
  expect(record.timestamp).toEqual({
    version: parseDoc(ts).signed.version,
    sha256: createHash('sha256').update(ts).digest('hex'),
  });
  expect(record.pending).toBeUndefined();
  expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);
});

it('refuses a root file replaced under the version it trusted', async () => {
  const root = await readJson('1.root.json');
  root.signed.expires = '2099-01-01T00:00:00Z'; // the signature no longer covers it
  await writeFile(metadata('1.root.json'), JSON.stringify(root, null, 1));
  await expect(refreshRepository({ repo: r.repo, keys: r.keys, env: {}, force: true })).rejects.toThrow(
    /^1\.root\.json: /,
  );
});

it('refuses a timestamp signed with a rotated-out key (the reason for the rotation may be its theft)', async () => {
  const dir = await KeyDirectory.open(r.keys);
  const oldKey = dir.list('timestamp')[0];
  const oldPem = (await readKeyFile(join(r.keys, oldKey.file), false))!;
  const oldSnapshotMeta = (await readJson('timestamp.json')).signed.meta['snapshot.json'];
  await rotateKeys({ repo: r.repo, keys: r.keys, env: {}, role: 'timestamp', generate: 1, removeKeys: [oldKey.keyid] });
  const ts = await readJson('timestamp.json');
  expect(ts.signatures.map((s) => s.keyid)).not.toContain(oldKey.keyid);

  // The thief of the old key points a fresh-looking timestamp at an older, genuine snapshot.
  const forged = new Metadata(
    new Timestamp(
      { version: ts.signed.version + 1, expires: ts.signed.expires },
      new MetaFile(oldSnapshotMeta.version, oldSnapshotMeta.length, oldSnapshotMeta.hashes),
    ),
  );
  await forged.sign(signerFromPem(oldPem, oldKey.publicKey, 'old timestamp key'));
  await writeFile(metadata('timestamp.json'), forged.toBytes());
  const before = await treeDigest(r.repo);
  await rm(join(r.repo, 'electron-tuf.state.json')); // even without the record
  await expect(refreshRepository({ repo: r.repo, keys: r.keys, env: {}, force: true })).rejects.toThrow(
    /^timestamp\.json is not signed by the timestamp keys of root 2/,
  );
  expect(await treeDigest(r.repo)).toEqual(new Map([...before].filter(([k]) => k !== 'electron-tuf.state.json')));
});
