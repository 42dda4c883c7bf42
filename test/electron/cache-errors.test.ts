/**
 * Only "no such file" means absent (issue 9): a cache file that exists but cannot be read
 * (EACCES, EIO; here a directory planted at its name, since the tests run as root) fails the
 * check with a StorageError naming it, instead of passing for a missing file.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../updater/core/errors.js';
import { targetFilePath } from '../../updater/client/target-path.js';
import { appHarness, cleanupTempDirs, ReleaseRepo } from './fixtures.js';

let repo: ReleaseRepo;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
});

afterEach(cleanupTempDirs);

async function failedCheck(
  unreadable: (cacheDir: string) => string,
  release: { stagingPercentage?: number } = {},
): Promise<{ error: unknown; path: string }> {
  repo.publish({ version: '1.1.0', ...release });
  const app = await appHarness(repo, { version: '1.0.0' });
  const path = unreadable(app.cacheDir);
  await mkdir(path, { recursive: true });
  return { error: await app.updater.checkForUpdates().catch((e: unknown) => e), path };
}

describe('unreadable cache files are errors, not absent files', () => {
  it('pending.json', async () => {
    const { error, path } = await failedCheck((cacheDir) => join(cacheDir, 'pending.json'));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toBe(`${path} is not a regular file`);
  });

  it('the cached channel index', async () => {
    const { error, path } = await failedCheck((cacheDir) =>
      targetFilePath(join(cacheDir, 'indexes'), 'channels/stable/linux-x64.json'),
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toBe(`${path} is not a regular file`);
  });

  it('the install id of staged rollouts', async () => {
    const { error, path } = await failedCheck((cacheDir) => join(cacheDir, 'install-id'), { stagingPercentage: 50 });
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toBe(`${path} is not a regular file`);
  });
});
