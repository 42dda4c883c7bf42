/**
 * Windows NSIS: start the verified installer detached, with electron-builder's update flags,
 * and quit; the installer waits for the app to exit, replaces it, and starts it again when
 * told to (`--force-run`) or when it runs with its UI.
 */
import type { InstallerKind, Platform } from '../../core/release.js';
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
