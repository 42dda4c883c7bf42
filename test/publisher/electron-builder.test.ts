/**
 * The electron-builder hooks against stand-ins for electron-builder's objects (the real
 * electron-builder runs in test/e2e/hooks.test.ts and release-build.test.ts): settings from
 * env and package.json, what afterPack embeds and where, which files afterAllArtifactBuild
 * signs for which platform and arch, and that a failure is one clear line that changes nothing.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Configuration } from 'electron-builder';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as hookModule from '../../publisher/electron-builder.js';
import {
  createElectronBuilderHooks,
  resolveHookSettings,
  type AfterPackContextLike,
  type ArtifactEventLike,
  type ElectronBuilderHooks,
} from '../../publisher/electron-builder.js';
import { CHUNK_MAP_MIN_BYTES, rotateKeys, serveRepository, verifyRepository } from '../../publisher/index.js';
import { TufError, ValueError } from '../../updater/core/errors.js';
import { parseChannelIndex } from '../../updater/release/index.js';
import { readEmbeddedRoot, readEmbeddedSettings } from '../../updater/electron/embedded-config.js';
import { ROOT } from '../helpers/vectors.js';
import { cleanupTemp, makeRepo, ourClient, tempDir, treeDigest, writeInstaller, type TestRepo } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

afterAll(cleanupTemp);

/** electron-builder's Arch enum values. */
const ARCH = { ia32: 0, x64: 1, armv7l: 2, arm64: 3, universal: 4 } as const;

/** A stand-in for one electron-builder build: its Packager, and the events it would emit. */
function fakeBuild(options: {
  projectDir: string;
  version: string;
  platform?: string;
  metadata?: unknown;
  productFilename?: string;
}) {
  const handlers: Array<(event: ArtifactEventLike) => void | Promise<void>> = [];
  const info = {
    projectDir: options.projectDir,
    metadata: options.metadata ?? { name: 'demo', version: options.version },
    onArtifactCreated(handler: (event: ArtifactEventLike) => void | Promise<void>) {
      handlers.push(handler);
      return info;
    },
  };
  const platform = options.platform ?? 'linux';
  const packager = {
    info,
    platform: { nodeName: platform },
    appInfo: { version: options.version, productFilename: options.productFilename ?? 'Demo' },
  };
  return {
    handlers,
    /** Runs afterPack for one arch, with the resources folder electron-builder would have made. */
    async pack(hooks: ElectronBuilderHooks, arch: number, appOutDir: string): Promise<AfterPackContextLike> {
      const electronPlatformName = platform;
      const context = { appOutDir, electronPlatformName, arch, packager };
      const resources =
        platform === 'darwin'
          ? join(appOutDir, `${packager.appInfo.productFilename}.app`, 'Contents', 'Resources')
          : join(appOutDir, 'resources');
      await mkdir(resources, { recursive: true });
      await hooks.afterPack(context);
      return context;
    },
    async artifact(file: string, arch: number | null, targetName: string): Promise<void> {
      for (const handler of handlers) await handler({ file, arch, target: { name: targetName }, packager });
    },
  };
}

describe('hook settings', () => {
  it('take each setting from the environment first, then the electronTuf field; empty variables count as unset', () => {
    const manifest = {
      electronTuf: {
        repository: 'release/repo',
        keys: '/keys',
        channel: 'beta',
        staging: 10,
        url: 'https://a.example/updates/',
        root: 'root.json',
      },
    };
    const env = {
      ELECTRON_TUF_REPOSITORY: '/ci/repo',
      ELECTRON_TUF_STAGING: '50',
      ELECTRON_TUF_KEYS: '',
      ELECTRON_TUF_URL: 'https://cdn.example/app/',
    };
    expect(resolveHookSettings(env, manifest, '/project')).toEqual({
      repository: '/ci/repo',
      keys: '/keys',
      root: '/project/root.json',
      channel: 'beta',
      stagingPercentage: 50,
      metadataUrl: 'https://cdn.example/app/metadata',
      targetsUrl: 'https://cdn.example/app/targets',
    });
    expect(resolveHookSettings({}, manifest, '/project')).toMatchObject({
      repository: '/project/release/repo',
      stagingPercentage: 10,
      metadataUrl: 'https://a.example/updates/metadata',
    });
    expect(resolveHookSettings({ ELECTRON_TUF_REPOSITORY: 'rel' }, {}, '/project').repository).toBe(
      join(process.cwd(), 'rel'),
    );
    expect(resolveHookSettings({}, { name: 'x' }, '/project')).toEqual({
      repository: undefined,
      keys: undefined,
      root: undefined,
    });
  });

  it('chunkMap: false in package.json or ELECTRON_TUF_CHUNK_MAP=0 turns chunk maps off; the variable wins', () => {
    expect(resolveHookSettings({}, { electronTuf: { chunkMap: false } }, '/p').chunkMap).toBe(false);
    expect(resolveHookSettings({ ELECTRON_TUF_CHUNK_MAP: '0' }, {}, '/p').chunkMap).toBe(false);
    expect(
      resolveHookSettings({ ELECTRON_TUF_CHUNK_MAP: 'true' }, { electronTuf: { chunkMap: false } }, '/p'),
    ).toMatchObject({ chunkMap: true });
    expect(resolveHookSettings({}, {}, '/p').chunkMap).toBeUndefined();
    expect(() => resolveHookSettings({ ELECTRON_TUF_CHUNK_MAP: 'no' }, {}, '/p')).toThrow(
      /ELECTRON_TUF_CHUNK_MAP must be true or false/,
    );
    expect(() => resolveHookSettings({}, { electronTuf: { chunkMap: 'off' } }, '/p')).toThrow(
      /electronTuf.chunkMap in package.json must be true or false/,
    );
  });

  it('separate metadata and targets URLs win over the base URL of the same source', () => {
    const env = { ELECTRON_TUF_URL: 'https://x.example', ELECTRON_TUF_TARGETS_URL: 'https://cdn.example/t' };
    expect(resolveHookSettings(env, {}, '/p')).toMatchObject({
      metadataUrl: 'https://x.example/metadata',
      targetsUrl: 'https://cdn.example/t',
    });
  });

  it.each([
    [{ ELECTRON_TUF_STAGING: '101' }, {}, /ELECTRON_TUF_STAGING must be an integer from 0 to 100/],
    [{ ELECTRON_TUF_STAGING: '1e2' }, {}, /ELECTRON_TUF_STAGING/],
    [{ ELECTRON_TUF_CHANNEL: 'Beta!' }, {}, /ELECTRON_TUF_CHANNEL: invalid channel name/],
    [{ ELECTRON_TUF_URL: 'ftp://x.example' }, {}, /ELECTRON_TUF_URL must be an http\(s\) URL/],
    [{ ELECTRON_TUF_URL: 'https://x.example/?token=1' }, {}, /must not have a query/],
    [
      { ELECTRON_TUF_METADATA_URL: 'https://x.example/m' },
      {},
      /set both ELECTRON_TUF_METADATA_URL and ELECTRON_TUF_TARGETS_URL/,
    ],
    [{}, { electronTuf: { repo: '/r' } }, /unknown setting\(s\) "repo"/],
    [{}, { electronTuf: 'repo' }, /electronTuf in package.json must be an object/],
    [{}, { electronTuf: { staging: '5' } }, /electronTuf.staging in package.json must be an integer/],
    [{}, { electronTuf: { keys: 7 } }, /electronTuf.keys in package.json must be a non-empty string/],
  ])('refuse %j %j, naming the setting', (env, manifest, message) => {
    expect(() => resolveHookSettings(env, manifest, '/p')).toThrow(ValueError);
    expect(() => resolveHookSettings(env, manifest, '/p')).toThrow(message);
  });
});

describe('afterPack', () => {
  let r: TestRepo;
  let logs: string[];
  let env: NodeJS.ProcessEnv;
  let hooks: ElectronBuilderHooks;

  beforeEach(async () => {
    r = await makeRepo();
    logs = [];
    env = { ELECTRON_TUF_REPOSITORY: r.repo, ELECTRON_TUF_URL: 'https://updates.example.com/demo' };
    hooks = createElectronBuilderHooks({ env, log: (line) => logs.push(line) });
  });
  afterEach(cleanupTemp);

  it('embeds the newest root of the repository and the settings, readable by the app updater', async () => {
    await rotateKeys({ repo: r.repo, keys: r.keys, role: 'timestamp', generate: 1, env: {} });
    const root2 = await readFile(join(r.repo, 'metadata', '2.root.json'));
    const out = await tempDir();
    const build = fakeBuild({ projectDir: out, version: '1.2.0-beta.1' });
    await build.pack(hooks, ARCH.x64, join(out, 'linux-unpacked'));
    const resources = join(out, 'linux-unpacked', 'resources');
    expect(Buffer.from(await readEmbeddedRoot(resources)).equals(root2)).toBe(true);
    expect(await readEmbeddedSettings(resources)).toEqual({
      metadataUrl: 'https://updates.example.com/demo/metadata',
      targetsUrl: 'https://updates.example.com/demo/targets',
      channel: 'beta', // the version's prerelease tag, as the release is published
    });
    expect(logs).toEqual([
      expect.stringMatching(/^electron-tuf: embedded root version 2 and settings \(.*, channel beta\) in .*resources$/),
    ]);
  });

  it('writes into <productFilename>.app/Contents/Resources for macOS, with the configured channel', async () => {
    env.ELECTRON_TUF_CHANNEL = 'canary';
    const out = await tempDir();
    const build = fakeBuild({
      projectDir: out,
      version: '2.0.0',
      platform: 'darwin',
      productFilename: 'Electron TUF Demo',
    });
    await build.pack(hooks, ARCH.universal, join(out, 'mac-universal'));
    const resources = join(out, 'mac-universal', 'Electron TUF Demo.app', 'Contents', 'Resources');
    expect(Buffer.from(await readEmbeddedRoot(resources)).equals(r.trustedRoot)).toBe(true);
    expect((await readEmbeddedSettings(resources)).channel).toBe('canary');
    // A universal app reports its CPU's arch at run time: the settings tell the updater what it is.
    expect((await readEmbeddedSettings(resources)).arch).toBe('universal');
    const arm64 = fakeBuild({
      projectDir: out,
      version: '2.0.0',
      platform: 'darwin',
      productFilename: 'Electron TUF Demo',
    });
    await arm64.pack(hooks, ARCH.arm64, join(out, 'mac-arm64'));
    expect(
      (await readEmbeddedSettings(join(out, 'mac-arm64', 'Electron TUF Demo.app', 'Contents', 'Resources'))).arch,
    ).toBeUndefined();
  });

  it('with nothing configured, says so and writes nothing (a development build)', async () => {
    const quiet = createElectronBuilderHooks({ env: {}, log: (line) => logs.push(line) });
    const out = await tempDir();
    await fakeBuild({ projectDir: out, version: '1.0.0' }).pack(quiet, ARCH.x64, join(out, 'linux-unpacked'));
    await expect(stat(join(out, 'linux-unpacked', 'resources', 'electron-tuf'))).rejects.toThrow(/ENOENT/);
    expect(logs).toEqual([expect.stringContaining('nothing to embed')]);
  });

  it('takes its settings from the electronTuf field of the app’s package.json', async () => {
    const out = await tempDir();
    const metadata = {
      name: 'demo',
      version: '1.0.0',
      electronTuf: { repository: r.repo, url: 'https://field.example/' },
    };
    const fromField = createElectronBuilderHooks({ env: {}, log: () => undefined });
    await fakeBuild({ projectDir: out, version: '1.0.0', metadata }).pack(
      fromField,
      ARCH.x64,
      join(out, 'linux-unpacked'),
    );
    expect((await readEmbeddedSettings(join(out, 'linux-unpacked', 'resources'))).metadataUrl).toBe(
      'https://field.example/metadata',
    );
  });

  it('refuses a root file that is not a root of the repository, in one line, writing nothing', async () => {
    const other = await makeRepo();
    env.ELECTRON_TUF_ROOT = join(other.repo, 'metadata', '1.root.json');
    const out = await tempDir();
    const error = await fakeBuild({ projectDir: out, version: '1.0.0' })
      .pack(hooks, ARCH.x64, join(out, 'linux-unpacked'))
      .catch((e: unknown) => e as TufError);
    expect(error).toBeInstanceOf(TufError);
    expect((error as TufError).message).toMatch(
      /^electron-tuf: cannot embed the update settings in .*linux-unpacked: .*1\.root\.json is not root version 1 of the repository/,
    );
    expect((error as TufError).message).not.toContain('\n');
    expect((error as TufError).cause).toBeInstanceOf(ValueError);
    await expect(stat(join(out, 'linux-unpacked', 'resources', 'electron-tuf'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a root file that is not signed by its own keys', async () => {
    const doc = parseDoc(r.trustedRoot);
    doc.signed.expires = '2099-01-01T00:00:00Z';
    const forged = join(await tempDir(), 'root.json');
    await writeFile(forged, JSON.stringify(doc)); // same signatures, changed content
    const hooksWithRoot = createElectronBuilderHooks({ env: { ELECTRON_TUF_ROOT: forged }, log: () => undefined });
    const out = await tempDir();
    await expect(
      fakeBuild({ projectDir: out, version: '1.0.0' }).pack(hooksWithRoot, ARCH.x64, join(out, 'linux-unpacked')),
    ).rejects.toThrow(/root\.json: .*root.*(signature|threshold|signed)/i);
  });
});

describe('afterAllArtifactBuild', () => {
  let r: TestRepo;
  let logs: string[];
  let env: NodeJS.ProcessEnv;
  let hooks: ElectronBuilderHooks;
  let out: string;

  beforeEach(async () => {
    r = await makeRepo();
    logs = [];
    env = { ELECTRON_TUF_REPOSITORY: r.repo, ELECTRON_TUF_KEYS: r.keys };
    hooks = createElectronBuilderHooks({ env, log: (line) => logs.push(line) });
    out = await tempDir();
  });
  afterEach(cleanupTemp);

  async function channelIndex(channel: string, arch: string) {
    const server = await serveRepository({ repo: r.repo });
    try {
      const path = `channels/${channel}/linux-${arch}.json`;
      const bytes = (await ourClient(server, r.trustedRoot, [path])).files.get(path);
      return bytes && parseChannelIndex(bytes);
    } finally {
      await server.close();
    }
  }

  it('signs each arch’s installers as its own release, skipping files the updater does not install', async () => {
    env.ELECTRON_TUF_CHANNEL = 'beta';
    env.ELECTRON_TUF_STAGING = '25';
    const build = fakeBuild({ projectDir: out, version: '1.4.0' });
    await build.pack(hooks, ARCH.x64, join(out, 'linux-unpacked'));
    await build.pack(hooks, ARCH.arm64, join(out, 'linux-arm64-unpacked'));
    // Large enough for chunk maps: the hook makes them as `repo add` does.
    const x64 = await writeInstaller(out, 'demo-1.4.0-linux-x64.tar.gz', CHUNK_MAP_MIN_BYTES);
    const arm64 = await writeInstaller(out, 'demo-1.4.0-linux-arm64.tar.gz', CHUNK_MAP_MIN_BYTES);
    const blockmap = await writeInstaller(out, 'demo-1.4.0.AppImage.blockmap');
    await build.artifact(x64, ARCH.x64, 'tar.gz');
    await build.artifact(arm64, ARCH.arm64, 'tar.gz');
    await build.artifact(blockmap, ARCH.x64, 'AppImage');
    const added = await hooks.afterAllArtifactBuild({
      artifactPaths: [x64, arm64, blockmap],
      configuration: { releaseInfo: { releaseNotes: 'Faster.' } },
    });
    expect(added).toEqual([]);

    const x64Index = await channelIndex('beta', 'x64');
    expect(x64Index?.releases).toEqual([
      expect.objectContaining({
        version: '1.4.0',
        releaseNotes: 'Faster.',
        stagingPercentage: 25,
        installers: [{ target: '1.4.0/demo-1.4.0-linux-x64.tar.gz', kind: 'tar.gz' }],
      }),
    ]);
    expect((await channelIndex('beta', 'arm64'))?.releases[0]?.installers).toEqual([
      { target: '1.4.0/demo-1.4.0-linux-arm64.tar.gz', kind: 'tar.gz' },
    ]);
    const verified = await verifyRepository({ repo: r.repo, checkTargetFiles: true });
    expect(verified.problems).toEqual([]);
    expect(verified.targetCount).toBe(6); // two installers, their chunk maps, two channel indexes
    expect(logs.filter((l) => l.includes('on beta'))).toEqual([
      'electron-tuf: 1.4.0 linux-x64 on beta: demo-1.4.0-linux-x64.tar.gz added',
      'electron-tuf: 1.4.0 linux-arm64 on beta: demo-1.4.0-linux-arm64.tar.gz added',
    ]);
  });

  it('signs a Windows .exe only from the nsis target (the updater runs every .exe as NSIS)', async () => {
    const build = fakeBuild({ projectDir: out, version: '3.0.0', platform: 'win32' });
    await build.pack(hooks, ARCH.x64, join(out, 'win-unpacked'));
    const setup = await writeInstaller(out, 'Demo Setup 3.0.0.exe');
    const portable = await writeInstaller(out, 'Demo 3.0.0.exe');
    await build.artifact(setup, ARCH.x64, 'nsis');
    await build.artifact(portable, ARCH.x64, 'portable');
    await hooks.afterAllArtifactBuild({ artifactPaths: [setup, portable] });
    expect(logs).toContain('electron-tuf: not signing Demo 3.0.0.exe: built by the portable target, not nsis');
    expect(logs).toContain('electron-tuf: 3.0.0 win32-x64 on stable: Demo Setup 3.0.0.exe added');
  });

  it('places a file electron-builder gives no arch in the one arch packed, and refuses when several were', async () => {
    const one = fakeBuild({ projectDir: out, version: '1.0.0', platform: 'win32' });
    await one.pack(hooks, ARCH.ia32, join(out, 'win-ia32-unpacked'));
    const setup = await writeInstaller(out, 'Demo Setup 1.0.0.exe');
    await one.artifact(setup, null, 'nsis');
    await hooks.afterAllArtifactBuild({ artifactPaths: [setup] });
    expect(logs).toContain('electron-tuf: 1.0.0 win32-ia32 on stable: Demo Setup 1.0.0.exe added');

    const two = fakeBuild({ projectDir: out, version: '1.1.0', platform: 'win32' });
    await two.pack(hooks, ARCH.ia32, join(out, 'win-ia32-unpacked'));
    await two.pack(hooks, ARCH.x64, join(out, 'win-unpacked'));
    const both = await writeInstaller(out, 'Demo Setup 1.1.0.exe');
    await two.artifact(both, null, 'nsis');
    await expect(hooks.afterAllArtifactBuild({ artifactPaths: [both] })).rejects.toThrow(
      /serves several archs \(ia32, x64\).*build each arch on its own/,
    );
  });

  it('without a repository, says so and signs nothing', async () => {
    const unconfigured = createElectronBuilderHooks({ env: {}, log: (line) => logs.push(line) });
    const build = fakeBuild({ projectDir: out, version: '1.0.0' });
    await build.pack(unconfigured, ARCH.x64, join(out, 'linux-unpacked'));
    const file = await writeInstaller(out, 'demo-1.0.0-linux-x64.tar.gz');
    await build.artifact(file, ARCH.x64, 'tar.gz');
    const before = await treeDigest(r.repo);
    expect(await unconfigured.afterAllArtifactBuild({ artifactPaths: [file] })).toEqual([]);
    expect(logs.at(-1)).toBe(
      'electron-tuf: no repository configured (ELECTRON_TUF_REPOSITORY or electronTuf.repository): 1 installer(s) of 1.0.0 not signed',
    );
    expect(await treeDigest(r.repo)).toEqual(before);
  });

  it('asks for afterPack when the build result does not say which platform it built', async () => {
    const file = await writeInstaller(out, 'demo-1.0.0-linux-x64.tar.gz');
    await expect(hooks.afterAllArtifactBuild({ artifactPaths: [file] })).rejects.toThrow(
      /this build does not say which platform it built: set "afterPack": "electron-tuf\/electron-builder" too/,
    );
  });

  describe('alone (no afterPack)', () => {
    /** electron-builder's BuildResult.platformToTargets for one platform and its target names. */
    const targets = (platform: string, ...names: string[]) =>
      new Map([[{ nodeName: platform }, new Map(names.map((n) => [n, {}]))]]);

    beforeEach(async () => {
      await writeFile(join(out, 'package.json'), JSON.stringify({ name: 'demo', version: '2.0.0' }));
      hooks = createElectronBuilderHooks({ env, log: (line) => logs.push(line), projectDir: out });
    });

    it('signs an unambiguous build: one platform, the version and one arch in each name', async () => {
      const mac = await writeInstaller(out, 'Demo-2.0.0-universal-mac.zip');
      const dmg = await writeInstaller(out, 'Demo-2.0.0-universal.dmg');
      await hooks.afterAllArtifactBuild({
        artifactPaths: [mac, dmg],
        platformToTargets: targets('darwin', 'zip', 'dmg'),
      });
      expect(logs).toContain(
        'electron-tuf: 2.0.0 darwin-universal on stable: Demo-2.0.0-universal-mac.zip added, Demo-2.0.0-universal.dmg added',
      );
      expect(logs.join('\n')).toMatch(/afterPack is not set: .*embeds no trusted root/);
      expect((await verifyRepository({ repo: r.repo, checkTargetFiles: true })).problems).toEqual([]);
    });

    it('signs a Windows .exe when nsis is the only target making one', async () => {
      const setup = await writeInstaller(out, 'Demo-Setup-2.0.0-arm64.exe');
      await hooks.afterAllArtifactBuild({ artifactPaths: [setup], platformToTargets: targets('win32', 'nsis') });
      expect(logs).toContain('electron-tuf: 2.0.0 win32-arm64 on stable: Demo-Setup-2.0.0-arm64.exe added');
    });

    it.each([
      [
        'several platforms',
        ['Demo-2.0.0-x64.tar.gz'],
        new Map([
          [{ nodeName: 'linux' }, new Map()],
          [{ nodeName: 'win32' }, new Map()],
        ]),
        /built for several platforms \(linux, win32\): set "afterPack"/,
      ],
      [
        'no arch in the name',
        ['Demo Setup 2.0.0.exe'],
        targets('win32', 'nsis'),
        /does not name its arch: put \$\{arch\} in electron-builder's artifactName, or set "afterPack"/,
      ],
      [
        'another version in the name',
        ['Demo-1.9.0-x64.tar.gz'],
        targets('linux', 'tar.gz'),
        /does not carry the version 2\.0\.0 of package\.json/,
      ],
      [
        'nsis beside portable',
        ['Demo-2.0.0-x64.exe'],
        targets('win32', 'nsis', 'portable'),
        /do not say which one made it: set "afterPack"/,
      ],
    ])(
      'refuses an ambiguous build (%s) in one line, signing nothing',
      async (_what, names, platformToTargets, message) => {
        const files = await Promise.all(names.map((n) => writeInstaller(out, n)));
        const before = await treeDigest(r.repo);
        const error = (await hooks
          .afterAllArtifactBuild({ artifactPaths: files, platformToTargets })
          .catch((e: unknown) => e)) as Error;
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain('\n');
        expect(await treeDigest(r.repo)).toEqual(before);
      },
    );
  });

  it('fails in one line with the publisher’s reason and leaves the repository as it was (wrong key)', async () => {
    const other = await makeRepo();
    env.ELECTRON_TUF_KEYS = other.keys;
    const build = fakeBuild({ projectDir: out, version: '1.0.0' });
    await build.pack(hooks, ARCH.x64, join(out, 'linux-unpacked'));
    const file = await writeInstaller(out, 'demo-1.0.0-linux-x64.tar.gz');
    await build.artifact(file, ARCH.x64, 'tar.gz');
    const before = await treeDigest(r.repo);
    const error = (await hooks.afterAllArtifactBuild({ artifactPaths: [file] }).catch((e: unknown) => e)) as TufError;
    expect(error).toBeInstanceOf(TufError);
    expect(error.message).toMatch(
      /^electron-tuf: signing 1 installer\(s\) of 1\.0\.0 into .*\/repo failed: cannot sign [a-z, ]+: need 1 \w+ key\(s\)/,
    );
    expect(error.message).not.toContain('\n');
    expect(error.cause).toBeInstanceOf(ValueError);
    expect(await treeDigest(r.repo)).toEqual(before);
  });

  it('with per-role key variables instead of a keys directory', async () => {
    const pem = async (role: string) => readFile(join(r.keys, `${role}-1.key.pem`), 'utf8');
    const withEnvKeys = createElectronBuilderHooks({
      env: {
        ELECTRON_TUF_REPOSITORY: r.repo,
        ELECTRON_TUF_TARGETS_KEY: await pem('targets'),
        ELECTRON_TUF_SNAPSHOT_KEY: await pem('snapshot'),
        ELECTRON_TUF_TIMESTAMP_KEY: await pem('timestamp'),
      },
      log: (line) => logs.push(line),
    });
    const build = fakeBuild({ projectDir: out, version: '1.0.0' });
    await build.pack(withEnvKeys, ARCH.x64, join(out, 'linux-unpacked'));
    const file = await writeInstaller(out, 'demo-1.0.0-linux-x64.tar.gz');
    await build.artifact(file, ARCH.x64, 'tar.gz');
    await withEnvKeys.afterAllArtifactBuild({ artifactPaths: [file] });
    expect((await channelIndex('stable', 'x64'))?.releases.map((rel) => rel.version)).toEqual(['1.0.0']);
  });
});

describe('the module electron-builder loads', () => {
  it('exports afterPack and afterAllArtifactBuild, assignable to electron-builder’s configuration', () => {
    const config: Configuration = {
      afterPack: hookModule.afterPack,
      afterAllArtifactBuild: hookModule.afterAllArtifactBuild,
    };
    expect(typeof config.afterPack).toBe('function');
    expect(typeof config.afterAllArtifactBuild).toBe('function');
  });

  it('is the package export ./electron-builder, inside the published files', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string>;
      files: string[];
    };
    const target = manifest.exports['./electron-builder'];
    expect(target).toBe('./dist/publisher/electron-builder.js');
    expect(manifest.files.some((f) => target.slice(2).startsWith(`${f.replace(/\/$/, '')}/`))).toBe(true);
  });
});
