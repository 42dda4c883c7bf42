/**
 * The staged root and its detached signatures (publisher/staged-root.ts): a signature that does
 * not verify is reported as invalid, but trouble reading one is an error of its own, never
 * passed off as "invalid signature" (issue 9).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { KeyDirectory, repositoryStatus, rotateKeys } from '../../publisher/index.js';
import { rm } from 'node:fs/promises';
import { cleanupTemp, makeRepo, type TestRepo } from './helpers.js';

afterAll(cleanupTemp);

let r: TestRepo;
let sigs: string;

beforeEach(async () => {
  r = await makeRepo({ rootKeys: 3, rootThreshold: 2 });
  // Only one root key at hand: the new root stays staged with one signature.
  const dir = await KeyDirectory.open(r.keys);
  for (const entry of dir.list('root').slice(1)) await rm(join(r.keys, entry.file));
  const result = await rotateKeys({ repo: r.repo, keys: r.keys, env: {}, role: 'root', expiresDays: 200 });
  expect(result.staged?.ready).toBe(false);
  sigs = join(r.repo, 'staged', 'root.sigs');
  expect((await readdir(sigs)).length).toBe(1);
});

it('reports a detached signature that does not verify as invalid', async () => {
  const forged = { role: 'root', version: 2, keyid: 'ab'.repeat(32), sig: '00', signed_sha256: '00'.repeat(32) };
  await writeFile(join(sigs, 'forged.json'), JSON.stringify(forged));
  const status = await repositoryStatus({ repo: r.repo });
  expect(status.invalidSignatures).toEqual([join(sigs, 'forged.json')]);
  expect(status.staged[0].current.signedBy.length).toBe(1);
});

it('fails with the read error when a signature file cannot be read, instead of calling it invalid', async () => {
  await mkdir(join(sigs, 'unreadable.json')); // not a regular file: the read fails
  await expect(repositoryStatus({ repo: r.repo })).rejects.toThrow(
    new RegExp(
      `^cannot read ${join(sigs, 'unreadable.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*not a regular file`,
    ),
  );
});
