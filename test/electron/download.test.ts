import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, LengthOrHashMismatchError, SlowRetrievalError } from '../../updater/core/errors.js';
import type { FetchRequest } from '../../updater/client/fetcher.js';
import { CancellationToken } from '../../updater/electron/cancellation.js';
import { stallingResponse } from '../helpers/simulator.js';
import {
  appHarness,
  cleanupTempDirs,
  installerBytes,
  ReleaseRepo,
  slowResponse,
  spyInstaller,
  until,
} from './fixtures.js';

const INSTALLER = 'MyApp-1.1.0.tar.gz';
const SIZE = 512 * 1024;

let repo: ReleaseRepo;
let bytes: Uint8Array;
/** Requests for the installer, with the offset each asked for. */
let installerRequests: FetchRequest[];

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  bytes = installerBytes(SIZE);
  repo.publish({ version: '1.1.0', bytes });
  installerRequests = [];
  repo.sim.intercept((url, request) => {
    if (url.endsWith(INSTALLER)) installerRequests.push({ ...request });
    return undefined;
  });
});
afterEach(cleanupTempDirs);

/** Serves the installer slowly (so progress events are spread out), optionally breaking. */
function serveInstallerSlowly(options: { breakAt?: number; onlyFirst?: boolean } = {}): void {
  let served = 0;
  repo.sim.intercept((url, request) => {
    if (!url.endsWith(INSTALLER)) return undefined;
    if (options.onlyFirst && served > 0) return slowResponse(bytes, request, { delayMs: 1 });
    served++;
    return slowResponse(bytes, request, { delayMs: 4, breakAt: options.breakAt });
  });
}

describe('downloadUpdate', () => {
  it('reports progress that only grows, ends at 100 %, and adds up to the installer size', async () => {
    serveInstallerSlowly();
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    const [file] = await app.updater.downloadUpdate();
    const progress = app.of('download-progress').map(([p]) => p);
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].transferred).toBeGreaterThanOrEqual(progress[i - 1].transferred);
      expect(progress[i].percent).toBeGreaterThanOrEqual(progress[i - 1].percent);
    }
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ total: SIZE, transferred: SIZE, percent: 100 });
    expect(progress.reduce((sum, p) => sum + p.delta, 0)).toBe(SIZE);
    expect(progress.every((p) => p.bytesPerSecond > 0)).toBe(true);
    expect(app.names().slice(-1)).toEqual(['update-downloaded']);
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
    expect(file).toBe(join(app.cacheDir, 'pending', INSTALLER));
    const pending = JSON.parse(await readFile(join(app.cacheDir, 'pending.json'), 'utf8')) as unknown;
    expect(pending).toMatchObject({
      version: '1.1.0',
      target: `1.1.0/${INSTALLER}`,
      file,
      kind: 'tar.gz',
      length: SIZE,
    });
  });

  it('cancellation emits update-cancelled, rejects with CancelledError, and a later download resumes', async () => {
    serveInstallerSlowly({ onlyFirst: true });
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    const token = new CancellationToken();
    app.updater.once('download-progress', () => token.cancel());
    await expect(app.updater.downloadUpdate(token)).rejects.toThrow(CancelledError);
    expect(app.names()).toContain('update-cancelled');
    expect(app.names()).not.toContain('update-downloaded');
    expect(app.names()).not.toContain('error');
    const part = await stat(join(app.cacheDir, 'pending', `${INSTALLER}.part`));
    expect(part.size).toBeGreaterThan(0);

    const [file] = await app.updater.downloadUpdate();
    expect(installerRequests.at(-1)!.offset).toBe(part.size);
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('resumes with a Range request after the connection breaks mid-download', async () => {
    serveInstallerSlowly({ breakAt: SIZE / 2, onlyFirst: true });
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    const [file] = await app.updater.downloadUpdate();
    expect(installerRequests.map((r) => r.offset ?? 0)).toEqual([0, SIZE / 2]);
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('after an app restart, resumes the partial download left behind', async () => {
    repo.sim.intercept((url, request) =>
      url.endsWith(INSTALLER) ? slowResponse(bytes, request, { delayMs: 1, breakAt: SIZE / 4 }) : undefined,
    );
    const first = await appHarness(repo, { version: '1.0.0', tufConfig: { readTimeoutMs: 300 } });
    await first.updater.checkForUpdates();
    // Every attempt breaks at the same place: the download fails, keeping its .part file.
    await expect(first.updater.downloadUpdate()).rejects.toThrow();
    expect(first.names()).toContain('error');
    repo.sim.clearIntercepts();
    installerRequests = [];
    repo.sim.intercept((url, request) => {
      if (url.endsWith(INSTALLER)) installerRequests.push({ ...request });
      return undefined;
    });

    const restarted = await appHarness(repo, { version: '1.0.0', dir: first.dir });
    await restarted.updater.checkForUpdates();
    const [file] = await restarted.updater.downloadUpdate();
    expect(installerRequests.map((r) => r.offset)).toEqual([SIZE / 4]);
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('after an app restart, reuses a verified download instead of fetching it again', async () => {
    const first = await appHarness(repo, { version: '1.0.0' });
    await first.updater.checkForUpdates();
    const [file] = await first.updater.downloadUpdate();
    expect(installerRequests).toHaveLength(1);

    const restarted = await appHarness(repo, { version: '1.0.0', dir: first.dir, autoDownload: true });
    const result = await restarted.updater.checkForUpdates();
    expect(await result!.downloadPromise).toEqual([file]);
    expect(installerRequests).toHaveLength(1);
    expect(restarted.names()).toEqual(['checking-for-update', 'update-available', 'update-downloaded']);
  });

  it('a repository that goes silent mid-download ends in SlowRetrievalError, not a hang', async () => {
    repo.sim.intercept((url, request) =>
      url.endsWith(INSTALLER) ? stallingResponse(bytes.subarray(0, 1000), request.signal) : undefined,
    );
    const app = await appHarness(repo, { version: '1.0.0', tufConfig: { readTimeoutMs: 100 } });
    await app.updater.checkForUpdates();
    // The response stalls for good: only the read timeout ends this.
    await expect(app.updater.downloadUpdate()).rejects.toThrow(SlowRetrievalError);
    expect(app.of('error')[0][0]).toBeInstanceOf(SlowRetrievalError);
    expect(app.names()).not.toContain('update-downloaded');
  });

  it('keeps one installer in the cache: a newer release replaces an older pending one', async () => {
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    repo.publish({ version: '1.2.0', bytes: 'release 1.2.0' });
    await app.updater.checkForUpdates();
    const [file] = await app.updater.downloadUpdate();
    expect(await readdir(join(app.cacheDir, 'pending'))).toEqual(['MyApp-1.2.0.tar.gz']);
    expect(await readFile(file, 'utf8')).toBe('release 1.2.0');
  });
});

describe('verification of the installer', () => {
  it('a tampered installer is refused: error event, no file, nothing installed', async () => {
    const tampered = Buffer.from(bytes);
    tampered[1000] ^= 0xff;
    repo.sim.intercept((url, request) =>
      url.endsWith(INSTALLER) ? slowResponse(tampered, request, { delayMs: 0 }) : undefined,
    );
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer] });
    await app.updater.checkForUpdates();
    await expect(app.updater.downloadUpdate()).rejects.toThrow(LengthOrHashMismatchError);
    expect(app.of('error')[0][0]).toBeInstanceOf(LengthOrHashMismatchError);
    expect(await readdir(join(app.cacheDir, 'pending'))).toEqual([]);
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(installer.calls).toHaveLength(0);
    expect(app.host.quitCount).toBe(0);
  });

  it('a pending installer changed on disk after download is refused at install time', async () => {
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer] });
    await app.updater.checkForUpdates();
    const [file] = await app.updater.downloadUpdate();
    const onDisk = await readFile(file);
    onDisk[0] ^= 1;
    await writeFile(file, onDisk);
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error').at(-1)![0]).toBeInstanceOf(LengthOrHashMismatchError);
    expect(installer.calls).toHaveLength(0);
  });

  it('quitAndInstall hands the verified file to the installer with electron-updater flags', async () => {
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer] });
    await app.updater.checkForUpdates();
    const [file] = await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(await app.updater.quitAndInstall(true, true)).toBe(true);
    expect(
      installer.calls.map(({ file: f, version, kind, isSilent, isForceRunAfter, relaunch }) => ({
        f,
        version,
        kind,
        isSilent,
        isForceRunAfter,
        relaunch,
      })),
    ).toEqual([
      { f: file, version: '1.1.0', kind: 'tar.gz', isSilent: false, isForceRunAfter: false, relaunch: true },
      { f: file, version: '1.1.0', kind: 'tar.gz', isSilent: true, isForceRunAfter: true, relaunch: true },
    ]);
  });

  it('autoInstallOnAppQuit installs silently, without relaunch, when the app quits', async () => {
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer] });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    app.host.quit();
    expect(app.host.quitCount).toBe(0); // held back until the install is done
    await until(() => installer.calls.length > 0);
    expect(installer.calls.map((c) => [c.isSilent, c.relaunch])).toEqual([[true, false]]);
  });

  it('without autoInstallOnAppQuit, quitting just quits', async () => {
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer], autoInstallOnAppQuit: false });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    app.host.quit();
    expect(app.host.quitCount).toBe(1);
    expect(installer.calls).toHaveLength(0);
  });
});
