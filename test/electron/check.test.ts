import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrderError, RepositoryError, ValueError } from '../../updater/core/errors.js';
import { channelIndexPath, serializeChannelIndex } from '../../updater/release/index.js';
import { serializeEmbeddedSettings } from '../../updater/electron/embedded-config.js';
import { METADATA_URL, TARGETS_URL } from '../helpers/simulator.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir } from './fixtures.js';

let repo: ReleaseRepo;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
});
afterEach(cleanupTempDirs);

describe('checkForUpdates', () => {
  it('finds a newer release with its signed notes, then emits update-available', async () => {
    const info = repo.publish({ version: '1.1.0', notes: 'Faster startup.\nFixes #12.' });
    const app = await appHarness(repo, { version: '1.0.0' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(true);
    expect(result?.updateInfo).toMatchObject({
      version: '1.1.0',
      releaseNotes: 'Faster startup.\nFixes #12.',
      releaseDate: '2025-01-02T03:04:05Z',
      channel: 'stable',
      path: '1.1.0/MyApp-1.1.0.tar.gz',
      // base64, as electron-updater has it
      sha512: Buffer.from(info.hashes.sha512, 'hex').toString('base64'),
      files: [
        {
          url: '1.1.0/MyApp-1.1.0.tar.gz',
          kind: 'tar.gz',
          size: info.length,
          sha256: info.hashes.sha256,
          sha512: Buffer.from(info.hashes.sha512, 'hex').toString('base64'),
        },
      ],
    });
    expect(app.names()).toEqual(['checking-for-update', 'update-available']);
    expect(app.of('update-available')[0][0].version).toBe('1.1.0');
    expect(result?.downloadPromise).toBeUndefined();
  });

  it('reports update-not-available when the newest release is the running one', async () => {
    repo.publish({ version: '1.0.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(false);
    expect(result?.updateInfo.version).toBe('1.0.0');
    expect(app.names()).toEqual(['checking-for-update', 'update-not-available']);
  });

  it('reports update-not-available for a channel with no index yet', async () => {
    const app = await appHarness(repo, { version: '1.0.0' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(false);
    expect(app.names()).toEqual(['checking-for-update', 'update-not-available']);
  });

  it('a second check of an unchanged repository fetches only the root probe and timestamp', async () => {
    repo.publish({ version: '1.0.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    await app.updater.checkForUpdates();
    repo.sim.fetched.length = 0;
    await app.updater.checkForUpdates();
    expect(repo.sim.fetched.map((u) => u.split('/').pop())).toEqual(['2.root.json', 'timestamp.json']);
  });

  it('shares one check between concurrent calls', async () => {
    repo.publish({ version: '1.1.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    const [a, b] = [app.updater.checkForUpdates(), app.updater.checkForUpdates()];
    expect(a).toBe(b);
    await a;
    expect(app.names().filter((n) => n === 'checking-for-update')).toHaveLength(1);
  });

  it('with autoDownload (the default) starts the download and resolves downloadPromise with the file', async () => {
    repo.publish({ version: '1.1.0', bytes: 'new installer' });
    const app = await appHarness(repo, { version: '1.0.0', autoDownload: true });
    const result = await app.updater.checkForUpdates();
    const [file] = await result!.downloadPromise!;
    expect((await readFile(file)).toString()).toBe('new installer');
    expect(app.names().at(-1)).toBe('update-downloaded');
    expect(app.of('update-downloaded')[0][0].downloadedFile).toBe(file);
  });
});

describe('prereleases', () => {
  it('are not offered on the stable channel by default', async () => {
    repo.publish({ version: '1.1.0-beta.1' });
    const app = await appHarness(repo, { version: '1.0.0' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(false);
  });

  it('are offered on the stable channel with allowPrerelease', async () => {
    repo.publish({ version: '1.1.0-beta.1' });
    const app = await appHarness(repo, { version: '1.0.0' });
    app.updater.allowPrerelease = true;
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0-beta.1');
  });

  it('are offered on a prerelease channel', async () => {
    repo.publish({ version: '1.1.0-beta.1', channel: 'beta' });
    const app = await appHarness(repo, { version: '1.0.0', channel: 'beta' });
    expect(app.updater.allowPrerelease).toBe(false);
    expect((await app.updater.checkForUpdates())?.updateInfo).toMatchObject({
      version: '1.1.0-beta.1',
      channel: 'beta',
    });
  });

  it('a prerelease build follows its own channel and allows prereleases, like electron-updater', async () => {
    const app = await appHarness(repo, { version: '2.0.0-beta.3' });
    expect(app.updater.channel).toBe('beta');
    expect(app.updater.allowPrerelease).toBe(true);
  });
});

describe('channels', () => {
  it('a beta install sees a stable release newer than the newest beta', async () => {
    repo.publish({ version: '1.1.0-beta.2', channel: 'beta' });
    repo.publish({ version: '1.1.0', channel: 'stable', notes: 'final' });
    const app = await appHarness(repo, { version: '1.1.0-beta.2' });
    expect((await app.updater.checkForUpdates())?.updateInfo).toMatchObject({
      version: '1.1.0',
      channel: 'stable',
      releaseNotes: 'final',
    });
  });

  it('a beta install takes the newer beta over an older stable release', async () => {
    repo.publish({ version: '1.0.1', channel: 'stable' });
    repo.publish({ version: '1.1.0-beta.1', channel: 'beta' });
    const app = await appHarness(repo, { version: '1.0.0', channel: 'beta' });
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0-beta.1');
  });

  it('a stable install never reads the beta index', async () => {
    repo.publish({ version: '1.1.0-beta.1', channel: 'beta' });
    const app = await appHarness(repo, { version: '1.0.0' });
    app.updater.allowPrerelease = true;
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    expect(repo.sim.fetched.some((u) => u.includes('channels/beta'))).toBe(false);
  });

  it('refuses an invalid channel name', async () => {
    const app = await appHarness(repo, { version: '1.0.0' });
    expect(() => {
      app.updater.channel = '../stable';
    }).toThrow(ValueError);
  });
});

describe('downgrades', () => {
  it('are refused by default: leaving beta for stable keeps the running beta', async () => {
    repo.publish({ version: '1.0.0', channel: 'stable' });
    const app = await appHarness(repo, { version: '1.1.0-beta.1', channel: 'stable' });
    const result = await app.updater.checkForUpdates();
    expect(result?.isUpdateAvailable).toBe(false);
    expect(result?.updateInfo.version).toBe('1.0.0');
  });

  it('are offered with allowDowngrade', async () => {
    repo.publish({ version: '1.0.0', channel: 'stable' });
    const app = await appHarness(repo, { version: '1.1.0-beta.1', channel: 'stable' });
    app.updater.allowDowngrade = true;
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.0.0');
  });

  it('allowDowngrade never offers the running version again', async () => {
    repo.publish({ version: '1.0.0' });
    const app = await appHarness(repo, { version: '1.0.0' });
    app.updater.allowDowngrade = true;
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
  });
});

describe('staged rollouts', () => {
  it('0 % offers nothing, 100 % offers the update; the install id is created once and kept', async () => {
    repo.publish({ version: '1.1.0', stagingPercentage: 0 });
    const app = await appHarness(repo, { version: '1.0.0' });
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    const idFile = join(app.cacheDir, 'install-id');
    const id = (await readFile(idFile, 'utf8')).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    repo.publish({ version: '1.1.0', stagingPercentage: 100 });
    expect((await app.updater.checkForUpdates())?.updateInfo).toMatchObject({
      version: '1.1.0',
      stagingPercentage: 100,
    });

    const restarted = await appHarness(repo, { version: '1.0.0', dir: app.dir });
    await restarted.updater.checkForUpdates();
    expect((await readFile(idFile, 'utf8')).trim()).toBe(id);
  });

  it('skips a release it is not staged into in favour of the next older newer one', async () => {
    repo.publish({ version: '1.1.0' });
    repo.publish({ version: '1.2.0', stagingPercentage: 0 });
    const app = await appHarness(repo, { version: '1.0.0' });
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
  });

  it('a damaged install id is replaced by a fresh one', async () => {
    repo.publish({ version: '1.1.0', stagingPercentage: 100 });
    const app = await appHarness(repo, { version: '1.0.0' });
    await mkdir(app.cacheDir, { recursive: true });
    await writeFile(join(app.cacheDir, 'install-id'), 'not-a-uuid');
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
    expect((await readFile(join(app.cacheDir, 'install-id'), 'utf8')).trim()).toMatch(/^[0-9a-f]{8}-/);
  });
});

describe('misuse and configuration', () => {
  it('downloadUpdate before a check rejects with OrderError and emits error', async () => {
    const app = await appHarness(repo, { version: '1.0.0' });
    await expect(app.updater.downloadUpdate()).rejects.toThrow(OrderError);
    expect(app.names()).toEqual(['error']);
  });

  it('quitAndInstall with nothing downloaded resolves false, emits error and does not quit', async () => {
    const app = await appHarness(repo, { version: '1.0.0' });
    await expect(app.updater.quitAndInstall()).resolves.toBe(false);
    expect(app.of('error')[0][0]).toBeInstanceOf(OrderError);
    expect(app.host.quitCount).toBe(0);
  });

  it('a missing embedded root is an error event, and a later check with it in place works', async () => {
    repo.publish({ version: '1.1.0' });
    const dir = await tempDir();
    const resources = join(dir, 'resources');
    const app = await appHarness(repo, {
      version: '1.0.0',
      dir,
      trustedRoot: undefined,
      hostOptions: { resourcesPath: resources },
    });
    await expect(app.updater.checkForUpdates()).rejects.toThrow(/no trusted root/);
    expect(app.names()).toEqual(['checking-for-update', 'error']);
    await mkdir(join(resources, 'electron-tuf'), { recursive: true });
    await writeFile(join(resources, 'electron-tuf', 'root.json'), repo.sim.initialRoot);
    expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
  });

  it('reads the repository URLs and channel embedded by the build hook', async () => {
    repo.publish({ version: '1.1.0-beta.1', channel: 'beta' });
    const dir = await tempDir();
    const resources = join(dir, 'resources');
    await mkdir(join(resources, 'electron-tuf'), { recursive: true });
    await writeFile(join(resources, 'electron-tuf', 'root.json'), repo.sim.initialRoot);
    await writeFile(
      join(resources, 'electron-tuf', 'settings.json'),
      serializeEmbeddedSettings({ metadataUrl: METADATA_URL, targetsUrl: TARGETS_URL, channel: 'beta' }),
    );
    const app = await appHarness(repo, {
      version: '1.0.0',
      dir,
      metadataUrl: undefined,
      targetsUrl: undefined,
      trustedRoot: undefined,
      autoDownload: false,
      hostOptions: { resourcesPath: resources },
    });
    expect(app.updater.channel).toBe('stable');
    const result = await app.updater.checkForUpdates();
    expect(app.updater.channel).toBe('beta');
    expect(result?.updateInfo.version).toBe('1.1.0-beta.1');
  });

  it('refuses an index whose contents disagree with the path it is signed under', async () => {
    repo.publish({ version: '1.1.0' });
    const index = repo.index('stable');
    // Signed under the linux-x64 path, but describing arm64: a publisher mix-up or a forged index.
    repo.sim.addTarget(channelIndexPath('stable', 'linux', 'x64'), serializeChannelIndex({ ...index, arch: 'arm64' }));
    repo.commit();
    const app = await appHarness(repo, { version: '1.0.0' });
    await expect(app.updater.checkForUpdates()).rejects.toThrow(RepositoryError);
  });
});
