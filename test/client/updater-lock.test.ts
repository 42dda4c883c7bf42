/**
 * The metadata directory's lock is taken only for work that writes or may write: a refresh
 * that finds nothing new runs without it, one that must write commits under it what it
 * verified without it (no second download); getTargetInfo answered from metadata trusted in this refresh does no file
 * work, one that loads a delegated role from disk or network holds the lock while it does.
 */
import { once } from 'node:events';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError, StorageError } from '../../updater/core/errors.js';
import { MetadataStore } from '../../updater/client/metadata-store.js';
import { simClient, type SimClient } from '../helpers/client.js';
import { RepositorySimulator } from '../helpers/simulator.js';

let sim: RepositorySimulator;
let client: SimClient;

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  sim.addDelegation('targets', { name: 'a', paths: ['a/*'] });
  sim.addTarget('top.txt', 'listed by targets');
  sim.addTarget('a/x.txt', 'listed by a', 'a');
  for (const role of sim.targets.keys()) sim.updateTargets(role);
  sim.updateSnapshot();
  client = await simClient(sim);
});
afterEach(async () => {
  await client.cleanup();
});

/** Holds the metadata directory's lock as another app instance would. */
async function holdLock(): Promise<() => Promise<void>> {
  return (await MetadataStore.open(client.metadataDir)).lock({ timeoutMs: 0 });
}

describe('getTargetInfo and the metadata lock', () => {
  it('answers from trusted top-level targets while another instance holds the lock', async () => {
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    const release = await holdLock();
    try {
      expect((await updater.getTargetInfo('top.txt'))?.length).toBe('listed by targets'.length);
      expect(await updater.getTargetInfo('elsewhere/none.txt')).toBeUndefined(); // only targets is searched
    } finally {
      await release();
    }
  });

  it('waits for the lock before loading a delegated role, and releases it afterwards', async () => {
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    const release = await holdLock();
    try {
      await expect(updater.getTargetInfo('a/x.txt')).rejects.toThrow(StorageError);
      expect(sim.count('a.json')).toBe(0); // nothing was fetched without the lock
    } finally {
      await release();
    }
    expect((await updater.getTargetInfo('a/x.txt'))?.length).toBe('listed by a'.length);
    // Released again: another instance can take it at once.
    await (
      await holdLock()
    )();
    // Now trusted in memory: found without the lock.
    const again = await holdLock();
    try {
      expect((await updater.getTargetInfo('a/x.txt'))?.length).toBe('listed by a'.length);
    } finally {
      await again();
    }
  });

  it('releases the lock when loading a delegated role fails', async () => {
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    sim.intercept((url) => {
      if (url.endsWith('a.json')) throw new DownloadError('mirror down');
      return undefined;
    });
    await expect(updater.getTargetInfo('a/x.txt')).rejects.toThrow(DownloadError);
    await (
      await holdLock()
    )();
  });

  it("keeps the search's error when the release fails too, and reports the release failure as a warning", async () => {
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    const lockFile = join(client.metadataDir, '.updater.lock');
    sim.intercept((url) => {
      if (!url.endsWith('a.json')) return undefined;
      rmSync(lockFile);
      symlinkSync(lockFile, lockFile); // a loop: the release cannot read its own lock (ELOOP)
      throw new DownloadError('mirror down');
    });
    const warned = once(process, 'warning') as Promise<[Error]>;
    await expect(updater.getTargetInfo('a/x.txt')).rejects.toThrow(DownloadError);
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/\.updater\.lock.*ELOOP.*\(while cleaning up after: mirror down\)/);
    rmSync(lockFile);
  });
});

describe('refresh and the metadata lock', () => {
  it('a refresh that finds nothing new runs while another instance holds the lock', async () => {
    await client.updater().refresh(); // the first one writes the whole state
    const before = await client.snapshotDisk();
    const release = await holdLock();
    try {
      const updater = client.updater({ lockTimeoutMs: 100 });
      await updater.refresh();
      expect(updater.trustedMetadata?.targets?.signed.version).toBe(sim.targets.get('targets')!.version);
      expect((await updater.getTargetInfo('top.txt'))?.length).toBe('listed by targets'.length);
    } finally {
      await release();
    }
    expect(await client.snapshotDisk()).toEqual(before);
  });

  it('a refresh that must write waits for the lock, writes under it, and fetches each file once', async () => {
    await client.updater().refresh();
    sim.addTarget('new.txt', 'published later');
    sim.updateTargets();
    sim.updateSnapshot();
    const before = await client.snapshotDisk();

    const release = await holdLock();
    try {
      await expect(client.updater({ lockTimeoutMs: 100 }).refresh()).rejects.toThrow(StorageError);
      expect(await client.snapshotDisk()).toEqual(before); // nothing written without the lock
    } finally {
      await release();
    }

    sim.fetched.length = 0;
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    expect(sim.fetched.map((u) => u.split('/').pop()).sort()).toEqual([
      '2.root.json',
      '3.snapshot.json',
      '3.targets.json',
      'timestamp.json',
    ]);
    expect((await updater.getTargetInfo('new.txt'))?.length).toBe('published later'.length);
    // Written, and the lock released: the next refresh finds nothing new and needs no lock.
    const after = await client.snapshotDisk();
    expect(after).not.toEqual(before);
    const again = await holdLock();
    try {
      await client.updater({ lockTimeoutMs: 100 }).refresh();
    } finally {
      await again();
    }
    expect(await client.snapshotDisk()).toEqual(after);
  });

  it('a new root found without the lock is fetched once and stored under it', async () => {
    await client.updater().refresh();
    const root2 = await sim.publishRoot();
    sim.fetched.length = 0;
    const updater = client.updater({ lockTimeoutMs: 100 });
    await updater.refresh();
    expect(updater.trustedMetadata?.root.signed.version).toBe(2);
    expect(sim.count('2.root.json')).toBe(1);
    expect(sim.count('3.root.json')).toBe(1);
    const stored = (await client.snapshotDisk()).get('root.json');
    expect(Buffer.from(stored!, 'base64').equals(Buffer.from(root2))).toBe(true);
  });

  it('two instances refreshing at once after a publish both end on the new state', async () => {
    await client.updater().refresh();
    sim.addTarget('new.txt', 'published later');
    sim.updateTargets();
    sim.updateSnapshot();
    const [a, b] = [client.updater(), client.updater()];
    await Promise.all([a.refresh(), b.refresh()]);
    for (const u of [a, b]) expect((await u.getTargetInfo('new.txt'))?.length).toBe('published later'.length);
    const disk = await client.snapshotDisk();
    expect([...disk.keys()]).toEqual(['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
  });
});
