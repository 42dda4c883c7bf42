/**
 * Issue 11, finding 2: the deb/rpm file verified in the user's pending folder must be the file
 * root installs. The attacker is any process of the same user: while the polkit prompt is open
 * it replaces the pending package (by rename, or by writing into the same file). Here a
 * stand-in `pkexec` on PATH makes that move deterministically before anything elevated reads
 * the package, then runs the command it was given; a stand-in `dpkg`/`rpm` records the bytes
 * it was asked to install. Real processes, the real DownloadManager.verify (through
 * quitAndInstall) and the real LinuxPackageInstaller.
 */
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallError } from '../../updater/electron/errors.js';
import { defaultSpawn, type SpawnFunction } from '../../updater/electron/installers/spawn.js';
import { appHarness, cleanupTempDirs, installerBytes, ReleaseRepo, tempDir } from './fixtures.js';

let repo: ReleaseRepo;
let bin: string;
let record: string;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  bin = await tempDir('etuf-elevated-');
  record = join(bin, 'installed.bin');
});
afterEach(cleanupTempDirs);

/** The real spawn, with the stand-ins first on PATH. */
const spawnWithStandIns: SpawnFunction = (command, args, options) =>
  defaultSpawn(command, args, { ...options, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });

async function script(name: string, body: string): Promise<void> {
  await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(bin, name), 0o755);
}

/**
 * `pkexec`: `attack` runs first (as the user would, before the elevated read), then the command.
 * `dpkg -i FILE` / `rpm -U FILE`: `beforeRead` runs, then FILE is copied to `record`, with the
 * mode and owner of its folder beside it.
 */
async function standIns(attack: string, beforeRead = ''): Promise<void> {
  await script('pkexec', `${attack}\nexec "$@"`);
  const install = `${beforeRead}\ncp "$2" "${record}"\nstat -c '%a %u' "$(dirname "$2")" > "${record}.dir"`;
  await script('dpkg', `[ "$1" = -i ] || exit 9\n${install}`);
  await script('rpm', `[ "$1" = -U ] || exit 9\n${install}`);
}

const GENUINE = installerBytes(300_000, 7);
const EVIL = Buffer.from('#!/bin/sh\n# a package with root maintainer scripts\n'.padEnd(GENUINE.length, '#'));

async function downloaded(kind: 'deb' | 'rpm') {
  const fileName = kind === 'deb' ? 'myapp_1.1.0_amd64.deb' : 'myapp-1.1.0.x86_64.rpm';
  repo.publish({ version: '1.1.0', fileName, bytes: GENUINE });
  const app = await appHarness(repo, {
    version: '1.0.0',
    installKind: kind,
    spawn: spawnWithStandIns,
    hostOptions: { execPath: '/opt/MyApp/myapp' },
  });
  await app.updater.checkForUpdates();
  const [file] = await app.updater.downloadUpdate();
  return { app, file };
}

async function leftoverPrivateDirs(): Promise<string[]> {
  return (await readdir('/var/tmp')).filter((name) => name.startsWith('electron-tuf-install.'));
}

describe('deb/rpm: root installs the verified bytes or nothing', () => {
  let before: string[];
  beforeEach(async () => {
    before = await leftoverPrivateDirs();
  });
  afterEach(async () => {
    // The root-only copy is removed whatever happened.
    expect(await leftoverPrivateDirs()).toEqual(before);
  });

  for (const kind of ['deb', 'rpm'] as const) {
    it(`${kind}: without an attack, the verified package is installed from a root-only copy`, async () => {
      await standIns('');
      const { app } = await downloaded(kind);
      expect(await app.updater.quitAndInstall()).toBe(true);
      expect(Buffer.compare(await readFile(record), GENUINE)).toBe(0);
      expect(await readFile(`${record}.dir`, 'utf8')).toBe(`700 ${process.getuid!()}\n`);
      expect(app.host.quitCount).toBe(1);
    });
  }

  it('the package replaced by rename while the prompt is open: the verified one is installed', async () => {
    const evil = join(bin, 'evil.deb');
    await writeFile(evil, EVIL);
    const { app, file } = await downloaded('deb');
    await standIns(`mv "${evil}" "${file}"`);
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(Buffer.compare(await readFile(file), EVIL)).toBe(0); // the swap happened
    expect(Buffer.compare(await readFile(record), GENUINE)).toBe(0);
  });

  it('the package overwritten in place while the prompt is open: refused as root, nothing installed', async () => {
    const evil = join(bin, 'evil.deb');
    await writeFile(evil, EVIL);
    const { app, file } = await downloaded('deb');
    const inode = (await stat(file)).ino;
    await standIns(`cat "${evil}" > "${file}"`);
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect((await stat(file)).ino).toBe(inode);
    expect(Buffer.compare(await readFile(file), EVIL)).toBe(0); // the overwrite happened
    const [error] = app.of('error')[0];
    expect(error).toBeInstanceOf(InstallError);
    expect(error.message).toMatch(/does not match its signed sha(256|512); nothing was installed/);
    await expect(readFile(record)).rejects.toThrow(/ENOENT/);
    expect(app.host.quitCount).toBe(0);
  });

  it('the package grown in place: root copies no more than the signed length + 1 and refuses it', async () => {
    const { app, file } = await downloaded('rpm');
    await standIns(`head -c 50000000 /dev/zero >> "${file}"`);
    expect(await app.updater.quitAndInstall()).toBe(false);
    expect(app.of('error')[0][0].message).toMatch(/not the 300000 bytes that were signed; nothing was installed/);
    await expect(readFile(record)).rejects.toThrow(/ENOENT/);
  });

  it('the pending file changed after root checked its copy: the copy is what is installed', async () => {
    const evil = join(bin, 'evil.deb');
    await writeFile(evil, EVIL);
    const { app, file } = await downloaded('deb');
    await standIns('', `cat "${evil}" > "${file}"`);
    expect(await app.updater.quitAndInstall()).toBe(true);
    expect(Buffer.compare(await readFile(file), EVIL)).toBe(0);
    expect(Buffer.compare(await readFile(record), GENUINE)).toBe(0);
  });
});
