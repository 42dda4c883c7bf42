/**
 * App-level attacks: what a mirror, a CDN or a network attacker (no signing keys) can try
 * against an installed app, and what a repository mistake could do. In every case the app
 * must not install anything it should not, must report an `error` (or simply no update), and
 * must keep running: no exception escapes, no quit, the installed files untouched.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BadVersionNumberError,
  DownloadLengthMismatchError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  SlowRetrievalError,
} from '../../updater/core/errors.js';
import { serializeChannelIndex } from '../../updater/release/index.js';
import { endlessResponse, stallingResponse } from '../helpers/simulator.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir, type AppHarness, type HarnessOptions } from './fixtures.js';

let repo: ReleaseRepo;
let dir: string;
let installDir: string;
let exe: string;
let unhandled: ReturnType<typeof vi.fn>;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  dir = await tempDir('etuf-attack-');
  installDir = join(dir, 'opt', 'MyApp');
  exe = join(installDir, 'myapp');
  await mkdir(installDir, { recursive: true });
  await writeFile(exe, '#!/bin/sh\nexit 0\n');
  await chmod(exe, 0o755);
  await writeFile(join(installDir, 'version.txt'), 'installed');
  unhandled = vi.fn();
  process.on('unhandledRejection', unhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', unhandled);
  await cleanupTempDirs();
});

/** A real tar.gz of an app whose version.txt says `version`. */
async function appArchive(version: string): Promise<Buffer> {
  const src = join(dir, `src-${version}`, 'MyApp');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'myapp'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  await writeFile(join(src, 'version.txt'), version);
  const archive = join(dir, `${version}.tar.gz`);
  execFileSync('tar', ['-czf', archive, '-C', join(dir, `src-${version}`), 'MyApp']);
  return readFile(archive);
}

function harness(version: string, extra: Partial<HarnessOptions> = {}): Promise<AppHarness> {
  return appHarness(repo, { version, hostOptions: { execPath: exe }, ...extra });
}

/** Check, download and install as an app would with autoDownload; never throws. */
async function tryToUpdate(app: AppHarness): Promise<void> {
  app.updater.autoDownload = true;
  const result = await app.updater.checkForUpdates().catch(() => null);
  if (result?.downloadPromise) await result.downloadPromise.catch(() => undefined);
  if (app.names().includes('update-downloaded')) await app.updater.quitAndInstall();
}

/** The app is as it was: same files, no quit, no relaunch, nothing left beside it, no stray rejection. */
async function expectAppUntouched(app: AppHarness): Promise<void> {
  expect(await readFile(join(installDir, 'version.txt'), 'utf8')).toBe('installed');
  expect(await readdir(join(dir, 'opt'))).toEqual(['MyApp']);
  expect(app.host.quitCount).toBe(0);
  expect(app.host.relaunches).toEqual([]);
  expect(unhandled).not.toHaveBeenCalled();
}

describe('rollback and replay', () => {
  it('an older release published again under newer metadata is not installed', async () => {
    repo.publish({ version: '1.0.0', bytes: await appArchive('1.0.0') });
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0') });
    // The 1.1.0 install; then the repository signs new metadata whose index names 1.0.0 as newest.
    const index = repo.index('stable');
    index.releases = index.releases.filter((r) => r.version === '1.0.0');
    repo.writeIndex(index);
    repo.commit();
    const app = await harness('1.1.0');
    await tryToUpdate(app);
    expect(app.names()).toEqual(['checking-for-update', 'update-not-available']);
    expect(repo.sim.fetched.some((u) => u.endsWith('MyApp-1.0.0.tar.gz'))).toBe(false);
    await expectAppUntouched(app);
  });

  it('an old installer re-listed as a new version (signed custom says 1.0.0) is refused before download', async () => {
    const old = await appArchive('1.0.0');
    repo.publish({ version: '1.2.0', bytes: old, custom: { version: '1.0.0' } });
    const app = await harness('1.1.0');
    await tryToUpdate(app);
    expect(app.names()).toEqual(['checking-for-update', 'error']);
    expect(app.of('error')[0][0]).toBeInstanceOf(RepositoryError);
    expect(app.of('error')[0][0].message).toMatch(/signed as version "1\.0\.0"/);
    expect(repo.sim.fetched.some((u) => u.endsWith('MyApp-1.2.0.tar.gz'))).toBe(false);
    await expectAppUntouched(app);
  });

  it('replayed old timestamp metadata is refused (rollback attack)', async () => {
    repo.publish({ version: '1.0.0' });
    const oldTimestamp = await repo.sim.metadataBytes('timestamp');
    repo.publish({ version: '1.0.1' });
    const app = await harness('1.0.0', { autoDownload: false });
    await app.updater.checkForUpdates(); // the app has seen the newer timestamp
    repo.sim.intercept((url) =>
      url.endsWith('/timestamp.json')
        ? {
            start: 0,
            body: (async function* () {
              yield oldTimestamp;
            })(),
          }
        : undefined,
    );
    await tryToUpdate(app);
    expect(app.of('error')[0][0]).toBeInstanceOf(BadVersionNumberError);
    await expectAppUntouched(app);
  });
});

describe('tampering', () => {
  it('a tampered installer is not installed', async () => {
    const archive = await appArchive('1.1.0');
    repo.publish({ version: '1.1.0', bytes: archive });
    const evil = await appArchive('evil');
    const tampered = Buffer.alloc(archive.length);
    evil.copy(tampered); // same length as the signed one, different content
    repo.sim.intercept((url) =>
      url.endsWith('MyApp-1.1.0.tar.gz')
        ? {
            start: 0,
            totalLength: tampered.length,
            body: (async function* () {
              yield tampered;
            })(),
          }
        : undefined,
    );
    const app = await harness('1.0.0');
    await tryToUpdate(app);
    expect(app.of('error')[0][0]).toBeInstanceOf(LengthOrHashMismatchError);
    expect(app.names()).not.toContain('update-downloaded');
    await expectAppUntouched(app);
  });

  it('an installer with endless data is cut off at its signed length', async () => {
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0') });
    repo.sim.intercept((url) => (url.endsWith('MyApp-1.1.0.tar.gz') ? endlessResponse() : undefined));
    const app = await harness('1.0.0');
    await tryToUpdate(app);
    expect(app.of('error')[0][0]).toBeInstanceOf(DownloadLengthMismatchError);
    await expectAppUntouched(app);
  });

  it('a mirror cannot change a rollout: an altered channel index (staging 10 % -> 99 %) is refused', async () => {
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0'), stagingPercentage: 10 });
    // Same length as the signed index, so only the hash can tell.
    const widened = serializeChannelIndex({
      ...repo.index('stable'),
      releases: repo.index('stable').releases.map((r) => ({ ...r, stagingPercentage: 99 })),
    });
    repo.sim.intercept((url) =>
      url.includes('/channels/stable/')
        ? {
            start: 0,
            body: (async function* () {
              yield widened;
            })(),
          }
        : undefined,
    );
    const app = await harness('1.0.0');
    await tryToUpdate(app);
    expect(app.of('error')[0][0]).toBeInstanceOf(LengthOrHashMismatchError);
    await expectAppUntouched(app);
  });

  it('staging at 0 % offers nothing and at 100 % offers the update', async () => {
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0'), stagingPercentage: 0 });
    const app = await harness('1.0.0', { autoDownload: false });
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0'), stagingPercentage: 100 });
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
  });
});

describe('freeze and slow retrieval', () => {
  it('an expired timestamp is an error event; the app keeps running and nothing escapes', async () => {
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0') });
    repo.sim.timestamp.expires = '2001-01-01T00:00:00Z';
    repo.sim.updateTimestamp();
    const app = await harness('1.0.0');
    await expect(app.updater.checkForUpdates()).rejects.toThrow(ExpiredMetadataError);
    expect(app.names()).toEqual(['checking-for-update', 'error']);
    expect(app.of('error')[0][1]).toMatch(/Cannot check for updates: ExpiredMetadataError/);
    await tryToUpdate(app);
    await expectAppUntouched(app);
  });

  it('with no error listener, a failed check only rejects (an unheard error event would throw)', async () => {
    repo.sim.timestamp.expires = '2001-01-01T00:00:00Z';
    repo.sim.updateTimestamp();
    const app = await harness('1.0.0');
    app.updater.removeAllListeners('error');
    await expect(app.updater.checkForUpdates()).rejects.toThrow(ExpiredMetadataError);
    await expectAppUntouched(app);
  });

  it('a repository that goes silent mid-download ends in SlowRetrievalError, not a hang', async () => {
    const archive = await appArchive('1.1.0');
    repo.publish({ version: '1.1.0', bytes: archive });
    repo.sim.intercept((url, request) =>
      url.endsWith('MyApp-1.1.0.tar.gz') ? stallingResponse(archive.subarray(0, 100), request.signal) : undefined,
    );
    const app = await harness('1.0.0', { tufConfig: { readTimeoutMs: 80 } });
    await tryToUpdate(app); // the response stalls for good: only the read timeout ends this
    expect(app.of('error')[0][0]).toBeInstanceOf(SlowRetrievalError);
    await expectAppUntouched(app);
  });

  it('a repository that goes silent while serving metadata ends in SlowRetrievalError', async () => {
    repo.publish({ version: '1.1.0' });
    repo.sim.intercept((url, request) =>
      url.endsWith('/timestamp.json') ? stallingResponse(new Uint8Array(10), request.signal) : undefined,
    );
    const app = await harness('1.0.0', { tufConfig: { readTimeoutMs: 80 } });
    await tryToUpdate(app);
    expect(app.of('error')[0][0]).toBeInstanceOf(SlowRetrievalError);
    await expectAppUntouched(app);
  });
});

describe('the control case', () => {
  it('the same set-up without an attacker installs the update', async () => {
    repo.publish({ version: '1.1.0', bytes: await appArchive('1.1.0') });
    const app = await harness('1.0.0');
    await tryToUpdate(app);
    expect(await readFile(join(installDir, 'version.txt'), 'utf8')).toBe('1.1.0');
    expect(app.host.quitCount).toBe(1);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
