/**
 * deb and rpm: the system package manager installs the verified package, with the user's
 * consent through polkit (`pkexec`). Commands are argument arrays, never shell strings.
 */
import type { InstallerKind, Platform } from '../../core/release.js';
import { runCommand } from './spawn.js';
import { restartInto, type InstallContext, type Installer } from './types.js';

/** The exact command each package kind runs (pkexec, then its arguments). */
export function packageInstallCommand(kind: 'deb' | 'rpm', file: string): { command: string; args: string[] } {
  return kind === 'deb' ? { command: 'pkexec', args: ['dpkg', '-i', file] } : { command: 'pkexec', args: ['rpm', '-U', file] };
}

export class LinuxPackageInstaller implements Installer {
  readonly name = 'deb/rpm';

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return platform === 'linux' && (kind === 'deb' || kind === 'rpm');
  }

  async install(ctx: InstallContext): Promise<void> {
    const { command, args } = packageInstallCommand(ctx.kind as 'deb' | 'rpm', ctx.file);
    await runCommand(ctx.spawn, command, args);
    ctx.log.info(`installed ${ctx.version} with ${args[0]}`);
    // The package replaced the files at the same paths, so the same executable is the new one.
    restartInto(ctx, ctx.host.execPath());
  }
}
