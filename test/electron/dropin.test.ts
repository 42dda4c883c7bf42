/**
 * electron-updater's surface beyond check/download/install: dev mode, update config files,
 * setFeedURL, request headers, checkForUpdatesAndNotify, rollout and support hooks,
 * fullChangelog, autoRunAppAfterInstall, CancellationToken, signals, the singleton. The
 * repository is served over real HTTP on 127.0.0.1 wherever the default fetcher is under test.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancellationError, CancelledError, StorageError, ValueError } from '../../updater/core/errors.js';
import { autoUpdater } from '../../updater/electron/auto-updater.js';
import { CancellationToken } from '../../updater/electron/cancellation.js';
import { NoOpLogger } from '../../updater/electron/compat.js';
import { TufAppUpdater } from '../../updater/electron/app-updater.js';
import { NodeHost } from '../../updater/electron/electron-host.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, spyInstaller, tempDir, type HarnessOptions } from './fixtures.js';
import { serveRepo, type RepoServer } from './repo-server.js';

let repo: ReleaseRepo;
let server: RepoServer;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  server = await serveRepo(repo.sim);
});

afterEach(async () => {
  await server.close();
  await cleanupTempDirs();
});

/** An app that finds its repository the way a shipped app does: no URLs, root or fetcher passed. */
const unconfigured: Partial<HarnessOptions> = {
  metadataUrl: undefined,
  targetsUrl: undefined,
  trustedRoot: undefined,
  fetcher: undefined,
};

function recordingLogger(): {
  lines: string[];
  info(m: unknown): void;
  warn(m: unknown): void;
  error(m: unknown): void;
} {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(String(m)),
    warn: (m) => void lines.push(String(m)),
    error: (m) => void lines.push(String(m)),
  };
}

async function writeDevConfig(appPath: string, config: object): Promise<void> {
  await mkdir(appPath, { recursive: true });
  await writeFile(join(appPath, 'root.json'), repo.sim.initialRoot);
  await writeFile(join(appPath, 'dev-app-update.json'), JSON.stringify(config));
}

describe('dev mode (not packaged)', () => {
  it('a check logs, resolves null and touches nothing, as electron-updater does', async () => {
    repo.publish({ version: '1.1.0' });
    const logger = recordingLogger();
    const app = await appHarness(repo, {
      version: '1.0.0',
      ...unconfigured,
      logger,
      hostOptions: { isPackaged: false },
    });
    expect(app.updater.isUpdaterActive()).toBe(false);
    await expect(app.updater.checkForUpdates()).resolves.toBeNull();
    await expect(app.updater.checkForUpdatesAndNotify()).resolves.toBeNull();
    expect(app.names()).toEqual([]);
    expect(logger.lines.join('\n')).toMatch(/Skip checkForUpdates because application is not packed/);
    await expect(readdir(app.dir)).resolves.toEqual([]); // no userData, no cache
  });

  it('with forceDevUpdateConfig reads dev-app-update.json from the app folder and checks over HTTP', async () => {
    repo.publish({ version: '1.1.0' });
    const dir = await tempDir();
    await writeDevConfig(join(dir, 'app'), { url: server.origin, root: 'root.json' });
    const app = await appHarness(repo, {
      version: '1.0.0',
      dir,
      ...unconfigured,
      hostOptions: { isPackaged: false, appPath: join(dir, 'app') },
    });
    app.updater.forceDevUpdateConfig = true;
    const result = await app.updater.checkForUpdates();
    expect(result?.updateInfo.version).toBe('1.1.0');
    expect(server.requests.some((r) => /^\/targets\/channels\/stable\/(\w+\.)?linux-x64\.json$/.test(r.path))).toBe(
      true,
    );
    expect(app.updater.getFeedURL()).toBe(`${server.origin}/metadata`);
  });

  it('with forceDevUpdateConfig and no dev-app-update.json, the error names the file', async () => {
    const dir = await tempDir();
    const app = await appHarness(repo, {
      version: '1.0.0',
      dir,
      ...unconfigured,
      hostOptions: { isPackaged: false, appPath: join(dir, 'app') },
    });
    app.updater.forceDevUpdateConfig = true;
    const error = await app.updater.checkForUpdates().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(join(dir, 'app', 'dev-app-update.json'));
  });

  it('updateConfigPath replaces the embedded settings in a packaged app', async () => {
    repo.publish({ version: '1.1.0', channel: 'beta' });
    const dir = await tempDir();
    await writeDevConfig(join(dir, 'conf'), {
      metadataUrl: `${server.origin}/metadata`,
      targetsUrl: `${server.origin}/targets`,
      channel: 'beta',
      root: 'root.json',
    });
    const app = await appHarness(repo, { version: '1.0.0', dir, ...unconfigured });
    app.updater.updateConfigPath = join(dir, 'conf', 'dev-app-update.json');
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    expect(app.updater.channel).toBe('beta');
  });
});

describe('setFeedURL / getFeedURL', () => {
  it('points the app at the repository (metadata/ and targets/ under the URL); the root stays the build one', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0', ...unconfigured, trustedRoot: repo.sim.initialRoot });
    app.updater.setFeedURL({ provider: 'generic', url: `${server.origin}/` });
    expect(app.updater.getFeedURL()).toBe(`${server.origin}/`);
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    expect(server.requests.some((r) => r.path === '/metadata/timestamp.json')).toBe(true);
  });

  it('refuses providers that are not TUF repositories, and changes nothing', () => {
    const updater = new TufAppUpdater({ host: hostFor('1.0.0'), logger: null });
    updater.setFeedURL('https://updates.example/app');
    expect(() => updater.setFeedURL({ provider: 'github', url: 'https://github.com/o/r' })).toThrow(ValueError);
    expect(() => updater.setFeedURL('ftp://updates.example/')).toThrow(ValueError);
    expect(updater.getFeedURL()).toBe('https://updates.example/app');
  });
});

describe('request headers', () => {
  it('requestHeaders and addAuthHeader reach the server on the next requests', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, {
      version: '1.0.0',
      metadataUrl: `${server.origin}/metadata`,
      targetsUrl: `${server.origin}/targets`,
      fetcher: undefined,
    });
    app.updater.requestHeaders = { 'x-app': 'demo' };
    await app.updater.checkForUpdates();
    expect(server.requests.at(-1)?.headers['x-app']).toBe('demo');
    expect(server.requests.some((r) => r.headers.authorization)).toBe(false);
    app.updater.addAuthHeader('Bearer s3cret');
    await app.updater.checkForUpdates();
    expect(server.requests.at(-1)?.headers).toMatchObject({ 'x-app': 'demo', authorization: 'Bearer s3cret' });
  });
});

describe('checkForUpdatesAndNotify', () => {
  it("shows electron-updater's default notification once the download is done", async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0', autoDownload: true, hostOptions: { appName: 'MyApp' } });
    const result = await app.updater.checkForUpdatesAndNotify();
    await result?.downloadPromise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(app.host.notifications).toEqual([
      {
        title: 'A new update is ready to install',
        body: 'MyApp version 1.1.0 has been downloaded and will be automatically installed on exit',
      },
    ]);
  });

  it('fills {appName} and {version} into custom texts; no download, no notification', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0', autoDownload: true, hostOptions: { appName: 'MyApp' } });
    const result = await app.updater.checkForUpdatesAndNotify({
      title: '{appName} {version}',
      body: 'restart for {version}',
    });
    await result?.downloadPromise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(app.host.notifications).toEqual([{ title: 'MyApp 1.1.0', body: 'restart for 1.1.0' }]);

    const quiet = await appHarness(repo, { version: '1.0.0', autoDownload: false });
    await quiet.updater.checkForUpdatesAndNotify();
    expect(quiet.host.notifications).toEqual([]);
  });
});

describe('rollout, support and changelog', () => {
  it('isUserWithinRollout replaces the staging decision', async () => {
    repo.publish({ version: '1.1.0', stagingPercentage: 0 });
    const app = await appHarness(repo, { version: '1.0.0' });
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    const asked: string[] = [];
    app.updater.isUserWithinRollout = async (info) => (asked.push(`${info.version}@${info.stagingPercentage}`), true);
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    expect(asked).toEqual(['1.1.0@0']);
  });

  it('a release above the OS version in signed minimumSystemVersion is not offered; isUpdateSupported can decide', async () => {
    repo.publish({ version: '1.1.0', custom: { minimumSystemVersion: '999.0.0' } });
    const app = await appHarness(repo, { version: '1.0.0' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(false);
    expect(result?.updateInfo.minimumSystemVersion).toBe('999.0.0');
    app.updater.isUpdateSupported = (info) => info.minimumSystemVersion === '999.0.0';
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
  });

  it('fullChangelog lists the notes of every release above the running one', async () => {
    repo.publish({ version: '1.0.0', notes: 'old' });
    repo.publish({ version: '1.1.0', notes: 'one' });
    repo.publish({ version: '1.2.0', notes: 'two' });
    const app = await appHarness(repo, { version: '1.0.0' });
    expect((await app.updater.checkForUpdates())?.updateInfo.releaseNotes).toBe('two');
    app.updater.fullChangelog = true;
    expect((await app.updater.checkForUpdates())?.updateInfo.releaseNotes).toEqual([
      { version: '1.2.0', note: 'two' },
      { version: '1.1.0', note: 'one' },
    ]);
  });
});

describe('install options', () => {
  it('autoRunAppAfterInstall decides the relaunch of a non-silent install; isForceRunAfter that of a silent one', async () => {
    repo.publish({ version: '1.1.0' });
    const installer = spyInstaller();
    const app = await appHarness(repo, { version: '1.0.0', installers: [installer] });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    app.updater.autoRunAppAfterInstall = false;
    await app.updater.quitAndInstall();
    app.updater.autoRunAppAfterInstall = true;
    await app.updater.quitAndInstall();
    await app.updater.quitAndInstall(true, false);
    await app.updater.quitAndInstall(true, true);
    expect(installer.calls.map((c) => c.relaunch)).toEqual([false, true, false, true]);
  });

  it('emits appimage-filename-updated with the AppImage path after an AppImage update', async () => {
    repo.publish({ version: '1.1.0', fileName: 'MyApp-1.1.0.AppImage' });
    const app = await appHarness(repo, {
      version: '1.0.0',
      installKind: 'AppImage',
      installers: [spyInstaller()],
      hostOptions: { env: { APPIMAGE: '/opt/MyApp.AppImage' } },
    });
    const paths: string[] = [];
    app.updater.on('appimage-filename-updated', (path) => void paths.push(path));
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(paths).toEqual(['/opt/MyApp.AppImage']);
  });
});

describe('CancellationToken', () => {
  it('works without arguments, cancels its children, and rejects createPromise with CancellationError', async () => {
    const parent = new CancellationToken();
    const child = new CancellationToken(parent);
    const grandchild = new CancellationToken();
    grandchild.parent = child;
    const pending = parent.createPromise<number>(() => {});
    let cleaned = false;
    const withCleanup = child.createPromise<number>((_resolve, _reject, onCancel) =>
      onCancel(() => void (cleaned = true)),
    );
    parent.cancel();
    expect([parent.cancelled, child.cancelled, grandchild.cancelled]).toEqual([true, true, true]);
    await expect(pending).rejects.toBeInstanceOf(CancellationError);
    await expect(withCleanup).rejects.toThrow('cancelled');
    expect(cleaned).toBe(true);
    expect(new CancellationError()).toBeInstanceOf(CancelledError);
    expect(new CancellationError().name).toBe('CancellationError');
  });

  it('a disposed child no longer follows its parent', () => {
    const parent = new CancellationToken();
    const child = new CancellationToken(parent);
    child.dispose();
    parent.cancel();
    expect(child.cancelled).toBe(false);
  });

  it('a cancelled download rejects with CancellationError and emits update-cancelled', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    const token = new CancellationToken();
    token.cancel();
    await expect(app.updater.downloadUpdate(token)).rejects.toBeInstanceOf(CancellationError);
    expect(app.names()).toContain('update-cancelled');
  });
});

describe('signals, NoOpLogger and the singleton', () => {
  it('signals register typed listeners for the events', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    const seen: string[] = [];
    app.updater.signals.progress((p) => void seen.push(`progress ${p.percent}`));
    app.updater.signals.updateDownloaded((e) => void seen.push(`downloaded ${e.version}`));
    app.updater.signals.updateCancelled(() => void seen.push('cancelled'));
    app.updater.signals.login(() => void seen.push('login'));
    expect(app.updater.listenerCount('login')).toBe(1);
    app.updater.logger = new NoOpLogger();
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(seen.at(-1)).toBe('downloaded 1.1.0');
    expect(seen.filter((s) => s.startsWith('progress')).at(-1)).toBe('progress 100');
  });

  it('autoUpdater is created on first use, from real Electron (absent in plain Node)', () => {
    expect(autoUpdater).toBeInstanceOf(TufAppUpdater);
    expect(() => autoUpdater.checkForUpdates()).toThrow(/'electron' is not available|cannot be loaded/);
  });
});

function hostFor(version: string): NodeHost {
  return new NodeHost({ version, userDataPath: join('/nonexistent', 'userData') });
}
