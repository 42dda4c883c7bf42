/**
 * One interface for every way an update is installed. The app updater picks the installer
 * that can install the release's installer kind on this platform and hands it a verified file.
 * Installers touch the system only through `ctx` (spawn, host), so what cannot run on Linux is
 * tested by recording exactly what it would do.
 */
import type { InstallerKind, Platform } from '../../release/index.js';
import type { ElectronHost } from '../electron-host.js';
import type { Logger } from '../types.js';
import type { SpawnFunction } from './spawn.js';

/** What the signed target info says the installer is: for installers that check it again. */
export interface ExpectedFile {
  length: number;
  /** Algorithm -> hex digest, as in the targets metadata. */
  hashes: Record<string, string>;
}

export interface InstallContext {
  /** The verified installer (re-verified just before this call). */
  file: string;
  /**
   * Its signed length and hashes. The file sits in a user-writable folder: an installer that
   * runs with more privilege than the app must check what it installs again on its side.
   */
  expected: ExpectedFile;
  kind: InstallerKind;
  /** The version being installed. */
  version: string;
  platform: Platform;
  /** No installer UI (electron-updater's isSilent). */
  isSilent: boolean;
  /** Start the app after installing even when silent (electron-updater's isForceRunAfter). */
  isForceRunAfter: boolean;
  /**
   * Start the new version once installed. False when installing on quit: the user quit, so
   * the app stays closed.
   */
  relaunch: boolean;
  host: ElectronHost;
  spawn: SpawnFunction;
  log: Logger;
}

export interface Installer {
  /** For logs. */
  readonly name: string;
  canInstall(kind: InstallerKind, platform: Platform): boolean;
  /**
   * Installs and then restarts or quits the app. Rejects with a TufError subclass (usually
   * InstallError) on failure, after putting the running app back as it was.
   */
  install(ctx: InstallContext): Promise<void>;
}

/** Restarts into `execPath` (when asked to) and quits: the last step of in-place installers. */
export function restartInto(ctx: InstallContext, execPath: string): void {
  if (ctx.relaunch) ctx.host.relaunch({ execPath });
  ctx.host.quit();
}
