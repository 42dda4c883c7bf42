/**
 * Installers that cannot run on this Linux machine (pkexec, NSIS, Squirrel.Mac) are tested by
 * what they would do: the exact commands, arguments and files, through an injected spawn and
 * a stand-in for Electron's autoUpdater.
 */
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallError } from '../../updater/electron/errors.js';
import { digest } from '../../updater/core/hashes.js';
import type { SquirrelUpdater } from '../../updater/electron/electron-host.js';
import { detectInstallKind, ELEVATED_INSTALL_SCRIPT } from '../../updater/electron/installers/index.js';
import { handToSquirrel, startZipFeed } from '../../updater/electron/installers/squirrel-mac.js';
import type { SpawnFunction, SpawnOptions } from '../../updater/electron/installers/spawn.js';
import { NodeHost } from '../../updater/electron/electron-host.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir, until } from './fixtures.js';

interface SpawnCall {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
}

/** A spawn that records calls; each child starts, writes `stderr`, and exits with `exitCode`. */
function recordingSpawn(exitCode = 0, stderr = ''): SpawnFunction & { calls: SpawnCall[]; unrefs: number } {
  const calls: SpawnCall[] = [];
  const spawn = ((command: string, args: readonly string[], options: SpawnOptions) => {
    calls.push({ command, args: [...args], options });
    const child = Object.assign(new EventEmitter(), { stderr: new PassThrough(), unref: () => void spawn.unrefs++ });
    setImmediate(() => {
      child.emit('spawn');
      if (stderr) child.stderr.write(stderr);
      child.stderr.end();
      setImmediate(() => child.emit('close', exitCode, null));
    });
    return child;
  }) as unknown as SpawnFunction & { calls: SpawnCall[]; unrefs: number };
  spawn.calls = calls;
  spawn.unrefs = 0;
  return spawn;
}

let repo: ReleaseRepo;
/** What ReleaseRepo.publish serves for 1.1.0 when given no bytes. */
const INSTALLER = 'installer of 1.1.0';

beforeEach(async () => {
  repo = await ReleaseRepo.create();
});
afterEach(cleanupTempDirs);

async function downloadedApp(
  fileName: string,
  platform: 'linux' | 'win32' | 'darwin',
  kind: 'deb' | 'rpm' | 'nsis' | 'zip',
  spawn: SpawnFunction,
  squirrel?: SquirrelUpdater,
) {
  repo.publish({ version: '1.1.0', fileName, platform, arch: 'x64' });
  const app = await appHarness(repo, {
    version: '1.0.0',
    platform,
    installKind: kind,
    spawn,
    hostOptions: { execPath: '/opt/MyApp/myapp', squirrel },
  });
  await app.updater.checkForUpdates();
  const [file] = await app.updater.downloadUpdate();
  return { app, file };
}

describe('deb and rpm', () => {
  // What the elevated script does with these arguments: elevated-install.test.ts.
  it('runs pkexec sh <install script> deb <signed length> <signed hashes>, the package on stdin, then relaunches and quits', async () => {
    const spawn = recordingSpawn();
    const { app } = await downloadedApp('myapp_1.1.0_amd64.deb', 'linux', 'deb', spawn);
    const { sha256, sha512 } = digest(Buffer.from(INSTALLER), ['sha256', 'sha512']);
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(spawn.calls).toEqual([
      {
        command: 'pkexec',
        args: [
          '/bin/sh',
          '-c',
          ELEVATED_INSTALL_SCRIPT,
          'electron-tuf-install',
          'deb',
          String(INSTALLER.length),
          `sha256=${sha256}`,
          `sha512=${sha512}`,
        ],
        options: { detached: false, stdin: expect.any(Number) as unknown },
      },
    ]);
    // The package replaced the files in place: the same path is the new version.
    expect(app.host.relaunches).toEqual([{ execPath: '/opt/MyApp/myapp' }]);
    expect(app.host.quitCount).toBe(1);
  });

  it('runs the same for rpm', async () => {
    const spawn = recordingSpawn();
    const { app } = await downloadedApp('myapp-1.1.0.x86_64.rpm', 'linux', 'rpm', spawn);
    expect(await app.updater.quitAndInstall(true, false)).toBe(true);
    expect(spawn.calls.map((c) => [c.command, ...c.args.slice(0, 2), ...c.args.slice(3, 6)])).toEqual([
      ['pkexec', '/bin/sh', '-c', 'electron-tuf-install', 'rpm', String(INSTALLER.length)],
    ]);
    expect(app.host.relaunches).toEqual([]); // silent, not forced to run after: no relaunch
    expect(app.host.quitCount).toBe(1);
  });

  it('a failing package manager is an error event with its message, and the app keeps running', async () => {
    const spawn = recordingSpawn(126, 'Request dismissed');
    const { app } = await downloadedApp('myapp_1.1.0_amd64.deb', 'linux', 'deb', spawn);
    expect(await app.updater.quitAndInstall()).toBe(false);
    const [error] = app.of('error')[0];
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toMatch(/exited with 126: Request dismissed/);
    expect(app.host.quitCount).toBe(0);
  });
});

describe('Windows NSIS', () => {
  const cases: Array<[boolean, boolean, string[]]> = [
    [false, false, ['--updated']],
    [true, false, ['--updated', '/S']],
    [true, true, ['--updated', '/S', '--force-run']],
  ];
  for (const [isSilent, isForceRunAfter, args] of cases) {
    it(`quitAndInstall(${isSilent}, ${isForceRunAfter}) starts the installer detached with ${args.join(' ')}, then quits`, async () => {
      const spawn = recordingSpawn();
      const { app, file } = await downloadedApp('MyApp Setup 1.1.0.exe', 'win32', 'nsis', spawn);
      expect(await app.updater.quitAndInstall(isSilent, isForceRunAfter)).toBe(true);
      expect(spawn.calls).toEqual([{ command: file, args, options: { detached: true } }]);
      expect(spawn.unrefs).toBe(1);
      expect(app.host.quitCount).toBe(1);
      expect(app.host.relaunches).toEqual([]); // the installer starts the app, not us
    });
  }

  it('an installer that cannot start is an error event and no quit', async () => {
    const spawn: SpawnFunction = () => {
      const child = Object.assign(new EventEmitter(), { unref: () => {} });
      setImmediate(() => child.emit('error', Object.assign(new Error('spawn EACCES'), { code: 'EACCES' })));
      return child;
    };
    const { app } = await downloadedApp('MyApp Setup 1.1.0.exe', 'win32', 'nsis', spawn);
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(InstallError);
    expect(app.host.quitCount).toBe(0);
  });
});

/** Electron's autoUpdater played by a test: it really fetches the feed and the zip it names. */
class FakeSquirrel extends EventEmitter implements SquirrelUpdater {
  feedUrl = '';
  downloaded?: Buffer;
  quitAndInstallCalls = 0;

  setFeedURL(options: { url: string; serverType?: 'json' | 'default' }): void {
    expect(options.serverType).toBe('json');
    this.feedUrl = options.url;
  }

  checkForUpdates(): void {
    void (async () => {
      try {
        const feed = (await (await fetch(this.feedUrl)).json()) as { url: string };
        this.downloaded = Buffer.from(await (await fetch(feed.url)).arrayBuffer());
        this.emit('update-downloaded', {}, 'notes', '1.1.0', new Date(), feed.url);
      } catch (error) {
        this.emit('error', error);
      }
    })();
  }

  quitAndInstall(): void {
    this.quitAndInstallCalls++;
  }
}

describe('macOS zip through Squirrel.Mac', () => {
  it('serves the verified zip on 127.0.0.1 behind a random token and calls quitAndInstall', async () => {
    const squirrel = new FakeSquirrel();
    const zip = Buffer.from('PK\u0003\u0004 pretend zip of MyApp.app');
    repo.publish({ version: '1.1.0', fileName: 'MyApp-1.1.0-mac.zip', platform: 'darwin', arch: 'x64', bytes: zip });
    const app = await appHarness(repo, {
      version: '1.0.0',
      platform: 'darwin',
      installKind: 'zip',
      hostOptions: { squirrel },
    });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(squirrel.downloaded?.equals(zip)).toBe(true);
    expect(squirrel.feedUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{64}\/feed\.json$/);
    expect(squirrel.quitAndInstallCalls).toBe(1);
    // The feed is closed once Squirrel has the update.
    await expect(fetch(squirrel.feedUrl)).rejects.toThrow();
  });

  it('installing on quit lets Squirrel install at exit instead of relaunching', async () => {
    const squirrel = new FakeSquirrel();
    repo.publish({ version: '1.1.0', fileName: 'MyApp-1.1.0-mac.zip', platform: 'darwin', arch: 'x64' });
    const app = await appHarness(repo, {
      version: '1.0.0',
      platform: 'darwin',
      installKind: 'zip',
      hostOptions: { squirrel },
    });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    app.host.quit();
    await until(() => app.host.quitCount === 1);
    expect(squirrel.quitAndInstallCalls).toBe(0);
    expect(squirrel.downloaded).toBeDefined();
  });

  it('the feed answers nothing without the token', async () => {
    const dir = await tempDir();
    const zipPath = join(dir, 'u.zip');
    await writeFile(zipPath, 'zip bytes');
    const feed = await startZipFeed(zipPath);
    try {
      const origin = new URL(feed.feedUrl).origin;
      const token = new URL(feed.feedUrl).pathname.split('/')[1];
      const wrongToken = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
      for (const path of [
        '/feed.json',
        '/update.zip',
        `/${wrongToken}/update.zip`,
        `/${token}/../update.zip`,
        `/${token}/other`,
      ]) {
        expect((await fetch(origin + path)).status, path).toBe(404);
      }
      expect(await (await fetch(feed.zipUrl)).text()).toBe('zip bytes');
      expect((await fetch(feed.zipUrl, { method: 'POST' })).status).toBe(404);
    } finally {
      await feed.close();
    }
  });

  it("Squirrel's error (e.g. a code signature mismatch) is an InstallError", async () => {
    const squirrel = new FakeSquirrel();
    squirrel.checkForUpdates = () =>
      void setImmediate(() => squirrel.emit('error', new Error('Code signature did not match')));
    await expect(handToSquirrel(squirrel, 'http://127.0.0.1:1/x')).rejects.toThrow(/Code signature did not match/);
    expect(squirrel.listenerCount('error')).toBe(0);
  });

  it('a Squirrel that never answers times out', async () => {
    const squirrel = new FakeSquirrel();
    squirrel.checkForUpdates = () => {};
    await expect(handToSquirrel(squirrel, 'http://127.0.0.1:1/x', 50)).rejects.toThrow(InstallError);
  });
});

describe('detectInstallKind', () => {
  it('NSIS on Windows, zip on macOS, AppImage with $APPIMAGE, package-type for deb/rpm, else tar.gz', async () => {
    const dir = await tempDir();
    const host = (env: Record<string, string>, resourcesPath = dir) =>
      new NodeHost({ version: '1.0.0', userDataPath: dir, resourcesPath, env });
    expect(await detectInstallKind(host({}), 'win32')).toBe('nsis');
    expect(await detectInstallKind(host({}), 'darwin')).toBe('zip');
    expect(await detectInstallKind(host({ APPIMAGE: '/x/MyApp.AppImage' }), 'linux')).toBe('AppImage');
    expect(await detectInstallKind(host({}), 'linux')).toBe('tar.gz');
    for (const kind of ['deb', 'rpm'] as const) {
      const resources = join(dir, kind);
      await mkdir(resources);
      await writeFile(join(resources, 'package-type'), `${kind}\n`);
      expect(await detectInstallKind(host({}, resources), 'linux')).toBe(kind);
    }
  });

  it('an unreadable package-type is an error, not a guess that would install the wrong kind', async () => {
    const resources = await tempDir();
    await mkdir(join(resources, 'package-type')); // not a regular file: readable by nobody
    const host = new NodeHost({ version: '1.0.0', userDataPath: resources, resourcesPath: resources, env: {} });
    await expect(detectInstallKind(host, 'linux')).rejects.toThrow(/package-type/);
  });
});
