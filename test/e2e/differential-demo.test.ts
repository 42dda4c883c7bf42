/**
 * Differential updates end to end (issue 15) between real electron-builder builds of the demo
 * app: 1.0.0 and 1.0.1, whose main.js has one line more, built offline as Linux tar.gz over one
 * stand-in Electron distribution carrying a payload (standing for Electron's own binaries, the
 * same in both builds, as between two releases on one Electron version). Both are published
 * with `repo add`, which makes their chunk maps, and served over real HTTP with byte ranges.
 * An installed 1.0.0 whose installer the updater kept (`<cacheDir>/installed/`) builds 1.0.1
 * from it plus ranged downloads, and installs it with the Linux tar.gz installer.
 */
import { cp, appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWithElectronBuilder, type DemoBuild, type EmbeddedConfig } from '../../build/demo/app-builds.js';
import { installedVersion, installTarGz } from '../../build/demo/installed-app.js';
import { createDemoRepository, publishRelease, type DemoRepository } from '../../build/demo/repository.js';
import { cacheDirOf, createInstalledUpdater, updateInstalledApp } from '../../build/demo/update-run.js';
import { compileDemoApp } from '../../build/stage-app.js';
import { createStandinElectron } from '../../build/standin-electron.js';
import type { Logger } from '../../updater/electron/index.js';
import { syntheticInstaller } from '../bench/lib/diff-fixtures.js';
import { serveWithRanges, type RangeServer } from '../electron/differential-fixtures.js';

const SETUP_TIMEOUT = 600_000;
/** Stands for Electron's binaries: compressible about as much as they are. */
const PAYLOAD_BYTES = 32 * 1024 * 1024;

let dir: string;
let repository: DemoRepository;
let server: RangeServer;
let oldBuild: DemoBuild;
let newBuild: DemoBuild;
let oldTarget: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-differential-'));
  repository = await createDemoRepository(join(dir, 'repo'), join(dir, 'keys'));
  server = await serveWithRanges(repository.repo);
  const config: EmbeddedConfig = {
    trustedRoot: await readFile(repository.init.trustedRoot),
    settings: { metadataUrl: server.metadataUrl, targetsUrl: server.targetsUrl },
  };
  const electronDist = await createStandinElectron(join(dir, 'electron'));
  await writeFile(join(electronDist, 'libstandin-payload.so'), syntheticInstaller(PAYLOAD_BYTES, 'electron', true));
  const compiledOld = await compileDemoApp(join(dir, 'compiled-1.0.0'));
  const compiledNew = join(dir, 'compiled-1.0.1');
  await cp(compiledOld, compiledNew, { recursive: true });
  await appendFile(join(compiledNew, 'app', 'main.js'), '\n// 1.0.1: a small fix\nvoid 0;\n');
  oldBuild = await buildWithElectronBuilder('1.0.0', join(dir, 'build-1.0.0'), config, compiledOld, electronDist);
  newBuild = await buildWithElectronBuilder('1.0.1', join(dir, 'build-1.0.1'), config, compiledNew, electronDist);
  const published = await publishRelease(repository, { version: '1.0.0', archive: oldBuild.archive, notes: 'First.' });
  const added = await publishRelease(repository, { version: '1.0.1', archive: newBuild.archive, notes: 'A fix.' });
  // `repo add` made a chunk map for each tar.gz and named it in the installer's signed custom.
  expect(published.targets[0].chunkMap).toBeDefined();
  expect(added.targets[0].chunkMap).toBeDefined();
  oldTarget = published.targets[0].path;
}, SETUP_TIMEOUT);

afterAll(async () => {
  await server?.close();
  if (dir && !process.env.KEEP_E2E) await rm(dir, { recursive: true, force: true });
});

/**
 * What the updater leaves after it installed 1.0.0 and 1.0.0 started once (docs:
 * differential-updates.md, "Which earlier installers are used"): the installer in
 * `installed/`, and `installed.json` naming its target.
 */
async function keepInstalledInstaller(userDataPath: string): Promise<void> {
  const cacheDir = cacheDirOf(userDataPath);
  await mkdir(join(cacheDir, 'installed'), { recursive: true });
  await cp(oldBuild.archive, join(cacheDir, 'installed', basename(oldTarget)));
  const installed = { format: 1, version: '1.0.0', target: oldTarget };
  await writeFile(join(cacheDir, 'installed.json'), JSON.stringify(installed));
}

function recordingLogger(lines: string[]): Logger {
  return {
    info: (m) => void lines.push(`info ${String(m)}`),
    warn: (m) => void lines.push(`warn ${String(m)}`),
    error: (m) => void lines.push(`error ${String(m)}`),
  };
}

describe('a differential update between two electron-builder builds of the demo app', () => {
  it('an installed 1.0.0 with its installer kept downloads a small part of 1.0.1, byte-identical, and installs it', async () => {
    const app = await installTarGz(oldBuild.archive, join(dir, 'opt'), oldBuild.executableName);
    const userDataPath = join(dir, 'userdata');
    await keepInstalledInstaller(userDataPath);
    const lines: string[] = [];
    const installed = await createInstalledUpdater(app, { userDataPath, logger: recordingLogger(lines) });
    let progressBytes = 0;
    let progressTotal = 0;
    installed.updater.on('download-progress', (p) => {
      progressBytes += p.delta;
      progressTotal = p.total;
    });
    const newArchive = await readFile(newBuild.archive);
    const newName = `.${basename(newBuild.archive)}`; // stored as <hash>.<name>

    const outcome = await updateInstalledApp(installed);

    expect(outcome.error).toBeUndefined();
    expect(outcome.offered?.version).toBe('1.0.1');
    expect(lines.join('\n')).not.toMatch(/fallback to full download/);
    // Counted at the HTTP server: only ranges of the new installer, a small part of it.
    const servedBytes = server.served(newName);
    const ranged = server.requests.filter((r) => r.url.endsWith(newName));
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((r) => r.range !== undefined)).toBe(true);
    expect(servedBytes).toBeGreaterThan(0);
    // About 2.3 MB of 17.7 MB here: the gzip stream differs from the app's files (resources/,
    // after Electron's) to its end, plus a deflate block around the top folder's name.
    expect(servedBytes).toBeLessThan(newArchive.length * 0.2);
    // Progress counts the bytes actually downloaded, against the plan's total.
    expect(progressBytes).toBe(servedBytes);
    expect(progressTotal).toBe(servedBytes);
    // The built installer is the signed one, byte for byte, and it was installed.
    expect((await readFile(outcome.downloadedFile!)).equals(newArchive)).toBe(true);
    expect(outcome.installed).toBe(true);
    expect(await installedVersion(app)).toBe('1.0.1');
  }, 180_000);
});
