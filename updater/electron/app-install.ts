/**
 * The two ends of an update's install, for the app updater: handing the re-verified download
 * to the installer for this kind of install, and, at the first check of the next process,
 * forgetting the update that is now running and removing what the previous version left.
 */
import semver from 'semver';
import type { TargetFile } from '../core/metadata.js';
import { describeError } from '../node-io/index.js';
import type { Context } from './context.js';
import type { ElectronHost } from './electron-host.js';
import { InstallError } from './errors.js';
import { defaultInstallers, removePreviousInstall } from './installers/index.js';
import { defaultSpawn, type SpawnFunction } from './installers/spawn.js';
import type { Installer } from './installers/types.js';
import type { Logger } from './types.js';

export interface InstallRequest {
  isSilent: boolean;
  isForceRunAfter: boolean;
  relaunch: boolean;
}

/**
 * Verifies `update.target` again right before use (the file sat on disk since the download),
 * then runs the installer that takes this install's kind on this platform. `beforeInstall`
 * runs once the installer is chosen, just before it takes over.
 */
export async function installUpdate(
  ctx: Context,
  update: { target: TargetFile; version: string },
  request: InstallRequest,
  deps: {
    host: ElectronHost;
    installers?: Installer[];
    spawn?: SpawnFunction;
    log: Logger;
    beforeInstall: () => void;
  },
): Promise<void> {
  const file = await ctx.downloads.verify(update.target);
  const installer = (deps.installers ?? defaultInstallers()).find((i) => i.canInstall(ctx.installKind, ctx.platform));
  if (!installer) throw new InstallError(`no installer for ${ctx.installKind} on ${ctx.platform}`);
  deps.beforeInstall();
  deps.log.info(`installing ${update.version} with the ${installer.name} installer`);
  await installer.install({
    file,
    expected: { length: update.target.length, hashes: update.target.hashes },
    kind: ctx.installKind,
    version: update.version,
    platform: ctx.platform,
    ...request,
    host: deps.host,
    spawn: deps.spawn ?? defaultSpawn,
    log: deps.log,
  });
}

/** Forgets an update that is now running and removes the previous tar.gz install (once per process). */
export async function cleanUpAfterUpdate(
  ctx: Context,
  deps: { host: ElectronHost; currentVersion: semver.SemVer; differential: boolean; log: Logger },
): Promise<void> {
  const { currentVersion, log } = deps;
  const pending = await ctx.downloads.readPending();
  if (pending && semver.valid(pending.version) && !semver.gt(pending.version, currentVersion)) {
    // The installer of the running version is kept as the source of the next differential download.
    const keep = deps.differential && semver.eq(pending.version, currentVersion);
    // Best effort (another instance may hold the lock), but not silently.
    await ctx.downloads.clear(keep ? pending : undefined).catch((error: unknown) => {
      log.warn(`could not forget the installed update ${pending.version}: ${describeError(error)}`);
    });
  }
  if (!deps.differential) {
    await ctx.downloads.forgetInstalled().catch((error: unknown) => {
      log.warn(`could not remove the installer kept for differential downloads: ${describeError(error)}`);
    });
  }
  if (ctx.installKind !== 'tar.gz') return;
  // Housekeeping at start: a copy that cannot be removed must not stop the app, but is reported.
  const removed = await removePreviousInstall(deps.host.execPath()).catch((error: unknown) => {
    log.warn(`could not remove the previous version left by the last update: ${describeError(error)}`);
    return false;
  });
  if (removed) log.info('removed the previous version left by the last update');
}
