/**
 * electron-tuf/electron-builder loaded the way electron-builder 26 loads a hook given as a
 * module string, from an app that installed electron-tuf (build/app-install.ts): resolved with
 * require.resolve from app-builder-lib's folder through package.json "exports", loaded with
 * require (or import), and the export named after the hook taken. Then two real builds through
 * those strings: a developer build (nothing configured) and a release build that cannot sign.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppInstall } from '../../build/app-install.js';
import { buildDemoApp } from '../../build/build-app.js';
import { ELECTRON_TUF_HOOKS } from '../../build/electron-builder.config.js';
import { compileDemoApp } from '../../build/stage-app.js';
import { initRepository } from '../../publisher/index.js';
import { treeDigest } from '../publisher/helpers.js';

const SETUP_TIMEOUT = 300_000;
const BUILD_TIMEOUT = 300_000;
const ENV_NAMES = [
  'ELECTRON_TUF_REPOSITORY',
  'ELECTRON_TUF_KEYS',
  'ELECTRON_TUF_URL',
  'ELECTRON_TUF_CHANNEL',
  'ELECTRON_TUF_STAGING',
  'ELECTRON_TUF_ROOT',
];

let workDir: string;
let toolsDir: string;
let compiledApp: string;
const savedEnv = new Map<string, string | undefined>();

beforeAll(async () => {
  for (const name of ENV_NAMES) {
    savedEnv.set(name, process.env[name]);
    delete process.env[name];
  }
  workDir = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-hooks-'));
  const started = Date.now();
  [toolsDir, compiledApp] = await Promise.all([
    createAppInstall({ dir: join(workDir, 'app-install'), entries: ['./electron-builder'] }),
    compileDemoApp(join(workDir, 'compiled-app')),
  ]);
  console.info(`app install and demo app compiled in ${Date.now() - started} ms`);
}, SETUP_TIMEOUT);

afterAll(async () => {
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(workDir, { recursive: true, force: true });
});

/** app-builder-lib as the app installed it (a copy under the app's node_modules). */
function appBuilderLib(): NodeJS.Require {
  return createRequire(join(toolsDir, 'node_modules', 'app-builder-lib', 'out', 'util', 'resolve.js'));
}

describe('loading electron-tuf/electron-builder as electron-builder does', () => {
  it('require.resolve from app-builder-lib finds the package export in the app’s node_modules', () => {
    const resolved = appBuilderLib().resolve(ELECTRON_TUF_HOOKS);
    expect(resolved).toBe(join(toolsDir, 'node_modules', 'electron-tuf', 'dist', 'publisher', 'electron-builder.js'));
  });

  it('resolveFunction gives the named export for each hook, from one module instance', async () => {
    const { resolveFunction } = appBuilderLib()('./resolve.js') as {
      resolveFunction: (type: string | undefined, executor: unknown, name: string, root: string) => Promise<unknown>;
    };
    const afterPack = await resolveFunction('module', ELECTRON_TUF_HOOKS, 'afterPack', toolsDir);
    const afterAll = await resolveFunction('module', ELECTRON_TUF_HOOKS, 'afterAllArtifactBuild', toolsDir);
    expect(typeof afterPack).toBe('function');
    expect(typeof afterAll).toBe('function');
    expect((afterPack as { name: string }).name).toBe('afterPack');
    expect((afterAll as { name: string }).name).toBe('afterAllArtifactBuild');
    // The module electron-builder loaded is the one a plain import of the export gets.
    const viaImport = (await import(appBuilderLib().resolve(ELECTRON_TUF_HOOKS))) as Record<string, unknown>;
    expect(viaImport.afterPack).toBe(afterPack);
    expect(viaImport.afterAllArtifactBuild).toBe(afterAll);
  });
});

describe('builds through the module strings', () => {
  it(
    'a developer build (no repository, no URL) succeeds and embeds and signs nothing',
    async () => {
      const build = await buildDemoApp({ version: '1.0.0', outDir: join(workDir, 'dev-out'), toolsDir, compiledApp });
      expect(build.artifacts.map((p) => p.slice(p.lastIndexOf('/') + 1))).toEqual([
        'electron-tuf-demo-1.0.0-linux-x64.tar.gz',
      ]);
      await expect(stat(join(build.appOutDir, 'resources', 'electron-tuf'))).rejects.toThrow(/ENOENT/);
    },
    BUILD_TIMEOUT,
  );

  it(
    'a signing failure (wrong key) fails the build with one clear line and leaves the repository as it was',
    async () => {
      const repo = join(workDir, 'repo');
      await initRepository({ repo, keys: join(workDir, 'keys') });
      await initRepository({ repo: join(workDir, 'other-repo'), keys: join(workDir, 'other-keys') });
      const before = await treeDigest(repo);
      process.env.ELECTRON_TUF_REPOSITORY = repo;
      process.env.ELECTRON_TUF_KEYS = join(workDir, 'other-keys'); // keys of another repository
      process.env.ELECTRON_TUF_URL = 'https://updates.example.com/demo';
      try {
        const failed = buildDemoApp({ version: '1.1.0', outDir: join(workDir, 'failed-out'), toolsDir, compiledApp });
        const error = (await failed.then(
          () => undefined,
          (e: unknown) => e,
        )) as Error;
        expect(error).toBeInstanceOf(Error);
        expect(error.message).not.toContain('\n');
        expect(error.message).toMatch(
          /^electron-tuf: signing 1 installer\(s\) of 1\.1\.0 into .*\/repo failed: cannot sign [a-z, ]+: need 1 \w+ key\(s\) of [0-9a-f]{8}, found 0 in .*other-keys/,
        );
        expect(error.name).toBe('TufError');
      } finally {
        for (const name of ENV_NAMES) delete process.env[name];
      }
      expect(await treeDigest(repo)).toEqual(before);
    },
    BUILD_TIMEOUT,
  );
});
