/**
 * The demo's releases of the demo app: Linux tar.gz archives, built with electron-builder
 * offline (build/build-app.ts, with the stand-in Electron), or, where electron-builder cannot
 * run, made by hand in the same layout. Either way the archive holds what the build hook
 * embeds into a shipped app (updater/electron/embedded-config.ts): the trusted root and the
 * repository settings under resources/electron-tuf/, so the installed app updates with no
 * options, as a real one does.
 *
 *   electron-tuf-demo-<version>-linux-<arch>/
 *     electron-tuf-demo                 the stand-in "Electron": prints the app's version
 *     standin-electron.cjs
 *     resources/app.asar                (electron-builder) or resources/app/package.json (by hand)
 *     resources/electron-tuf/root.json, settings.json
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import type { EmbeddedSettings } from '../../updater/electron/embedded-config.js';
import { writeEmbeddedFiles } from '../../publisher/electron-builder/embed.js';
import { buildDemoApp } from '../build-app.js';
import { PROJECT_ROOT } from '../paths.js';
import { createStandinElectron } from '../standin-electron.js';

const execFileAsync = promisify(execFile);

/** The demo plays a Linux install on this machine's arch (the stand-in runs anywhere). */
export const DEMO_PLATFORM = 'linux';
export const DEMO_ARCH: 'x64' | 'arm64' = process.arch === 'arm64' ? 'arm64' : 'x64';

/** What the build hook embeds into the app: the root to trust and where the repository is. */
export interface EmbeddedConfig {
  trustedRoot: Uint8Array;
  settings: EmbeddedSettings;
}

export interface DemoBuild {
  version: string;
  archive: string;
  /** The executable's name inside the archive's top folder. */
  executableName: string;
}

interface AppManifest {
  name: string;
  productName?: string;
}

/** app/package.json: electron-builder names the Linux executable after its `name`. */
export async function demoAppManifest(): Promise<AppManifest> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'app', 'package.json'), 'utf8')) as AppManifest;
  if (typeof manifest.name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(manifest.name))
    throw new ValueError('app/package.json has no usable name');
  return manifest;
}

/** Writes the embedded root and settings into an app's resources folder, with the build hook's own code. */
export async function embedConfig(resourcesDir: string, config: EmbeddedConfig): Promise<void> {
  await writeEmbeddedFiles(resourcesDir, { rootBytes: config.trustedRoot, settings: config.settings });
}

/**
 * electron-builder, offline, linux tar.gz, from the app compiled by compileDemoApp
 * (build/stage-app.ts; default: compiled for this build). Its log goes to a buffer, not the terminal; a failure carries the
 * log's last lines.
 */
export async function buildWithElectronBuilder(
  version: string,
  outDir: string,
  config: EmbeddedConfig,
  compiledApp?: string,
  /** An Electron distribution to pack (default: a fresh stand-in). */
  electronDist?: string,
): Promise<DemoBuild> {
  const { name } = await demoAppManifest();
  const { artifacts } = await withQuietBuilderLog(() =>
    buildDemoApp({
      version,
      outDir,
      compiledApp,
      electronDist,
      targets: ['tar.gz'],
      arch: DEMO_ARCH,
      // The demo embeds and publishes by itself (publishRelease adds the release notes), so
      // electron-builder's hooks do only the embedding, and nothing is signed behind its back.
      hooks: {
        afterPack: (context) => embedConfig(join(context.appOutDir, 'resources'), config),
        afterAllArtifactBuild: () => [],
      },
    }),
  );
  const archive = artifacts.find((artifact) => artifact.endsWith('.tar.gz'));
  if (!archive) throw new ValueError(`electron-builder made no tar.gz (artifacts: ${artifacts.join(', ') || 'none'})`);
  return { version, archive, executableName: name };
}

/**
 * The same layout without electron-builder: the stand-in Electron renamed to the app's
 * executable, the app's package.json unpacked (resources/app/, as with asar off), the embedded
 * config; packed with the system's tar.
 */
export async function buildByHand(version: string, outDir: string, config: EmbeddedConfig): Promise<DemoBuild> {
  const manifest = await demoAppManifest();
  const top = `${manifest.name}-${version}-${DEMO_PLATFORM}-${DEMO_ARCH}`;
  const appDir = join(outDir, top);
  await createStandinElectron(appDir);
  await rename(join(appDir, 'electron'), join(appDir, manifest.name));
  const resources = join(appDir, 'resources');
  await mkdir(join(resources, 'app'), { recursive: true });
  const packaged = { name: manifest.name, productName: manifest.productName, version, main: 'dist/app/main.js' };
  await writeFile(join(resources, 'app', 'package.json'), `${JSON.stringify(packaged, null, 2)}\n`);
  await embedConfig(resources, config);
  const archive = join(outDir, `${top}.tar.gz`);
  await execFileAsync('tar', ['-czf', archive, '-C', outDir, top]);
  return { version, archive, executableName: manifest.name };
}

const LOG_TAIL_LINES = 15;

/** Runs `build` with electron-builder's logger writing into a buffer (restored afterwards). */
async function withQuietBuilderLog<T>(build: () => Promise<T>): Promise<T> {
  // Loaded here, not at the top: loading electron-builder creates a jiti cache folder in
  // os.tmpdir(), which must land in the demo's workspace (TMPDIR is pointed there first).
  const { log: builderLog } = await import('electron-builder');
  // electron-builder's one logger writes to the stream it was made with (stdout); the field is
  // protected in its typings but a plain property at run time.
  const logger = builderLog as unknown as { stream: NodeJS.WritableStream };
  // Builds may run concurrently (the demo's two versions): the first one in swaps the stream,
  // the last one out restores it, and each failure reports the shared log's tail.
  if (quiet.depth++ === 0) {
    quiet.original = logger.stream;
    quiet.captured = '';
    logger.stream = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        quiet.captured = (quiet.captured + chunk.toString()).slice(-16_384);
        done();
      },
    });
  }
  try {
    return await build();
  } catch (error) {
    const tail = quiet.captured.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    const message = error instanceof Error ? error.message : String(error);
    throw new ValueError(`${message.split('\n')[0]}${tail ? `\nelectron-builder said:\n${tail}` : ''}`, {
      cause: error,
    });
  } finally {
    if (--quiet.depth === 0 && quiet.original !== undefined) logger.stream = quiet.original;
  }
}

/** electron-builder's logger while quiet builds run (see withQuietBuilderLog). */
const quiet: { depth: number; original?: NodeJS.WritableStream; captured: string } = { depth: 0, captured: '' };
