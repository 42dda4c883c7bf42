/**
 * End to end on real files, with the demo's building blocks (build/demo/): the demo app built
 * as Linux tar.gz by electron-builder (offline, stand-in Electron) with the trusted root and
 * repository URLs embedded, published with the publisher and served over HTTP; an installed
 * 1.0.0 updates itself to 1.1.0 through the Linux tar.gz installer, and the process that comes
 * up afterwards is 1.1.0's stand-in binary, started from the install folder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWithElectronBuilder, type DemoBuild, type EmbeddedConfig } from '../../build/demo/app-builds.js';
import { CountingFetcher } from '../../build/demo/counting-fetcher.js';
import { installedVersion, installTarGz } from '../../build/demo/installed-app.js';
import {
  createDemoRepository,
  publishRelease,
  tamperedCopy,
  type DemoRepository,
} from '../../build/demo/repository.js';
import { cacheDirOf, createInstalledUpdater, updateInstalledApp } from '../../build/demo/update-run.js';
import { compileDemoApp } from '../../build/stage-app.js';
import { serveRepository, type RepositoryServer } from '../../publisher/index.js';
import { LengthOrHashMismatchError } from '../../updater/core/errors.js';

const run = promisify(execFile);
const SETUP_TIMEOUT = 300_000;
const NOTES = 'Faster start-up.\nSigned release notes.';

let dir: string;
let repository: DemoRepository;
let server: RepositoryServer;
const servers: RepositoryServer[] = [];
let oldBuild: DemoBuild;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-app-update-'));
  repository = await createDemoRepository(join(dir, 'repo'), join(dir, 'keys'));
  server = await serveRepository({ repo: repository.repo });
  servers.push(server);
  const config: EmbeddedConfig = {
    trustedRoot: await readFile(repository.init.trustedRoot),
    settings: { metadataUrl: server.metadataUrl, targetsUrl: server.targetsUrl },
  };
  const compiled = await compileDemoApp(join(dir, 'compiled'));
  oldBuild = await buildWithElectronBuilder('1.0.0', join(dir, 'build-1.0.0'), config, compiled);
  const newBuild = await buildWithElectronBuilder('1.1.0', join(dir, 'build-1.1.0'), config, compiled);
  await publishRelease(repository, { version: '1.0.0', archive: oldBuild.archive, notes: 'First release.' });
  await publishRelease(repository, { version: '1.1.0', archive: newBuild.archive, notes: NOTES });
  // A compromised mirror: the same signed metadata, one byte of the 1.1.0 installer changed.
  await tamperedCopy(repository.repo, join(dir, 'mirror'), '1.1.0', newBuild.archive);
  servers.push(await serveRepository({ repo: join(dir, 'mirror') }));
}, SETUP_TIMEOUT);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Argument for the stand-in's `--run`: writes what the relaunched app knows about itself. */
const REPORT_SCRIPT = `require('node:fs').writeFileSync(process.argv[1], JSON.stringify({
  version: process.env.STANDIN_APP_VERSION,
  resources: process.env.STANDIN_RESOURCES_PATH,
}))`;

describe('an installed electron-builder tar.gz build updates itself', () => {
  it('1.0.0 installs 1.1.0 with the Linux installer, and 1.1.0’s binary relaunches from the install folder', async () => {
    const app = await installTarGz(oldBuild.archive, join(dir, 'opt'), oldBuild.executableName);
    expect(await installedVersion(app)).toBe('1.0.0');
    const marker = join(dir, 'relaunched.json');
    const installed = await createInstalledUpdater(app, {
      userDataPath: join(dir, 'userdata'),
      relaunchArgs: ['--run', process.execPath, '-e', REPORT_SCRIPT, marker],
    });
    expect(installed.version).toBe('1.0.0');

    const outcome = await updateInstalledApp(installed);

    expect(outcome.error).toBeUndefined();
    expect(outcome.offered).toMatchObject({ version: '1.1.0', releaseNotes: NOTES, channel: 'stable' });
    expect(outcome.installed).toBe(true);
    // The running executable's path is relaunched, after the swap: it now holds 1.1.0's files.
    expect(installed.host.relaunches).toEqual([{ execPath: app.executable }]);
    expect(installed.host.quitCount).toBe(1);
    expect(outcome.relaunch?.code).toBe(0);
    expect(JSON.parse(await readFile(marker, 'utf8'))).toEqual({ version: '1.1.0', resources: app.resourcesPath });
    expect(await installedVersion(app)).toBe('1.1.0');
    // The previous version is kept beside the install until the next start, complete and runnable.
    expect((await run(join(`${app.installDir}.old`, oldBuild.executableName))).stdout).toBe('1.0.0\n');
    expect((await readdir(join(dir, 'opt'))).sort()).toEqual([
      oldBuild.executableName,
      `${oldBuild.executableName}.old`,
    ]);

    // 1.1.0's first start: a no-change check of two requests, and the leftovers removed.
    const fetcher = new CountingFetcher();
    const restarted = await createInstalledUpdater(app, { userDataPath: join(dir, 'userdata'), fetcher });
    expect(restarted.version).toBe('1.1.0');
    expect((await restarted.updater.checkForUpdates())?.isUpdateAvailable).toBe(false);
    expect(fetcher.records.map((r) => r.url.replace(server.metadataUrl, ''))).toEqual([
      '/2.root.json',
      '/timestamp.json',
    ]);
    expect(await readdir(join(dir, 'opt'))).toEqual([oldBuild.executableName]);
    expect(await readdir(cacheDirOf(join(dir, 'userdata')))).not.toContain('pending.json');
  }, 120_000);

  it('a fresh 1.0.0 refuses 1.1.0 from a mirror serving it with one byte changed, and stays 1.0.0', async () => {
    const app = await installTarGz(oldBuild.archive, join(dir, 'opt-mirror'), oldBuild.executableName);
    const mirror = servers[1];
    const installed = await createInstalledUpdater(app, {
      userDataPath: join(dir, 'userdata-mirror'),
      mirror: { metadataUrl: mirror.metadataUrl, targetsUrl: mirror.targetsUrl },
    });

    const outcome = await updateInstalledApp(installed);

    expect(outcome.offered?.version).toBe('1.1.0'); // the metadata is the genuine one
    expect(outcome.error).toBeInstanceOf(LengthOrHashMismatchError);
    expect(outcome.installed).toBe(false);
    expect(installed.host.relaunches).toEqual([]);
    expect(installed.host.quitCount).toBe(0);
    expect(await installedVersion(app)).toBe('1.0.0');
    expect(await readdir(join(dir, 'opt-mirror'))).toEqual([oldBuild.executableName]);
    expect(await readdir(join(cacheDirOf(join(dir, 'userdata-mirror')), 'pending')).catch(() => [])).toEqual([]);
  }, 120_000);
});
