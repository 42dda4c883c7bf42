/**
 * Builds the demo app offline with electron-builder (build/build-app.ts) and checks what came
 * out: the archive holds the stand-in Electron and the staged app, and the unpacked app runs.
 * The same build also has electron-tuf's afterAllArtifactBuild with no afterPack of that hook
 * instance: the hook learns platform, arch and version from electron-builder's own BuildResult
 * (publisher/electron-builder/infer.ts) and signs the installer (one build serves both).
 */
import { extractFile, listPackage } from '@electron/asar';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoApp, type DemoAppBuild } from '../../build/build-app.js';
import { createElectronBuilderHooks } from '../../publisher/electron-builder.js';
import { serveRepository, verifyRepository } from '../../publisher/index.js';
import { ValueError } from '../../updater/core/errors.js';
import { parseChannelIndex } from '../../updater/release/index.js';
import { ROOT } from '../helpers/vectors.js';
import { cleanupTemp, makeRepo, ourClient, type TestRepo } from '../publisher/helpers.js';

const run = promisify(execFile);
const BUILD_TIMEOUT = 300_000;
const TOP = 'electron-tuf-demo-1.0.0-linux-x64';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-builder-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
  await cleanupTemp();
});

describe('offline electron-builder build of the demo app', () => {
  let build: DemoAppBuild;
  let hookSaw: string[] = [];
  let extracted: string;
  /** The repository the signing hook publishes into, and what it logged. */
  let signed: TestRepo;
  const signingLog: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    signed = await makeRepo();
    // A hook instance of its own: its afterPack never runs (electron-builder runs the default one).
    const signing = createElectronBuilderHooks({
      env: { ELECTRON_TUF_REPOSITORY: signed.repo, ELECTRON_TUF_KEYS: signed.keys },
      log: (line) => signingLog.push(line),
    });
    build = await buildDemoApp({
      version: '1.0.0',
      outDir: join(workDir, 'out'),
      targets: ['tar.gz'],
      hooks: {
        afterAllArtifactBuild: async (result) => {
          hookSaw = [...result.artifactPaths];
          return await signing.afterAllArtifactBuild(result);
        },
      },
    });
    console.info(`demo app 1.0.0 built as linux tar.gz in ${Date.now() - started} ms`);
    extracted = join(workDir, 'extracted');
    await run('mkdir', ['-p', extracted]);
    await run('tar', ['-xzf', build.artifacts[0], '-C', extracted]);
  }, BUILD_TIMEOUT);

  it('writes one tar.gz and hands it to afterAllArtifactBuild', async () => {
    const archive = join(workDir, 'out', `${TOP}.tar.gz`);
    expect(build.artifacts).toEqual([archive]);
    expect((await stat(archive)).size).toBeGreaterThan(0);
    expect(hookSaw).toEqual([archive]);
  });

  it('packs the stand-in Electron as the app executable', async () => {
    const { stdout } = await run('tar', ['-tzf', build.artifacts[0]]);
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        `${TOP}/`,
        `${TOP}/electron-tuf-demo`,
        `${TOP}/resources/`,
        `${TOP}/resources/app.asar`,
        `${TOP}/standin-electron.cjs`,
      ].sort(),
    );
    const executable = join(extracted, TOP, 'electron-tuf-demo');
    expect(await readFile(executable, 'utf8')).toBe(await readFile(join(ROOT, 'build', 'standin', 'electron'), 'utf8'));
    expect((await stat(executable)).mode & 0o111).toBe(0o111);
  });

  it('packs the app’s package.json with version 1.0.0 and only compiled files', () => {
    const asar = join(extracted, TOP, 'resources', 'app.asar');
    const manifest = JSON.parse(extractFile(asar, 'package.json').toString('utf8')) as unknown;
    expect(manifest).toMatchObject({
      name: 'electron-tuf-demo',
      version: '1.0.0',
      main: 'dist/app/main.js',
      type: 'module',
    });
    const files = listPackage(asar, { isPack: false });
    expect(files).toEqual(
      expect.arrayContaining([
        '/dist/app/main.js',
        '/dist/app/ipc-main.js',
        '/app/preload.cjs',
        '/app/renderer/index.html',
        '/app/renderer/renderer.js',
      ]),
    );
    const own = files.filter((file) => !file.startsWith('/node_modules/'));
    expect(own.filter((file) => /\.(ts|map)$/.test(file))).toEqual([]);
    // The updater's runtime dependencies, and nothing else from node_modules.
    const packages = new Set(
      files.flatMap((f) => /^\/node_modules\/(@[^/]+\/[^/]+|[^@/][^/]*)(?:\/|$)/.exec(f)?.[1] ?? []),
    );
    expect([...packages].sort()).toEqual(['@noble/ed25519', '@noble/hashes', 'semver']);
  });

  it('runs: the extracted stand-in prints the app version', async () => {
    const executable = join(extracted, TOP, 'electron-tuf-demo');
    expect((await run(executable, [])).stdout).toBe('1.0.0\n');
    const { stdout } = await run(executable, [
      '--run',
      process.execPath,
      '-e',
      'console.log(process.env.STANDIN_APP_VERSION)',
    ]);
    expect(stdout).toBe('1.0.0\n');
  });

  describe('afterAllArtifactBuild alone in a real build', () => {
    it('signs the one-platform, one-arch build from the build result', async () => {
      expect(build.artifacts.map((p) => p.slice(p.lastIndexOf('/') + 1))).toEqual([
        'electron-tuf-demo-1.0.0-linux-x64.tar.gz',
      ]);
      expect(signingLog).toContain(
        'electron-tuf: 1.0.0 linux-x64 on stable: electron-tuf-demo-1.0.0-linux-x64.tar.gz added',
      );
      expect((await verifyRepository({ repo: signed.repo, checkTargetFiles: true })).problems).toEqual([]);
      const server = await serveRepository({ repo: signed.repo });
      try {
        const path = 'channels/stable/linux-x64.json';
        const index = parseChannelIndex((await ourClient(server, signed.trustedRoot, [path])).files.get(path)!);
        expect(index.releases.map((release) => release.version)).toEqual(['1.0.0']);
      } finally {
        await server.close();
      }
    });
  });
});

describe('buildDemoApp options', () => {
  it(
    'builds an unpacked app without asar, with the given version and trusted root',
    async () => {
      const trustedRoot = join(workDir, 'root.json');
      await writeFile(trustedRoot, '{"signed":{"_type":"root"}}');
      const build = await buildDemoApp({
        version: '2.1.0-beta.1',
        outDir: join(workDir, 'out-dir'),
        targets: ['dir'],
        asar: false,
        trustedRoot,
      });
      expect(build.artifacts).toEqual([]);
      const resources = join(build.appOutDir, 'resources');
      const manifest = JSON.parse(await readFile(join(resources, 'app', 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(manifest.version).toBe('2.1.0-beta.1');
      expect(await readFile(join(resources, 'electron-tuf', 'root.json'), 'utf8')).toBe('{"signed":{"_type":"root"}}');
      expect((await run(join(build.appOutDir, 'electron-tuf-demo'), [])).stdout).toBe('2.1.0-beta.1\n');
      // The packed updater loads with only what the app ships (its node_modules).
      const updaterEntry = pathToFileURL(join(resources, 'app', 'dist', 'updater', 'electron', 'index.js')).href;
      const loaded = await run(process.execPath, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(updaterEntry)}); console.log(typeof m.TufAppUpdater)`,
      ]);
      expect(loaded.stdout).toBe('function\n');
    },
    BUILD_TIMEOUT,
  );

  it('refuses targets that need downloads, and bad versions, before building', async () => {
    const outDir = join(workDir, 'refused');
    await expect(buildDemoApp({ version: '1.0.0', outDir, targets: ['AppImage' as never] })).rejects.toThrow(
      ValueError,
    );
    await expect(buildDemoApp({ version: 'v1', outDir })).rejects.toThrow(ValueError);
    await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
  });
});
