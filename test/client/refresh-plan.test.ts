/**
 * refresh-plan.ts: a refresh plans on a staged view of the metadata directory, re-reads
 * under the lock, and commits; local files are "unusable" only for content reasons, never
 * for a failing disk or a bug (OrderError).
 */
import { mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExpiredMetadataError, OrderError, RepositoryError, StorageError } from '../../updater/core/errors.js';
import { MetadataStore } from '../../updater/client/metadata-store.js';
import { acceptLocal, StagedMetadata } from '../../updater/client/refresh-plan.js';
import { simClient, type SimClient } from '../helpers/client.js';
import { daysFromNow, RepositorySimulator } from '../helpers/simulator.js';

let sim: RepositorySimulator;
let client: SimClient;

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  client = await simClient(sim);
});
afterEach(() => client.cleanup());

const noDownload = (): Promise<Uint8Array> => Promise.reject(new Error('no download in this test'));

describe('StagedMetadata', () => {
  it('stages writes and removals in memory, sees them in its own reads, and commits them in order', async () => {
    const store = await MetadataStore.open(client.metadataDir);
    await store.write('timestamp', Buffer.from('old timestamp'));
    const staged = new StagedMetadata(store, noDownload);
    expect(staged.hasWrites).toBe(false);
    await staged.remove('timestamp');
    await staged.write('snapshot', Buffer.from('new snapshot'));
    expect(staged.hasWrites).toBe(true);
    expect(await staged.read('timestamp', 100)).toBeUndefined();
    expect(Buffer.from((await staged.read('snapshot', 100))!).toString()).toBe('new snapshot');
    // Nothing on disk changed until the commit.
    expect(Buffer.from((await store.read('timestamp'))!).toString()).toBe('old timestamp');
    expect(await store.read('snapshot')).toBeUndefined();
    await staged.commit();
    expect(await store.read('timestamp')).toBeUndefined();
    expect(Buffer.from((await store.read('snapshot'))!).toString()).toBe('new snapshot');
  });

  it('re-reading under the lock notices a file written, changed or removed since the plan read it', async () => {
    const store = await MetadataStore.open(client.metadataDir);
    await store.write('timestamp', Buffer.from('v1'));
    const cases: Array<(s: MetadataStore) => Promise<void>> = [
      (s) => s.write('timestamp', Buffer.from('v2')),
      (s) => s.remove('timestamp'),
      (s) => s.write('snapshot', Buffer.from('appeared')),
    ];
    for (const change of cases) {
      await store.write('timestamp', Buffer.from('v1'));
      await store.remove('snapshot');
      const staged = new StagedMetadata(store, noDownload);
      await staged.read('timestamp', 100);
      await staged.read('snapshot', 100);
      expect(await staged.unchangedOnDisk()).toBe(true);
      await change(store);
      expect(await staged.unchangedOnDisk()).toBe(false);
    }
  });
});

describe('acceptLocal', () => {
  let store: MetadataStore;
  beforeEach(async () => {
    store = await MetadataStore.open(client.metadataDir);
  });

  it('reports a local file refused by verification as unusable', async () => {
    await store.write('timestamp', Buffer.from('{}'));
    const unusable: Error[] = [];
    const accepted = await acceptLocal(
      store_io(store),
      'timestamp',
      100,
      () => {
        throw new ExpiredMetadataError('timestamp is expired');
      },
      (e) => unusable.push(e),
    );
    expect(accepted).toBe(false);
    expect(unusable[0]).toBeInstanceOf(RepositoryError);
  });

  it('reports an oversized local file as unusable (the repository copy replaces it)', async () => {
    await store.write('timestamp', new Uint8Array(200));
    const unusable: Error[] = [];
    expect(
      await acceptLocal(
        store_io(store),
        'timestamp',
        100,
        () => undefined,
        (e) => unusable.push(e),
      ),
    ).toBe(false);
    expect(unusable[0]).toBeInstanceOf(StorageError);
  });

  it('lets an OrderError (a bug, not a bad file) propagate', async () => {
    await store.write('snapshot', Buffer.from('{}'));
    const run = acceptLocal(
      store_io(store),
      'snapshot',
      100,
      () => {
        throw new OrderError('cannot update snapshot before timestamp');
      },
      () => undefined,
    );
    await expect(run).rejects.toThrow(OrderError);
  });

  it('lets a failing disk (a system error, here ELOOP) propagate with its cause', async () => {
    await symlink('timestamp.json', join(client.metadataDir, 'timestamp.json'));
    const error = await acceptLocal(
      store_io(store),
      'timestamp',
      100,
      () => undefined,
      () => undefined,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).cause).toMatchObject({ code: 'ELOOP' });
  });
});

function store_io(store: MetadataStore): StagedMetadata {
  return new StagedMetadata(store, noDownload);
}

describe('Updater.refresh with the staged plan', () => {
  it('fails on a local file the disk cannot read instead of replacing it from the repository', async () => {
    await client.updater().refresh();
    sim.updateTimestamp();
    await rm(join(client.metadataDir, 'snapshot.json'));
    await symlink('snapshot.json', join(client.metadataDir, 'snapshot.json')); // a loop: ELOOP on open
    const before = await readdir(client.metadataDir);
    const rootBefore = await readFile(join(client.metadataDir, 'root.json'));
    const error = await client
      .updater()
      .refresh()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).cause).toMatchObject({ code: 'ELOOP' });
    expect(await readdir(client.metadataDir)).toEqual(before);
    expect(await readFile(join(client.metadataDir, 'root.json'))).toEqual(rootBefore);
  });

  it('reads a bootstrap root once, and stores nothing when it does not verify (5.2)', async () => {
    let calls = 0;
    const { Updater } = await import('../../updater/client/updater.js');
    const bad = new Updater({
      metadataDir: join(client.dir, 'fresh'),
      metadataBaseUrl: 'https://sim.example/metadata',
      bootstrapRoot: async () => {
        calls++;
        return Buffer.from('{"signed": {}, "signatures": []}');
      },
      fetcher: sim,
    });
    await expect(bad.refresh()).rejects.toThrow(RepositoryError);
    expect(calls).toBe(1);
    await mkdir(join(client.dir, 'fresh'), { recursive: true });
    expect(await (await MetadataStore.open(join(client.dir, 'fresh'))).read('root')).toBeUndefined();
  });

  it('keeps each verified new root when a later step fails (5.3.8), written under the lock', async () => {
    await client.updater().refresh();
    await sim.publishRoot();
    sim.updateTimestamp();
    sim.timestamp.expires = daysFromNow(-1);
    const up = client.updater();
    await expect(up.refresh()).rejects.toThrow(ExpiredMetadataError);
    const store = await MetadataStore.open(client.metadataDir);
    const root = JSON.parse(Buffer.from((await store.read('root'))!).toString()) as { signed: { version: number } };
    expect(root.signed.version).toBe(2);
  });
});
