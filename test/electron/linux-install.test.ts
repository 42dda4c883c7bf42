/**
 * End to end on real files: an "installed" app directory (its executable a stand-in shell
 * script) updates itself from a signed tar.gz through check, download, verification, install
 * and relaunch; and an AppImage replaces itself. It must be the NEW executable that starts.
 */
import { execFileSync } from 'node:child_process';
import { access, chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeserializationError } from '../../updater/core/errors.js';
import { InstallError } from '../../updater/electron/errors.js';
import { swapDirectories } from '../../updater/electron/installers/linux-tar.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir, until } from './fixtures.js';
import { deepPathArchive } from './tar-fixtures.js';

let repo: ReleaseRepo;
let dir: string;
let marker: string;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  dir = await tempDir('etuf-linux-');
  marker = join(dir, 'launched.txt');
});
afterEach(cleanupTempDirs);

/** A stand-in Electron binary: appends "<version> started" to the marker file. */
function standInExecutable(version: string): string {
  return `#!/bin/sh\necho "${version} started" >> "${marker}"\n`;
}

/** An unpacked app directory as electron-builder's linux dir target lays it out. */
async function appDir(root: string, version: string, options: { withExecutable?: boolean } = {}): Promise<string> {
  await mkdir(join(root, 'resources'), { recursive: true });
  await writeFile(join(root, 'resources', 'version.txt'), version);
  if (options.withExecutable !== false) {
    await writeFile(join(root, 'myapp'), standInExecutable(version));
    await chmod(join(root, 'myapp'), 0o755);
  }
  return root;
}

/** A tar.gz of an app directory, with electron-builder's single top-level folder. */
async function tarGzOf(version: string, options: { withExecutable?: boolean } = {}): Promise<Buffer> {
  const src = join(dir, `build-${version}`);
  await appDir(join(src, `MyApp-${version}`), version, options);
  const archive = join(dir, `MyApp-${version}.tar.gz`);
  execFileSync('tar', ['-czf', archive, '-C', src, `MyApp-${version}`]);
  return readFile(archive);
}

async function installed(): Promise<{ installDir: string; exe: string }> {
  const installDir = await appDir(join(dir, 'opt', 'MyApp'), '1.0.0');
  return { installDir, exe: join(installDir, 'myapp') };
}

describe('Linux tar.gz install', () => {
  it('updates an installed 1.0.0 to 1.1.0: verified, swapped, and the new binary relaunched', async () => {
    const { installDir, exe } = await installed();
    repo.publish({ version: '1.1.0', bytes: await tarGzOf('1.1.0'), notes: 'new' });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });

    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(true);

    expect(await readFile(join(installDir, 'resources', 'version.txt'), 'utf8')).toBe('1.1.0');
    expect(await readFile(join(`${installDir}.old`, 'resources', 'version.txt'), 'utf8')).toBe('1.0.0');
    expect(app.host.relaunches).toEqual([{ execPath: exe }]);
    expect(app.host.quitCount).toBe(1);
    await until(async () => (await readFile(marker, 'utf8').catch(() => '')).includes('started'));
    expect(await readFile(marker, 'utf8')).toBe('1.1.0 started\n');
    // Only the install and its kept previous version are left beside it (no staging dirs).
    expect((await readdir(join(dir, 'opt'))).sort()).toEqual(['MyApp', 'MyApp.old']);

    // The relaunched 1.1.0 cleans up at its first check: previous version and pending installer.
    const restarted = await appHarness(repo, { version: '1.1.0', dir: app.dir, hostOptions: { execPath: exe } });
    expect((await restarted.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    expect(await readdir(join(dir, 'opt'))).toEqual(['MyApp']);
    await expect(access(join(restarted.cacheDir, 'pending.json'))).rejects.toThrow();
  });

  it('refuses an update without the executable and leaves the running app as it was', async () => {
    const { installDir, exe } = await installed();
    repo.publish({ version: '1.1.0', bytes: await tarGzOf('1.1.0', { withExecutable: false }) });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(InstallError);
    expect(await readFile(join(installDir, 'resources', 'version.txt'), 'utf8')).toBe('1.0.0');
    expect(await readdir(join(dir, 'opt'))).toEqual(['MyApp']);
    expect(app.host.relaunches).toEqual([]);
    expect(app.host.quitCount).toBe(0);
  });

  it('refuses a signed archive with an entry escaping the install, writing nothing outside', async () => {
    const { installDir, exe } = await installed();
    const { gzipSync } = await import('node:zlib');
    const header = Buffer.alloc(512);
    header.write('../../escaped', 0);
    header.write('0000644\0', 100, 'latin1');
    header.write('00000000001\0', 124, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\x0000', 257, 'latin1');
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const data = Buffer.alloc(512);
    data.write('x');
    repo.publish({ version: '1.1.0', bytes: gzipSync(Buffer.concat([header, data, Buffer.alloc(1024)])) });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(DeserializationError);
    expect(await readdir(dir)).not.toContain('escaped');
    expect(await readdir(join(dir, 'opt'))).toEqual(['MyApp']);
    expect(await readFile(join(installDir, 'resources', 'version.txt'), 'utf8')).toBe('1.0.0');
  });

  // Issue 11 finding 6: the attacker's archive, signed (a signing mistake or a compromised build).
  it('refuses the signed 1.3 KB deep-path archive, leaving nothing behind', async () => {
    const { installDir, exe } = await installed();
    repo.publish({ version: '1.1.0', bytes: deepPathArchive() });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(DeserializationError);
    expect(await readdir(join(dir, 'opt'))).toEqual(['MyApp']);
    expect(await readFile(join(installDir, 'resources', 'version.txt'), 'utf8')).toBe('1.0.0');
    expect(app.host.quitCount).toBe(0);
  });

  it('a refused extraction that cannot be removed is an error that says so, not a silent leftover', async () => {
    const { exe } = await installed();
    repo.publish({ version: '1.1.0', bytes: deepPathArchive() });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    // Append-only: the staging folder can be made in opt/ but not removed from it (a real EPERM).
    const opt = join(dir, 'opt');
    execFileSync('chattr', ['+a', opt]);
    try {
      expect(await app.updater.quitAndInstall()).toBe(false);
    } finally {
      execFileSync('chattr', ['-a', opt]);
    }
    const error = app.of('error')[0][0];
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toMatch(
      /^tar entry 0000\/a\/a.*; and the partial extraction .*\.MyApp\.update-[0-9a-f]+ could not be removed/,
    );
    expect(error.cause).toBeInstanceOf(DeserializationError);
    const [leftover] = error.message.match(/\.MyApp\.update-[0-9a-f]+/)!;
    expect((await readdir(opt)).sort()).toEqual([leftover, 'MyApp']);
  });

  it('installs on quit (autoInstallOnAppQuit) without relaunching', async () => {
    const { installDir, exe } = await installed();
    repo.publish({ version: '1.1.0', bytes: await tarGzOf('1.1.0') });
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    app.host.quit();
    await until(() => app.host.quitCount === 1);
    expect(await readFile(join(installDir, 'resources', 'version.txt'), 'utf8')).toBe('1.1.0');
    expect(app.host.relaunches).toEqual([]);
  });
});

describe('removing the previous version at start', () => {
  it('reports a previous version it cannot inspect as a warning, leaves it, and still checks', async () => {
    const { installDir, exe } = await installed();
    const oldExe = join(`${installDir}.old`, 'myapp');
    await mkdir(`${installDir}.old`);
    await symlink(oldExe, oldExe); // a loop: stat fails with ELOOP (root bypasses permissions)
    repo.publish({ version: '1.1.0', bytes: await tarGzOf('1.1.0') });
    const warnings: unknown[] = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (m?: unknown) => void warnings.push(m) };
    const app = await appHarness(repo, { version: '1.0.0', hostOptions: { execPath: exe }, logger });
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    expect(warnings).toEqual([expect.stringMatching(/could not remove the previous version .*MyApp\.old.*ELOOP/)]);
    expect((await readdir(join(dir, 'opt'))).sort()).toEqual(['MyApp', 'MyApp.old']);
  });
});

describe('swapDirectories', () => {
  it('puts the current directory back when the new one cannot be moved in', async () => {
    const current = await appDir(join(dir, 'MyApp'), '1.0.0');
    const replacement = await appDir(join(dir, 'new'), '1.1.0');
    let calls = 0;
    const ops = {
      rename: async (from: string, to: string): Promise<void> => {
        if (++calls === 2) throw Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' });
        const { rename } = await import('node:fs/promises');
        await rename(from, to);
      },
    };
    await expect(swapDirectories(current, replacement, ops)).rejects.toThrow(/rolled back/);
    expect(await readFile(join(current, 'resources', 'version.txt'), 'utf8')).toBe('1.0.0');
    expect(calls).toBe(3);
  });
});

describe('AppImage install', () => {
  it('replaces $APPIMAGE atomically with the verified image and relaunches it', async () => {
    const appImage = join(dir, 'MyApp.AppImage');
    await writeFile(appImage, standInExecutable('1.0.0'), { mode: 0o755 });
    const newImage = standInExecutable('1.1.0');
    repo.publish({ version: '1.1.0', fileName: 'MyApp-1.1.0.AppImage', bytes: newImage });
    const app = await appHarness(repo, {
      version: '1.0.0',
      installKind: 'AppImage',
      hostOptions: { execPath: '/tmp/.mount_MyApp/myapp', env: { APPIMAGE: appImage } },
    });
    expect((await app.updater.checkForUpdates())?.updateInfo.files[0].kind).toBe('AppImage');
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(await readFile(appImage, 'utf8')).toBe(newImage);
    expect((await stat(appImage)).mode & 0o777).toBe(0o755);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(app.host.relaunches).toEqual([{ execPath: appImage }]);
    await until(async () => (await readFile(marker, 'utf8').catch(() => '')).includes('started'));
    expect(await readFile(marker, 'utf8')).toBe('1.1.0 started\n');
  });

  it('fails cleanly when the app is not running as an AppImage', async () => {
    repo.publish({ version: '1.1.0', fileName: 'MyApp-1.1.0.AppImage' });
    const app = await appHarness(repo, { version: '1.0.0', installKind: 'AppImage', hostOptions: { env: {} } });
    await app.updater.checkForUpdates();
    await app.updater.downloadUpdate();
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(InstallError);
    expect(app.host.quitCount).toBe(0);
  });
});
