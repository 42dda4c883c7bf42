/**
 * Builds the demo app with electron-builder's JS API, offline (build/README.md): stages the
 * app with the requested version, points electron-builder at a local Electron distribution
 * (by default the stand-in from build/standin-electron.ts) and at a local 7-Zip, and builds
 * the Linux targets that need no downloaded tools.
 *
 * The configuration's hooks are electron-tuf's (build/electron-builder.config.ts). With
 * `toolsDir` (an app install made by build/app-install.ts) electron-builder runs from there and
 * resolves the hook module string itself, exactly as in an app that installed both packages. Without
 * it, electron-builder runs from the checkout, where `electron-tuf/electron-builder` does not
 * resolve (the checkout is the package, not an app using it), so the same hook functions are
 * passed in directly from publisher/electron-builder.ts.
 */
import { access, chmod, constants, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as AppBuilderLib from 'app-builder-lib';
import type { AfterPackContext, Configuration } from 'electron-builder';
import * as electronTufHooks from '../publisher/electron-builder.js';
import { ValueError } from '../updater/core/errors.js';
import { validateVersion } from '../updater/release/index.js';
import { createDemoBuilderConfig } from './electron-builder.config.js';
import { PROJECT_ROOT } from './paths.js';
import { stageDemoApp } from './stage-app.js';
import { createStandinElectron } from './standin-electron.js';

/** Targets that build without network here; AppImage, deb, rpm, NSIS and dmg download tools. */
export const OFFLINE_TARGETS = ['tar.gz', 'zip', 'dir'] as const;
export type OfflineTarget = (typeof OFFLINE_TARGETS)[number];

/** Replacements for electron-tuf's hooks (tests); each given one runs instead of electron-tuf's. */
export interface BuildHooks {
  afterPack?: (context: AfterPackContext) => Promise<void> | void;
  /** electron-builder's hook; returning extra file paths adds them to the artifacts. */
  afterAllArtifactBuild?: Configuration['afterAllArtifactBuild'];
}

export interface BuildDemoAppOptions {
  version: string;
  /** Where electron-builder writes the artifacts and the unpacked app. */
  outDir: string;
  /** Default ['tar.gz']. */
  targets?: OfflineTarget[];
  /** Default 'x64'. The stand-in runs anywhere; a real electronDist must match. */
  arch?: 'x64' | 'arm64';
  /** Default true, as shipped apps are. */
  asar?: boolean;
  /** An unpacked Electron distribution for Linux; default: a fresh stand-in. */
  electronDist?: string;
  /** Default: the version of the `electron` package installed in the checkout. */
  electronVersion?: string;
  /** The app compiled earlier by compileDemoApp (build/stage-app.ts); default: compile for this build. */
  compiledApp?: string;
  /** A root.json to ship as the app's trusted root via extraResources (resources/electron-tuf/root.json). */
  trustedRoot?: string;
  hooks?: BuildHooks;
  /**
   * A folder whose node_modules holds app-builder-lib and electron-tuf (build/app-install.ts):
   * electron-builder is loaded from there and resolves the hook module strings from there.
   * Default: the checkout's electron-builder, with electron-tuf's hooks passed as functions.
   */
  toolsDir?: string;
}

export interface DemoAppBuild {
  /** Archive paths (empty for a 'dir'-only build), plus any the afterAllArtifactBuild hook added. */
  artifacts: string[];
  /** The unpacked app, as packaged into the archives. */
  appOutDir: string;
}

export async function buildDemoApp(options: BuildDemoAppOptions): Promise<DemoAppBuild> {
  const version = validateVersion(options.version);
  const targets = checkTargets(options.targets ?? ['tar.gz']);
  if (targets.some((target) => target !== 'dir')) await useLocalSevenZip();
  const builder = loadAppBuilderLib(options.toolsDir ?? PROJECT_ROOT);
  const workDir = await mkdtemp(join(tmpdir(), 'electron-tuf-build-'));
  try {
    const stageDir = join(workDir, 'app');
    await stageDemoApp({ version, stageDir, trustedRoot: options.trustedRoot, compiledApp: options.compiledApp });
    const electronDist = options.electronDist ?? (await createStandinElectron(join(workDir, 'electron')));
    const base = createDemoBuilderConfig();
    // Module strings where electron-builder can resolve them, else the same functions from source.
    const defaults = options.toolsDir ? base : electronTufHooks;
    const config: Configuration = {
      ...base,
      asar: options.asar ?? true,
      electronVersion: options.electronVersion ?? (await installedElectronVersion()),
      electronDist,
      directories: { output: resolve(options.outDir) },
      linux: { ...base.linux, target: targets },
      afterPack: options.hooks?.afterPack ?? defaults.afterPack,
      afterAllArtifactBuild: options.hooks?.afterAllArtifactBuild ?? defaults.afterAllArtifactBuild,
    };
    const buildOptions: AppBuilderLib.PackagerOptions & AppBuilderLib.PublishOptions = {
      projectDir: stageDir,
      targets: builder.Platform.LINUX.createTarget(
        targets,
        options.arch === 'arm64' ? builder.Arch.arm64 : builder.Arch.x64,
      ),
      config,
      publish: 'never',
    };
    // A system listener sees the unpacked app without taking the afterPack setting.
    const packager = new builder.Packager(buildOptions);
    let appOutDir: string | undefined;
    packager.onAfterPack((context) => {
      appOutDir = context.appOutDir;
    });
    const artifacts = await builder.build(buildOptions, packager);
    if (appOutDir === undefined) throw new ValueError('electron-builder packed nothing');
    return { artifacts, appOutDir };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * electron-builder's engine (app-builder-lib) as installed under `dir`. electron-builder's
 * `build` makes its own Packager; app-builder-lib's takes ours, so the build can be observed.
 */
function loadAppBuilderLib(dir: string): typeof AppBuilderLib {
  const require = createRequire(join(resolve(dir), 'package.json'));
  return require('app-builder-lib') as typeof AppBuilderLib;
}

function checkTargets(targets: readonly string[]): OfflineTarget[] {
  if (targets.length === 0) throw new ValueError('no build targets given');
  for (const target of targets) {
    if (!(OFFLINE_TARGETS as readonly string[]).includes(target)) {
      throw new ValueError(`target ${JSON.stringify(target)} cannot build offline: use ${OFFLINE_TARGETS.join(', ')}`);
    }
  }
  return [...targets] as OfflineTarget[];
}

async function installedElectronVersion(): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(PROJECT_ROOT, 'node_modules', 'electron', 'package.json'), 'utf8'),
  ) as { version?: unknown };
  return validateVersion(String(manifest.version));
}

/**
 * Without ELECTRON_BUILDER_7ZIP_PATH, electron-builder 26 downloads 7-Zip on first use, which
 * fails offline. Use the npm package 7zip-bin when installed, else Debian's 7zip (7zz) or
 * p7zip (7za, 7z). The variable is process-wide and left set: concurrent builds in one process
 * need it for their whole run.
 */
async function useLocalSevenZip(): Promise<void> {
  if (process.env.ELECTRON_BUILDER_7ZIP_PATH) return;
  const packaged = join(
    PROJECT_ROOT,
    'node_modules',
    '7zip-bin',
    'linux',
    process.arch === 'arm64' ? 'arm64' : 'x64',
    '7za',
  );
  // The registry tarball ships 7za without its execute bit.
  await chmod(packaged, 0o755).catch(() => undefined);
  const candidates = [packaged, '/usr/bin/7za', '/usr/bin/7zz', '/usr/bin/7z'];
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) {
      process.env.ELECTRON_BUILDER_7ZIP_PATH = candidate;
      return;
    }
  }
  throw new ValueError('no local 7-Zip for electron-builder: apt-get install 7zip, or set ELECTRON_BUILDER_7ZIP_PATH');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
