/**
 * Windows NSIS: start the verified installer detached, with electron-builder's update flags,
 * and quit; the installer waits for the app to exit, replaces it, and starts it again when
 * told to (`--force-run`) or when it runs with its UI.
 *
 * Privilege: the installer starts as the user, like the app, so a file swapped between the
 * check right before this call and the start gains an attacker nothing the user's own process
 * could not do. A per-machine installer then elevates itself through UAC by starting its own
 * file again, and that start reads the user-writable pending folder: a same-user process can
 * rename the file away while the UAC prompt is open. Closing that needs an elevated helper that
 * copies the file to an admin-only folder and checks it there, as the deb/rpm script does on
 * Linux (linux-package.ts); until then Authenticode signing is what makes UAC show the swap
 * ("Unknown publisher"), and per-user installs (electron-builder's default) never elevate.
 */
import type { InstallerKind, Platform } from '../../release/index.js';
import { startDetached } from './spawn.js';
import type { InstallContext, Installer } from './types.js';

/** electron-updater's NsisUpdater arguments. */
export function nsisArguments(isSilent: boolean, isForceRunAfter: boolean): string[] {
  const args = ['--updated'];
  if (isSilent) args.push('/S');
  if (isForceRunAfter) args.push('--force-run');
  return args;
}

export class NsisInstaller implements Installer {
  readonly name = 'NSIS';

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return kind === 'nsis' && platform === 'win32';
  }

  async install(ctx: InstallContext): Promise<void> {
    await startDetached(ctx.spawn, ctx.file, nsisArguments(ctx.isSilent, ctx.isForceRunAfter));
    ctx.log.info(`started the ${ctx.version} installer; quitting so it can replace the app`);
    ctx.host.quit();
  }
}
