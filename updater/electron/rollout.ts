/**
 * Staged rollouts. Each install draws a random id once and keeps it in its cache directory;
 * for each release it falls in bucket hash(id, version) mod 100, and takes the release only
 * when that bucket is below the release's stagingPercentage. The percentage comes from the
 * signed channel index, so a mirror cannot widen or narrow a rollout. Hashing the version in
 * means each rollout picks a different slice of installs, and raising the percentage of one
 * release only ever adds installs to it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { withLock, readFileBounded, writeFileAtomic } from '../node-io/index.js';
import type { ChannelIndex, ChannelRelease } from '../release/index.js';
import type { VerifyUpdateSupport } from './types.js';
import { updateInfoOf } from './update-info.js';

export const INSTALL_ID_FILE = 'install-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 0-99 for this install and release. */
export function stagingBucket(installId: string, version: string): number {
  const digest = createHash('sha256').update(`${installId}\n${version}`, 'utf8').digest();
  return digest.readUInt32BE(0) % 100;
}

/** Whether an install is in a release's rollout; no percentage means everyone. */
export function isStaged(installId: string, version: string, stagingPercentage: number | undefined): boolean {
  if (stagingPercentage === undefined) return true;
  return stagingBucket(installId, version) < stagingPercentage;
}

/**
 * The install's id: read from `<cacheDir>/install-id`, or created there once. Creation holds a
 * lock so two app instances starting together agree on one id; a file that does not hold a
 * UUID (damaged, or planted) is replaced.
 */
export async function loadInstallId(cacheDir: string): Promise<string> {
  const path = join(cacheDir, INSTALL_ID_FILE);
  const existing = await readInstallId(path);
  if (existing) return existing;
  return withLock(path, async () => {
    const raced = await readInstallId(path);
    if (raced) return raced;
    const id = randomUUID();
    await writeFileAtomic(path, `${id}\n`, { mode: 0o600 });
    return id;
  });
}

async function readInstallId(path: string): Promise<string | undefined> {
  // readFileBounded answers undefined for ENOENT only: EACCES or EIO must not pass for "no id".
  const bytes = await readFileBounded(path, 4096);
  const text = bytes ? Buffer.from(bytes).toString('utf8').trim() : '';
  return UUID.test(text) ? text : undefined;
}

/**
 * The staged releases of `indexes` this install is in: `withinRollout` (isUserWithinRollout)
 * is asked once per release and percentage. Keys are `<version> <percentage>`.
 */
export async function stagedReleases(
  indexes: readonly ChannelIndex[],
  withinRollout: VerifyUpdateSupport,
): Promise<Set<string>> {
  const staged = new Set<string>();
  const asked = new Set<string>();
  for (const index of indexes) {
    for (const release of index.releases) {
      const key = stagedKey(release);
      const first = release.installers[0];
      if (release.stagingPercentage === undefined || !first || asked.has(key)) continue;
      asked.add(key);
      const info = updateInfoOf({ release, channel: index.channel, arch: index.arch, installerTarget: first.target });
      if (await withinRollout(info)) staged.add(key);
    }
  }
  return staged;
}

export function stagedKey(release: ChannelRelease): string {
  return `${release.version} ${release.stagingPercentage}`;
}
