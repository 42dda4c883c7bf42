/**
 * Which release each kind of install is offered, as a table: (app platform/arch × published
 * indexes → offered release). Every row publishes real signed releases into a simulated
 * repository and runs a real check; the index tiers themselves are a pure table below.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Arch, InstallerKind, Platform } from '../../updater/release/index.js';
import { indexArchTiers } from '../../updater/electron/arch.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serializeEmbeddedSettings } from '../../updater/electron/embedded-config.js';
import { METADATA_URL, TARGETS_URL } from '../helpers/simulator.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, tempDir } from './fixtures.js';

afterEach(cleanupTempDirs);

const KIND: Record<Platform, InstallerKind> = { darwin: 'zip', win32: 'nsis', linux: 'tar.gz' };
const EXT: Record<Platform, string> = { darwin: 'zip', win32: 'exe', linux: 'tar.gz' };
/** What a universal app's CPU build is on this machine (the test runs natively). */
const CPU: Arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const OTHER_CPU: Arch = CPU === 'arm64' ? 'x64' : 'arm64';

interface Row {
  app: `${Platform}-${Arch}`;
  /** `<arch>@<version>` releases published for the app's platform. */
  published: string[];
  /** `<arch>@<version>` offered, or null for update-not-available. */
  offered: string | null;
  why: string;
}

const ROWS: Row[] = [
  {
    app: 'darwin-arm64',
    published: ['universal@1.1.0'],
    offered: 'universal@1.1.0',
    why: 'a universal build runs on an arm64 Mac',
  },
  {
    app: 'darwin-x64',
    published: ['universal@1.1.0'],
    offered: 'universal@1.1.0',
    why: 'a universal build runs on an Intel Mac',
  },
  {
    app: 'darwin-arm64',
    published: ['arm64@1.1.0', 'universal@1.1.0'],
    offered: 'arm64@1.1.0',
    why: 'same version: the arch-specific build wins',
  },
  {
    app: 'darwin-x64',
    published: ['universal@1.1.0', 'x64@1.1.0'],
    offered: 'x64@1.1.0',
    why: 'same version: the arch-specific build wins',
  },
  {
    app: 'darwin-arm64',
    published: ['arm64@1.1.0', 'universal@1.2.0'],
    offered: 'universal@1.2.0',
    why: 'a newer universal build beats an older arm64 one',
  },
  {
    app: 'darwin-arm64',
    published: ['arm64@1.2.0', 'universal@1.1.0'],
    offered: 'arm64@1.2.0',
    why: 'a newer arm64 build beats an older universal one',
  },
  { app: 'darwin-arm64', published: ['x64@1.2.0'], offered: null, why: 'never the other CPU (no Rosetta downgrade)' },
  { app: 'darwin-x64', published: ['arm64@1.2.0'], offered: null, why: 'an Intel Mac cannot run arm64' },
  {
    app: 'darwin-universal',
    published: ['universal@1.1.0', `${CPU}@1.1.0`],
    offered: 'universal@1.1.0',
    why: 'a universal app stays universal at the same version',
  },
  {
    app: 'darwin-universal',
    published: ['universal@1.1.0', `${CPU}@1.2.0`],
    offered: `${CPU}@1.2.0`,
    why: "a universal app may take its CPU's newer build",
  },
  { app: 'darwin-universal', published: [`${OTHER_CPU}@1.2.0`], offered: null, why: "never the other CPU's build" },
  {
    app: 'win32-arm64',
    published: ['arm64@1.1.0', 'x64@1.2.0'],
    offered: 'arm64@1.1.0',
    why: 'x64 (emulated) is only a fallback when no arm64 build exists',
  },
  {
    app: 'win32-arm64',
    published: ['x64@1.2.0'],
    offered: 'x64@1.2.0',
    why: 'no arm64 build published: x64 under emulation',
  },
  { app: 'win32-x64', published: ['arm64@1.2.0'], offered: null, why: 'x64 Windows cannot run arm64' },
  { app: 'win32-x64', published: ['x64@1.2.0', 'ia32@1.3.0'], offered: 'x64@1.2.0', why: 'no move to ia32' },
  { app: 'linux-x64', published: ['x64@1.2.0', 'arm64@1.3.0'], offered: 'x64@1.2.0', why: 'own arch only' },
  { app: 'linux-arm64', published: ['armv7l@1.2.0'], offered: null, why: 'no armv7l on arm64 (multiarch libraries)' },
];

describe('release selection by platform and arch', () => {
  it.each(ROWS)('$app with $published -> $offered ($why)', async (row) => {
    const [platform, arch] = row.app.split('-') as [Platform, Arch];
    const repo = await ReleaseRepo.create();
    for (const spec of row.published) {
      const [relArch, version] = spec.split('@') as [Arch, string];
      repo.publish({ version, platform, arch: relArch, fileName: `MyApp-${version}-${relArch}.${EXT[platform]}` });
    }
    const app = await appHarness(repo, { version: '1.0.0', platform, arch, installKind: KIND[platform] });
    const result = await app.updater.checkForUpdates();
    if (row.offered === null) {
      expect(result?.isUpdateAvailable).toBe(false);
      expect(app.names()).toEqual(['checking-for-update', 'update-not-available']);
      return;
    }
    const [offeredArch, offeredVersion] = row.offered.split('@');
    expect(result?.isUpdateAvailable).toBe(true);
    expect(result?.updateInfo.version).toBe(offeredVersion);
    expect(result?.updateInfo.files[0]?.url).toBe(
      `${offeredVersion}/MyApp-${offeredVersion}-${offeredArch}.${EXT[platform]}`,
    );
  });

  it('a universal build knows it is one from its embedded settings (process.arch names the CPU)', async () => {
    const repo = await ReleaseRepo.create();
    repo.publish({ version: '1.1.0', platform: 'darwin', arch: 'universal', fileName: 'MyApp-1.1.0-universal.zip' });
    repo.publish({ version: '1.1.0', platform: 'darwin', arch: CPU, fileName: `MyApp-1.1.0-${CPU}.zip` });
    const dir = await tempDir();
    const resources = join(dir, 'resources');
    await mkdir(join(resources, 'electron-tuf'), { recursive: true });
    const settings = { metadataUrl: METADATA_URL, targetsUrl: TARGETS_URL, arch: 'universal' as const };
    await writeFile(join(resources, 'electron-tuf', 'settings.json'), serializeEmbeddedSettings(settings));
    const app = await appHarness(repo, {
      version: '1.0.0',
      dir,
      platform: 'darwin',
      arch: undefined,
      installKind: 'zip',
      metadataUrl: undefined,
      targetsUrl: undefined,
      hostOptions: { resourcesPath: resources },
    });
    expect((await app.updater.checkForUpdates())?.updateInfo.files[0]?.url).toBe('1.1.0/MyApp-1.1.0-universal.zip');
  });

  it('refuses an installer signed for another arch than the index that lists it', async () => {
    const repo = await ReleaseRepo.create();
    // The universal index lists an installer whose signed custom says arm64.
    repo.publish({
      version: '1.1.0',
      platform: 'darwin',
      arch: 'universal',
      fileName: 'MyApp-1.1.0.zip',
      custom: { arch: 'arm64' },
    });
    const app = await appHarness(repo, { version: '1.0.0', platform: 'darwin', arch: 'x64', installKind: 'zip' });
    await expect(app.updater.checkForUpdates()).rejects.toThrow(/signed as arch "arm64"/);
  });
});

describe('indexArchTiers', () => {
  it.each([
    ['darwin', 'arm64', 'arm64', [['arm64', 'universal']]],
    ['darwin', 'x64', 'x64', [['x64', 'universal']]],
    ['darwin', 'universal', 'arm64', [['universal', 'arm64']]],
    ['darwin', 'universal', 'x64', [['universal', 'x64']]],
    ['win32', 'arm64', 'arm64', [['arm64'], ['x64']]],
    ['win32', 'x64', 'x64', [['x64']]],
    ['win32', 'ia32', 'x64', [['ia32']]],
    ['linux', 'arm64', 'arm64', [['arm64']]],
    ['linux', 'armv7l', 'arm64', [['armv7l']]],
  ] as const)('%s-%s on a %s CPU reads %j', (platform, arch, cpu, tiers) => {
    expect(indexArchTiers(platform, arch, cpu)).toEqual(tiers);
  });

  it('refuses universal outside macOS', () => {
    expect(() => indexArchTiers('linux', 'universal', 'x64')).toThrow(/only for darwin/);
  });
});
