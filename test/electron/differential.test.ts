/**
 * Differential downloads in the app updater (updater/electron/differential*.ts) against a real
 * repository made with the publisher, over real HTTP: the happy path, the sources of local
 * chunks (an earlier pending update, the installer kept from the last install), the switch,
 * cancellation and resume, and hostile mirrors. Every test ends with the verified new installer
 * on disk (built, or downloaded in full after a logged fallback) or a typed error.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repositoryPaths } from '../../publisher/index.js';
import { CancelledError } from '../../updater/core/errors.js';
import { CancellationToken } from '../../updater/electron/cancellation.js';
import { chunkMapTargetPath } from '../../updater/release/chunk-map.js';
import { changedCopy, pseudoRandomBytes } from '../helpers/chunk-maps.js';
import { cleanupTempDirs } from './fixtures.js';
import {
  answer,
  ChunkedRepo,
  diffApp,
  fileNameOf,
  update,
  type DiffApp,
  type Exchange,
} from './differential-fixtures.js';

const SIZE = 1536 * 1024;
const OLD = pseudoRandomBytes(SIZE, 'release 1.0.0');
const NEW = changedCopy(OLD, 0.01, 4, 'release 1.1.0');
const NEW_NAME = `.${fileNameOf('1.1.0')}`; // stored as <hash>.MyApp-1.1.0.tar.gz
const FALLBACK = 'Cannot download differentially, fallback to full download';

let repo: ChunkedRepo;

beforeEach(async () => {
  repo = await ChunkedRepo.create();
  await repo.publish('1.0.0', OLD);
});
afterEach(async () => {
  await repo.close();
  await cleanupTempDirs();
});

/** An app at 0.9.0 that downloaded 1.0.0 (kept pending, not installed): its chunks are local. */
async function appWithPending100(): Promise<DiffApp> {
  const app = await diffApp(repo, '0.9.0');
  expect((await update(app)).equals(OLD)).toBe(true);
  return app;
}

const newInstallerRequests = () => repo.server.requests.filter((r) => r.url.endsWith(NEW_NAME));
const mapRequests = (version: string) =>
  repo.server.requests.filter((r) => r.url.endsWith(`${fileNameOf(version)}.chunks.json`)).length;
const fellBack = (app: DiffApp) => app.lines.some((l) => l.includes(FALLBACK));
const built = (app: DiffApp) => app.lines.some((l) => l.includes('differential download of 1.1.0/'));

describe('differential download', () => {
  it('builds the new installer from the pending one plus a few ranges, counting only downloaded bytes', async () => {
    const app = await appWithPending100();
    // The map of an installer downloaded in full comes with it, for the next update.
    expect(mapRequests('1.0.0')).toBe(1);
    await repo.publish('1.1.0', NEW);
    app.events.length = 0;

    expect((await update(app)).equals(NEW)).toBe(true);
    expect([mapRequests('1.0.0'), mapRequests('1.1.0')]).toEqual([1, 1]);

    expect(built(app)).toBe(true);
    expect(fellBack(app)).toBe(false);
    const served = repo.server.served(NEW_NAME);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(NEW.length * 0.1);
    expect(newInstallerRequests().every((r) => r.range?.startsWith('bytes='))).toBe(true);
    const progress = app.of('download-progress').map(([p]) => p);
    expect(progress.at(-1)).toMatchObject({ total: served, transferred: served, percent: 100 });
    expect(progress.reduce((sum, p) => sum + p.delta, 0)).toBe(served);
    // The earlier pending installer has served its purpose; the cache holds the new one.
    expect(await readdir(join(app.cacheDir, 'pending'))).toEqual([fileNameOf('1.1.0')]);
  });

  it('through Electron’s net (a WHATWG fetch) as well', async () => {
    const app = await diffApp(repo, '0.9.0', { netFetch: (url, init) => globalThis.fetch(url, init) });
    expect((await update(app)).equals(OLD)).toBe(true);
    await repo.publish('1.1.0', NEW);
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(built(app)).toBe(true);
    expect(repo.server.served(NEW_NAME)).toBeLessThan(NEW.length * 0.1);
  });

  it('keeps the installer of the running version at its first start, and builds the next update from it', async () => {
    const before = await appWithPending100();
    const restarted = await diffApp(repo, '1.0.0', { dir: before.dir }); // 1.0.0 was installed
    expect((await restarted.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    expect(await readdir(join(restarted.cacheDir, 'installed'))).toEqual([fileNameOf('1.0.0')]);
    await expect(stat(join(restarted.cacheDir, 'pending'))).rejects.toThrow();

    await repo.publish('1.1.0', NEW);
    expect((await update(restarted)).equals(NEW)).toBe(true);
    expect(built(restarted)).toBe(true);
    expect(repo.server.served(NEW_NAME)).toBeLessThan(NEW.length * 0.1);
  });

  it('matches chunks by hash whatever the chunking: fixed-size maps on both sides still work', async () => {
    await repo.publish('1.0.0', OLD, { map: { fixed: 4096 } }); // republished with another map
    const app = await appWithPending100();
    const overwritten = Buffer.from(OLD);
    overwritten.fill(7, 100_000, 110_000); // no insertion: fixed chunks stay aligned
    await repo.publish('1.1.0', overwritten, { map: { fixed: 4096 } });
    expect((await update(app)).equals(overwritten)).toBe(true);
    expect(built(app)).toBe(true);
    expect(repo.server.served(NEW_NAME)).toBeLessThanOrEqual(16 * 1024);
  });

  it('disableDifferentialDownload: the whole installer, and no installer kept at the next start', async () => {
    const app = await appWithPending100();
    app.updater.disableDifferentialDownload = true;
    await repo.publish('1.1.0', NEW);
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(built(app)).toBe(false);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
    expect(newInstallerRequests().every((r) => r.range === undefined)).toBe(true);

    const restarted = await diffApp(repo, '1.1.0', { dir: app.dir });
    restarted.updater.disableDifferentialDownload = true;
    await restarted.updater.checkForUpdates();
    expect(await readdir(restarted.cacheDir)).not.toContain('installed');
  });

  it('a release without a chunk map is downloaded in full, quietly', async () => {
    const app = await appWithPending100();
    await repo.publish('1.1.0', NEW, { map: false });
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(fellBack(app)).toBe(false);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
  });

  it('cancellation mid-way keeps a verified prefix; the next download resumes from it', async () => {
    const app = await appWithPending100();
    await repo.publish('1.1.0', NEW);
    repo.server.hook(slowRanges(40));
    const token = new CancellationToken();
    app.updater.once('download-progress', () => token.cancel());
    await app.updater.checkForUpdates();
    await expect(app.updater.downloadUpdate(token)).rejects.toThrow(CancelledError);
    expect(app.of('update-cancelled')).toHaveLength(1);
    expect(fellBack(app)).toBe(false);
    const part = join(app.cacheDir, 'pending', `${fileNameOf('1.1.0')}.part`);
    const prefix = (await stat(part)).size;
    expect(prefix).toBeGreaterThan(0);
    expect(prefix).toBeLessThan(NEW.length);
    expect(NEW.subarray(0, prefix).equals(await readFile(part))).toBe(true);

    repo.server.clearHooks();
    const [file] = await app.updater.downloadUpdate();
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(app.lines.some((l) => /differential download of .* resumed/.test(l))).toBe(true);
  });

  it('a full download resumes from what a cancelled differential one built (the part file is a prefix)', async () => {
    const app = await appWithPending100();
    await repo.publish('1.1.0', NEW);
    repo.server.hook(slowRanges(40));
    const token = new CancellationToken();
    app.updater.once('download-progress', () => token.cancel());
    await app.updater.checkForUpdates();
    await expect(app.updater.downloadUpdate(token)).rejects.toThrow(CancelledError);
    const prefix = (await stat(join(app.cacheDir, 'pending', `${fileNameOf('1.1.0')}.part`))).size;
    expect(prefix).toBeGreaterThan(0);

    repo.server.clearHooks();
    await writeFile(join(app.cacheDir, 'pending', fileNameOf('1.0.0')), 'gone'); // no earlier installer now
    const [file] = await app.updater.downloadUpdate();
    expect((await readFile(file)).equals(NEW)).toBe(true);
    expect(newInstallerRequests().at(-1)?.range).toBe(`bytes=${prefix}-`);
  });
});

/** Delays every ranged answer for the new installer by `ms`. */
function slowRanges(ms: number) {
  return (exchange: Exchange): boolean => {
    if (!exchange.req.url?.endsWith(NEW_NAME) || !exchange.range) return false;
    setTimeout(() => answer(exchange), ms);
    return true;
  };
}

describe('differential download against a hostile mirror or a changed disk', () => {
  /** Publishes 1.1.0, installs the hook, updates; the result must be the signed 1.1.0 after a logged fallback. */
  async function expectFallback(hook?: (exchange: Exchange) => boolean, publish = () => repo.publish('1.1.0', NEW)) {
    const app = await appWithPending100();
    await publish();
    if (hook) repo.server.hook(hook);
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(fellBack(app)).toBe(true);
    expect(app.of('error')).toHaveLength(0);
    return app;
  }
  const rangesOfNew = (e: Exchange) => e.req.url!.endsWith(NEW_NAME) && e.range !== undefined;

  it('a signed chunk map of another release (named in the installer’s custom) is refused', async () => {
    const app = await expectFallback(undefined, () =>
      repo.publish('1.1.0', NEW, { chunkMapPath: chunkMapTargetPath(`1.0.0/${fileNameOf('1.0.0')}`) }),
    );
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/describes another file/);
  });

  it('a mirror serving another release’s map bytes for the map is refused (signed length and hashes)', async () => {
    // 1.0.0's map as `repo add` stored it (<hash>.<name>, consistent snapshots).
    const stored = join(repositoryPaths(repo.repo).targets, '1.0.0');
    const oldMap = (await readdir(stored)).find((name) => name.endsWith(`.${fileNameOf('1.0.0')}.chunks.json`));
    const bytes = await readFile(join(stored, oldMap!));
    const app = await expectFallback((e) => {
      if (!e.req.url!.endsWith(`${fileNameOf('1.1.0')}.chunks.json`)) return false;
      e.res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
      return true;
    });
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/LengthOrHashMismatch|DownloadLengthMismatch/);
  });

  it('a signed but malformed chunk map is refused', async () => {
    const app = await expectFallback(undefined, () =>
      repo.publish('1.1.0', NEW, { mapBytes: Buffer.from('{"format":1,"chunks":"!!"}') }),
    );
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/DeserializationError/);
  });

  it('a tampered chunk served for a range is caught as it arrives', async () => {
    const app = await expectFallback((e) => {
      if (!rangesOfNew(e)) return false;
      const [first, last] = e.range!;
      const bytes = Buffer.from(e.body.subarray(first, last + 1));
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      e.res.writeHead(206, {
        'content-range': `bytes ${first}-${last}/${e.body.length}`,
        'content-length': bytes.length,
      });
      e.res.end(bytes);
      return true;
    });
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/ChunkMismatchError/);
  });

  it('a server that answers Range requests with 200 and the whole file', async () => {
    const app = await expectFallback((e) => {
      if (!rangesOfNew(e)) return false;
      e.res.writeHead(200, { 'content-length': e.body.length }).end(e.body);
      return true;
    });
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/RangeNotHonouredError/);
  });

  it('ranges answered with overlapping bytes (an earlier offset, or the right header over other bytes)', async () => {
    let n = 0;
    await expectFallback((e) => {
      if (!rangesOfNew(e)) return false;
      const [first, last] = e.range!;
      const shifted = Math.max(0, first - 1000);
      if (n++ % 2 === 0) {
        // Content-Range from an earlier byte: the body overlaps what was asked.
        e.res.writeHead(206, { 'content-range': `bytes ${shifted}-${last}/${e.body.length}` });
        e.res.end(e.body.subarray(shifted, last + 1));
      } else {
        e.res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${e.body.length}` });
        e.res.end(e.body.subarray(shifted, shifted + last - first + 1));
      }
      return true;
    });
  });

  it('a multipart/byteranges answer with wrong boundaries', async () => {
    await expectFallback((e) => {
      if (!rangesOfNew(e)) return false;
      const [first, last] = e.range!;
      const part = e.body.subarray(first, last + 1);
      const multipart = Buffer.concat([
        Buffer.from(`--WRONG\r\ncontent-range: bytes ${first}-${last}/${e.body.length}\r\n\r\n`),
        part,
        Buffer.from('\r\n--ALSO-WRONG--\r\n'),
      ]);
      e.res.writeHead(206, {
        'content-type': 'multipart/byteranges; boundary=RIGHT',
        'content-length': multipart.length,
      });
      e.res.end(multipart);
      return true;
    });
  });

  it('an endless range body is cut at the range’s end: the file is still built and verified', async () => {
    const app = await appWithPending100();
    await repo.publish('1.1.0', NEW);
    let endless = 0;
    repo.server.hook((e) => {
      if (!rangesOfNew(e)) return false;
      const [first, last] = e.range!;
      endless++;
      e.res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${e.body.length}` }); // chunked: no end
      e.res.write(e.body.subarray(first, last + 1));
      const garbage = Buffer.alloc(64 * 1024, 0x55);
      const more = () => {
        if (!e.res.destroyed) e.res.write(garbage, () => setImmediate(more));
      };
      more();
      return true;
    });
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(endless).toBeGreaterThan(0);
    expect(built(app)).toBe(true);
  });

  it('a local installer changed on disk since its download (same size) is caught by the whole-file check', async () => {
    const app = await appWithPending100();
    const old = join(app.cacheDir, 'pending', fileNameOf('1.0.0'));
    await writeFile(old, pseudoRandomBytes(SIZE, 'someone else'));
    await repo.publish('1.1.0', NEW);
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(app.lines.find((l) => l.includes(FALLBACK))).toMatch(/LengthOrHashMismatchError: .* mismatch/);
    expect(repo.server.served(NEW_NAME)).toBeGreaterThanOrEqual(NEW.length); // then in full
  });

  it('cancelled while copying a changed local installer: only the chunks that match the map are kept', async () => {
    const app = await appWithPending100();
    const old = join(app.cacheDir, 'pending', fileNameOf('1.0.0'));
    await writeFile(old, pseudoRandomBytes(SIZE, 'someone else'));
    await repo.publish('1.1.0', NEW);
    repo.server.hook(slowRanges(40));
    const token = new CancellationToken();
    app.updater.once('download-progress', () => token.cancel());
    await app.updater.checkForUpdates();
    await expect(app.updater.downloadUpdate(token)).rejects.toThrow(CancelledError);
    const part = join(app.cacheDir, 'pending', `${fileNameOf('1.1.0')}.part`);
    const kept = await readFile(part);
    expect(NEW.subarray(0, kept.length).equals(kept)).toBe(true); // a prefix of the new installer, nothing else

    repo.server.clearHooks();
    const [file] = await app.updater.downloadUpdate();
    expect((await readFile(file)).equals(NEW)).toBe(true);
  });

  it('a local installer gone (or of another size) means a full download', async () => {
    const app = await appWithPending100();
    await writeFile(join(app.cacheDir, 'pending', fileNameOf('1.0.0')), 'short');
    await repo.publish('1.1.0', NEW);
    expect((await update(app)).equals(NEW)).toBe(true);
    expect(app.lines.some((l) => l.includes('no earlier installer with a chunk map'))).toBe(true);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
  });
});
