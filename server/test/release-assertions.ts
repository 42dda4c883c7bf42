/**
 * Assertions on releases added through the API (vitest's expect): kept apart from helpers.ts,
 * which the service bench (server/bench/publish.ts) imports outside vitest.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { ourClient, type TestRepo } from '../../test/publisher/helpers.js';
import { addRelease, installerBytes, sha256 } from './helpers.js';

/**
 * Adds one release per version (`App-<version>.zip`, bytes seeded with `seed` and the version),
 * one after the other; each must be accepted (202). Returns the bytes and the task ids, in order.
 */
export async function addReleases(
  server: { url: string },
  token: string,
  versions: string[],
  seed: string,
): Promise<{ files: Buffer[]; tasks: string[] }> {
  const files = versions.map((v) => installerBytes(`${seed}-${v}`));
  const tasks: string[] = [];
  for (const [i, v] of versions.entries()) {
    const a = await addRelease(server, token, 'app', { version: v, files: { [`App-${v}.zip`]: files[i] } });
    expect(a.status).toBe(202);
    tasks.push(a.body.task);
  }
  return { files, tasks };
}

/**
 * Repository `app` as `server` serves it from `data` holds every release `versions[i]` (its
 * `App-<version>.zip` with `files[i]`): the tree verifies and our client downloads each one.
 */
export async function expectServed(
  server: { url: string },
  data: string,
  repo: TestRepo,
  versions: string[],
  files: Buffer[],
): Promise<void> {
  expect((await verifyRepository({ repo: join(data, 'repositories', 'app') })).problems).toEqual([]);
  const paths = versions.map((v) => `${v}/App-${v}.zip`);
  const view = await ourClient(
    { metadataUrl: `${server.url}/repositories/app/metadata/`, targetsUrl: `${server.url}/repositories/app/targets/` },
    repo.trustedRoot,
    paths,
  );
  expect(paths.map((p, i) => sha256(view.files.get(p)!) === sha256(files[i]))).toEqual(paths.map(() => true));
}
