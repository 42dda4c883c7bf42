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
  const bytes = await readFileBounded(path, 64).catch(() => undefined);
  const text = bytes ? Buffer.from(bytes).toString('utf8').trim() : '';
  return UUID.test(text) ? text : undefined;
}
