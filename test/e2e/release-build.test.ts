/**
 * A release pipeline end to end: real electron-builder (loaded from an app that installed it and
 * electron-tuf, build/app-install.ts) builds the demo app as 1.0.0 and then 1.1.0 (linux tar.gz),
 * with both hooks configured through the module string and settings from ELECTRON_TUF_*
 * variables. Then: the repository verifies; the 1.0.0 app carries the repository's root and the
 * update settings where the app updater looks; and, starting from what 1.0.0 carries, our client
 * and tuf-js find 1.1.0 and download its tar.gz with the hashes of the file electron-builder built.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppInstall } from '../../build/app-install.js';
import { buildDemoApp, type DemoAppBuild } from '../../build/build-app.js';
import { compileDemoApp } from '../../build/stage-app.js';
import {
  CHUNK_MAP_MIN_BYTES,
  initRepository,
  serveRepository,
  verifyRepository,
  type RepositoryServer,
} from '../../publisher/index.js';
import { parseChannelIndex } from '../../updater/release/index.js';
import {
  embeddedRootPath,
  embeddedSettingsPath,
  parseEmbeddedSettings,
} from '../../updater/electron/embedded-config.js';
import { cleanupTemp, ourClient, tufJsClient } from '../publisher/helpers.js';

const run = promisify(execFile);
const SETUP_TIMEOUT = 300_000;
const ENV_NAMES = [
  'ELECTRON_TUF_REPOSITORY',
  'ELECTRON_TUF_KEYS',
  'ELECTRON_TUF_URL',
  'ELECTRON_TUF_CHANNEL',
  'ELECTRON_TUF_STAGING',
  'ELECTRON_TUF_ROOT',
];
const NAME = (version: string) => `electron-tuf-demo-${version}-linux-x64`;

let workDir: string;
let repo: string;
let server: RepositoryServer;
const builds = new Map<string, DemoAppBuild>();
/** The unpacked 1.0.0 tar.gz: what a user installed. */
let installedResources: string;
const savedEnv = new Map<string, string | undefined>();

beforeAll(async () => {
  const started = Date.now();
  for (const name of ENV_NAMES) savedEnv.set(name, process.env[name]);
  workDir = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-release-'));
  const [toolsDir, compiledApp] = await Promise.all([
    createAppInstall({ dir: join(workDir, 'app-install'), entries: ['./electron-builder'] }),
    compileDemoApp(join(workDir, 'compiled-app')), // once for both versions
  ]);
  repo = join(workDir, 'repo');
  await initRepository({ repo, keys: join(workDir, 'keys') });
  server = await serveRepository({ repo });
  for (const name of ENV_NAMES) delete process.env[name];
  process.env.ELECTRON_TUF_REPOSITORY = repo;
  process.env.ELECTRON_TUF_KEYS = join(workDir, 'keys');
  process.env.ELECTRON_TUF_URL = server.url;
  const setUp = Date.now();
  for (const version of ['1.0.0', '1.1.0']) {
    const t = Date.now();
    builds.set(
      version,
      await buildDemoApp({ version, outDir: join(workDir, `out-${version}`), toolsDir, compiledApp }),
    );
    console.info(`built and signed ${version} in ${Date.now() - t} ms`);
  }
  const extracted = join(workDir, 'installed-1.0.0');
  await mkdir(extracted);
  await run('tar', ['-xzf', builds.get('1.0.0')!.artifacts[0], '-C', extracted]);
  installedResources = join(extracted, NAME('1.0.0'), 'resources');
  console.info(`set-up ${setUp - started} ms, total ${Date.now() - started} ms`);
}, SETUP_TIMEOUT);

afterAll(async () => {
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await server?.close();
  await cleanupTemp();
  await rm(workDir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('release builds signed by the electron-builder hooks', () => {
  it('builds one tar.gz per version and the repository verifies, installers included', async () => {
    expect(builds.get('1.0.0')!.artifacts.map((p) => basename(p))).toEqual([`${NAME('1.0.0')}.tar.gz`]);
    expect(builds.get('1.1.0')!.artifacts.map((p) => basename(p))).toEqual([`${NAME('1.1.0')}.tar.gz`]);
    const verified = await verifyRepository({ repo, checkTargetFiles: true });
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    // Two installers, one channel index, and a chunk map (checked against its installer, chunk by
    // chunk) for each installer of at least CHUNK_MAP_MIN_BYTES: the demo's tar.gz is smaller
    // where the Electron here is a stand-in (electron-builder offline).
    const installers = [...builds.values()].map((b) => b.artifacts[0]);
    const sizes = await Promise.all(installers.map(async (file) => (await stat(file)).size));
    const maps = sizes.filter((size) => size >= CHUNK_MAP_MIN_BYTES).length;
    expect(verified.targetCount).toBe(3 + maps);
    expect(verified.targetFilesChecked).toBe(3 + maps);
  });

  it('the installed 1.0.0 holds the repository’s root and the update settings where the updater looks', async () => {
    const embeddedRoot = await readFile(embeddedRootPath(installedResources));
    expect(embeddedRoot.equals(await readFile(join(repo, 'metadata', '1.root.json')))).toBe(true);
    const settings = parseEmbeddedSettings(await readFile(embeddedSettingsPath(installedResources)));
    expect(settings).toEqual({ metadataUrl: server.metadataUrl, targetsUrl: server.targetsUrl, channel: 'stable' });
  });

  it('from what 1.0.0 carries, our client finds 1.1.0 in the channel index and downloads its tar.gz intact', async () => {
    const root = await readFile(embeddedRootPath(installedResources));
    const settings = parseEmbeddedSettings(await readFile(embeddedSettingsPath(installedResources)));
    const indexPath = `channels/${settings.channel}/linux-x64.json`;
    const index = parseChannelIndex((await ourClient(settings, root, [indexPath])).files.get(indexPath)!);
    expect(index.releases.map((r) => r.version)).toEqual(['1.1.0', '1.0.0']);
    const installer = index.releases[0].installers[0];
    expect(installer).toEqual({ target: `1.1.0/${NAME('1.1.0')}.tar.gz`, kind: 'tar.gz' });

    const built = await readFile(builds.get('1.1.0')!.artifacts[0]);
    const downloaded = (await ourClient(settings, root, [installer.target])).files.get(installer.target)!;
    expect(sha256(downloaded)).toBe(sha256(built));
    expect(downloaded.length).toBe(built.length);
  });

  it('tuf-js 6, from the same embedded root, downloads the same 1.1.0 tar.gz', async () => {
    const root = await readFile(embeddedRootPath(installedResources));
    const settings = parseEmbeddedSettings(await readFile(embeddedSettingsPath(installedResources)));
    const target = `1.1.0/${NAME('1.1.0')}.tar.gz`;
    const downloaded = (await tufJsClient(settings, root, [target])).files.get(target)!;
    expect(sha256(downloaded)).toBe(sha256(await readFile(builds.get('1.1.0')!.artifacts[0])));
  });
});
