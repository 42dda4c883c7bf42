import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValueError } from '../../updater/core/errors.js';
import { simClient, type SimClient } from '../helpers/client.js';
import { bytesResponse, RepositorySimulator } from '../helpers/simulator.js';

let sim: RepositorySimulator;
let client: SimClient;

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  client = await simClient(sim);
});
afterEach(() => client.cleanup());

describe('Updater: top-level refresh', () => {
  it('fetches the root probe, timestamp, versioned snapshot and targets on first refresh', async () => {
    await client.updater().refresh();
    expect(sim.fetched.map((u) => u.split('/').pop())).toEqual([
      '2.root.json',
      'timestamp.json',
      '1.snapshot.json',
      '1.targets.json',
    ]);
    const disk = await client.snapshotDisk();
    expect([...disk.keys()]).toEqual(['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
  });

  it('fetches nothing but the root probe and timestamp when nothing changed', async () => {
    await client.updater().refresh();
    sim.fetched.length = 0;
    await client.updater().refresh();
    expect(sim.fetched.map((u) => u.split('/').pop())).toEqual(['2.root.json', 'timestamp.json']);
  });

  it('follows new versions of every role', async () => {
    await client.updater().refresh();
    sim.addTarget('a.txt', 'hello');
    sim.updateTargets();
    sim.updateSnapshot();
    const up = client.updater();
    await up.refresh();
    expect(up.trustedMetadata!.targets!.signed.version).toBe(2);
    expect(up.trustedMetadata!.snapshot!.signed.version).toBe(2);
    expect(up.trustedMetadata!.timestamp!.signed.version).toBe(2);
    expect(sim.fetched.at(-1)).toMatch(/\/2\.targets\.json$/);
  });

  it('uses unversioned names when consistent snapshots are off', async () => {
    sim.root.consistentSnapshot = false;
    sim.signedRoots.length = 0;
    await sim.publishRoot();
    const c = await simClient(sim);
    try {
      const up = c.updater();
      await up.refresh();
      expect(sim.fetched.map((u) => u.split('/').pop())).toEqual([
        '2.root.json',
        'timestamp.json',
        'snapshot.json',
        'targets.json',
      ]);
    } finally {
      await c.cleanup();
    }
  });

  it('refuses to start without a trusted root', async () => {
    const { Updater } = await import('../../updater/client/updater.js');
    const up = new Updater({ metadataDir: client.metadataDir, metadataBaseUrl: 'https://x.invalid', fetcher: sim });
    await expect(up.refresh()).rejects.toThrow(ValueError);
  });
});

describe('Updater: targets', () => {
  it('finds, downloads with a hash-prefixed name, and then finds the cached copy', async () => {
    const info = sim.addTarget('dir/app.tar.gz', 'app-1.0.0');
    sim.updateTargets();
    sim.updateSnapshot();
    const up = client.updater();
    await up.refresh();
    const found = await up.getTargetInfo('dir/app.tar.gz');
    expect(found?.hashes.sha256).toBe(info.hashes.sha256);
    expect(await up.findCachedTarget(found!)).toBeUndefined();
    const path = await up.downloadTarget(found!);
    expect(sim.fetched.at(-1)).toBe(`https://sim.example/targets/dir/${info.hashes.sha256}.app.tar.gz`);
    expect((await readFile(path)).toString()).toBe('app-1.0.0');
    expect(await up.findCachedTarget(found!)).toBe(path);
  });

  it('refuses a FIFO at the cached name without waiting for a writer (opened O_NONBLOCK, then fstat)', async () => {
    sim.addTarget('dir/app.AppImage', 'app-1.0.0');
    sim.updateTargets();
    sim.updateSnapshot();
    const up = client.updater();
    await up.refresh();
    const found = await up.getTargetInfo('dir/app.AppImage');
    const fifo = join(client.metadataDir, '..', 'app.AppImage');
    execFileSync('mkfifo', [fifo]);
    // Opened the blocking way, this would wait forever for a writer: the test would time out.
    expect(await up.findCachedTarget(found!, fifo)).toBeUndefined();
  });

  it('returns undefined for a target nobody lists', async () => {
    const up = client.updater();
    await up.refresh();
    expect(await up.getTargetInfo('missing.txt')).toBeUndefined();
  });

  it('refreshes implicitly before the first lookup', async () => {
    sim.addTarget('x', 'x');
    sim.updateTargets();
    sim.updateSnapshot();
    expect(await client.updater().getTargetInfo('x')).toBeDefined();
  });

  it('does not accept a cached file whose content changed', async () => {
    sim.addTarget('f', 'original');
    sim.updateTargets();
    sim.updateSnapshot();
    const up = client.updater();
    const info = (await up.getTargetInfo('f'))!;
    const path = await up.downloadTarget(info);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, 'ORIGINAL');
    expect(await up.findCachedTarget(info)).toBeUndefined();
  });
});

describe('Updater: two instances sharing one metadata directory', () => {
  it('a refresh that waited while another stored newer metadata ends on the newer state', async () => {
    await client.updater().refresh();
    sim.updateTimestamp();
    let raced = false;
    sim.intercept(async (url) => {
      if (raced || !url.endsWith('/timestamp.json')) return undefined;
      raced = true;
      // This instance gets the timestamp of now; before it stores it, another instance
      // stores a newer one (published meanwhile).
      const stale = await sim.metadataBytes('timestamp');
      sim.updateTimestamp();
      await client.updater().refresh();
      return bytesResponse(stale);
    });
    const up = client.updater();
    await up.refresh();
    expect(raced).toBe(true);
    expect(up.trustedMetadata!.timestamp!.signed.version).toBe(sim.timestamp.version);
  });
});
