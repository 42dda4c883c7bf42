/**
 * What a check at app start skips when it is not needed, and that skipping it changes no
 * outcome: the bundled root is read only when the cache has none, the install id only when a
 * release is staged, and the timestamp the repository sends again unchanged is not parsed and
 * verified twice.
 */
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EqualVersionNumberError, UnsignedMetadataError } from '../../updater/core/errors.js';
import { Metadata } from '../../updater/core/metadata.js';
import { TrustedMetadataSet } from '../../updater/client/trusted-metadata-set.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir } from './fixtures.js';
import { parseDoc } from '../helpers/metadata-doc.js';

let repo: ReleaseRepo;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await cleanupTempDirs();
});

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('the bundled trusted root', () => {
  it('is read on the first check only; later starts use the cached root', async () => {
    repo.publish({ version: '1.0.0' });
    const dir = await tempDir();
    const rootFile = join(dir, 'bundled-root.json');
    await writeFile(rootFile, repo.sim.initialRoot);
    const first = await appHarness(repo, { version: '1.0.0', dir, trustedRoot: rootFile });
    expect((await first.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);

    // A later start whose bundled root cannot be read: the cache has one, so it is never needed.
    await rm(rootFile);
    const restarted = await appHarness(repo, { version: '1.0.0', dir, trustedRoot: rootFile });
    expect((await restarted.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    expect(restarted.names()).toEqual(['checking-for-update', 'update-not-available']);

    // Without a cached root it is needed again, and its absence is an error.
    await rm(join(dir, 'userData', 'electron-tuf', 'metadata', 'root.json'));
    const fresh = await appHarness(repo, { version: '1.0.0', dir, trustedRoot: rootFile });
    await expect(fresh.updater.checkForUpdates()).rejects.toThrow(/does not exist/);
  });
});

describe('the install id', () => {
  it('is neither read nor created while no release is staged, and is once one is', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
    const idFile = join(app.cacheDir, 'install-id');
    expect(await exists(idFile)).toBe(false);

    repo.publish({ version: '1.2.0', stagingPercentage: 100 });
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.2.0');
    expect((await readFile(idFile, 'utf8')).trim()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('a timestamp sent again unchanged', () => {
  async function trustedSet(): Promise<{ set: TrustedMetadataSet; timestamp: Uint8Array }> {
    repo.publish({ version: '1.0.0' });
    const set = new TrustedMetadataSet(repo.sim.initialRoot);
    const timestamp = await repo.sim.metadataBytes('timestamp');
    set.updateTimestamp(timestamp);
    return { set, timestamp };
  }

  it('is "version equal" at once, without parsing or verifying it again', async () => {
    const { set, timestamp } = await trustedSet();
    const parse = vi.spyOn(Metadata, 'fromBytes');
    expect(() => set.updateTimestamp(Uint8Array.from(timestamp))).toThrow(EqualVersionNumberError);
    expect(parse).not.toHaveBeenCalled();
  });

  it('other bytes of the same version are still parsed and verified', async () => {
    const { set, timestamp } = await trustedSet();
    // Same signed content, other whitespace: a different document, verified in full.
    const respaced = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(timestamp).toString('utf8')), null, 1));
    const parse = vi.spyOn(Metadata, 'fromBytes');
    expect(() => set.updateTimestamp(respaced)).toThrow(EqualVersionNumberError);
    expect(parse).toHaveBeenCalledTimes(1);
    // Same version, broken signature: refused as unsigned, not waved through as "equal".
    const doc = parseDoc(timestamp);
    doc.signatures[0].sig = doc.signatures[0].sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(() => set.updateTimestamp(Buffer.from(JSON.stringify(doc)))).toThrow(UnsignedMetadataError);
  });

  it('is compared with a copy: changing the caller’s array afterwards changes nothing', async () => {
    repo.publish({ version: '1.0.0' });
    const set = new TrustedMetadataSet(repo.sim.initialRoot);
    const timestamp = await repo.sim.metadataBytes('timestamp');
    const mine = Uint8Array.from(timestamp);
    set.updateTimestamp(mine);
    mine.fill(0x20);
    expect(() => set.updateTimestamp(mine)).toThrow(); // not "equal": parsed, and it is not JSON
    expect(() => set.updateTimestamp(timestamp)).toThrow(EqualVersionNumberError);
  });
});
