/**
 * getTargetInfo takes the metadata directory's lock only when it has to load a role: a lookup
 * answered from metadata trusted in this refresh does no file work, one that loads a
 * delegated role from disk or network holds the lock while it does.
 */
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
    await (await holdLock())();
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
    await (await holdLock())();
  });
});
