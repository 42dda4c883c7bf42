/**
 * The installer the running version runs from, when that is one file the updater can read: an
 * AppImage (`$APPIMAGE`, the file the user runs). A source of chunks for a differential
 * download when no installer was kept (download-manager.ts checks the file against the signed
 * target found here before using it). Found through the channel indexes like an update: the
 * running version's listing, and its installer's signed target (resolveInstaller's checks).
 */
import { TufError } from '../core/errors.js';
import type { ChannelIndex, InstallerKind, Platform } from '../release/index.js';
import type { Updater } from '../client/updater.js';
import { describeError } from '../node-io/index.js';
import { resolveInstaller, runningRelease, type ReleasePolicy } from './discovery.js';
import type { RunningInstaller } from './download-manager.js';
import type { Logger } from './types.js';

export interface RunningInstall {
  platform: Platform;
  kind: InstallerKind;
  /** The environment (for `$APPIMAGE`). */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Undefined unless this is an AppImage install with `$APPIMAGE` set and the indexes still list
 * the running version with a signed AppImage. A listing that does not resolve (its signed
 * target describes another release) is logged: it must not fail the check for updates.
 */
export async function findRunningInstaller(
  client: Updater,
  indexes: readonly ChannelIndex[],
  policy: ReleasePolicy,
  install: RunningInstall,
  log: Logger,
): Promise<RunningInstaller | undefined> {
  const path = install.env.APPIMAGE;
  if (install.kind !== 'AppImage' || !path) return undefined;
  const candidate = runningRelease(indexes, policy);
  if (!candidate) return undefined;
  try {
    return { path, target: await resolveInstaller(client, candidate, install) };
  } catch (error) {
    if (!(error instanceof TufError)) throw error;
    log.warn(`the running AppImage cannot serve a differential download: ${describeError(error)}`);
    return undefined;
  }
}
