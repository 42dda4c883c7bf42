/**
 * The updater as an installed demo app runs it, in Node: TufAppUpdater on a DemoHost whose
 * executable, resources and version are the install's. With no URLs given, the repository
 * settings and the trusted root come from what the build embedded in the install's resources,
 * exactly as in the packaged app (app/main.ts creates it with no options).
 */
import { join } from 'node:path';
import type { Fetcher } from '../../updater/client/fetcher.js';
import { CACHE_DIR_NAME, TufAppUpdater, type Logger, type UpdateInfo } from '../../updater/electron/index.js';
import { DEMO_ARCH, DEMO_PLATFORM } from './app-builds.js';
import { DemoHost, installedVersion, type InstalledApp, type RunResult } from './installed-app.js';

export interface InstalledUpdaterOptions {
  /** The app's userData folder (the updater's cache goes in <userData>/electron-tuf). */
  userDataPath: string;
  /** A mirror to use instead of the embedded repository URLs (the trusted root stays embedded). */
  mirror?: { metadataUrl: string; targetsUrl: string };
  fetcher?: Fetcher;
  logger?: Logger | null;
  relaunchArgs?: string[];
}

export interface InstalledUpdater {
  updater: TufAppUpdater;
  host: DemoHost;
  /** The version the installed app reported. */
  version: string;
}

export async function createInstalledUpdater(
  app: InstalledApp,
  options: InstalledUpdaterOptions,
): Promise<InstalledUpdater> {
  const version = await installedVersion(app);
  const host = new DemoHost({
    version,
    userDataPath: options.userDataPath,
    execPath: app.executable,
    resourcesPath: app.resourcesPath,
    // No $APPIMAGE from the demo's own environment: this install is an unpacked tar.gz.
    env: {},
    relaunchArgs: options.relaunchArgs,
  });
  const updater = new TufAppUpdater({
    host,
    platform: DEMO_PLATFORM,
    arch: DEMO_ARCH,
    metadataUrl: options.mirror?.metadataUrl,
    targetsUrl: options.mirror?.targetsUrl,
    fetcher: options.fetcher,
    logger: options.logger === undefined ? null : options.logger,
  });
  // The demo drives each step itself, to show it.
  updater.autoDownload = false;
  updater.autoInstallOnAppQuit = false;
  return { updater, host, version };
}

export interface UpdateOutcome {
  /** What the check offered (update-available). */
  offered?: UpdateInfo;
  /** The verified installer in the pending cache. */
  downloadedFile?: string;
  /** True once the installer has put the new version in place and asked for the relaunch. */
  installed: boolean;
  /** The first failure (also emitted as `error`). */
  error?: Error;
  /** The relaunched app's run. */
  relaunch?: RunResult;
}

/** Check, download, quitAndInstall, as a user clicking through the window would. */
export async function updateInstalledApp({ updater, host }: InstalledUpdater): Promise<UpdateOutcome> {
  const outcome: UpdateOutcome = { installed: false };
  const onError = (error: Error): void => {
    outcome.error ??= error;
  };
  updater.on('error', onError);
  try {
    const result = await updater.checkForUpdates();
    if (!result?.isUpdateAvailable) return outcome;
    outcome.offered = result.updateInfo;
    [outcome.downloadedFile] = await updater.downloadUpdate();
    outcome.installed = await updater.quitAndInstall();
    if (outcome.installed) outcome.relaunch = await host.relaunched;
  } catch (error) {
    outcome.error ??= error instanceof Error ? error : new Error(String(error));
  } finally {
    updater.off('error', onError);
  }
  return outcome;
}

/** The updater's cache folder for `userDataPath`. */
export function cacheDirOf(userDataPath: string): string {
  return join(userDataPath, CACHE_DIR_NAME);
}
