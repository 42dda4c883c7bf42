/**
 * The installers and how the updater tells which kind of install it is running from.
 */
import { join } from 'node:path';
import type { InstallerKind, Platform } from '../../release/index.js';
import { readFileBounded } from '../../node-io/index.js';
import type { ElectronHost } from '../electron-host.js';
import { AppImageInstaller } from './appimage.js';
import { LinuxPackageInstaller } from './linux-package.js';
import { TarGzInstaller } from './linux-tar.js';
import { NsisInstaller } from './nsis.js';
import { SquirrelMacInstaller } from './squirrel-mac.js';
import type { Installer } from './types.js';

export type { ExpectedFile, InstallContext, Installer } from './types.js';
export { defaultSpawn, type SpawnFunction, type SpawnOptions, type SpawnedProcess } from './spawn.js';
export { AppImageInstaller } from './appimage.js';
export { ELEVATED_INSTALL_SCRIPT, LinuxPackageInstaller, packageInstallCommand } from './linux-package.js';
export { TarGzInstaller, swapDirectories, removePreviousInstall, type TarGzInstallerOptions } from './linux-tar.js';
export { NsisInstaller, nsisArguments } from './nsis.js';
export { SquirrelMacInstaller, startZipFeed, handToSquirrel } from './squirrel-mac.js';
export { extractTarGz, type ExtractLimits } from './tar-extract.js';

export function defaultInstallers(): Installer[] {
  return [
    new TarGzInstaller(),
    new AppImageInstaller(),
    new LinuxPackageInstaller(),
    new NsisInstaller(),
    new SquirrelMacInstaller(),
  ];
}

/**
 * Which installer kind updates this install: NSIS on Windows, zip (Squirrel.Mac) on macOS; on
 * Linux an AppImage when `$APPIMAGE` is set, deb/rpm when electron-builder's
 * `resources/package-type` says so, else the unpacked tar.gz directory.
 */
export async function detectInstallKind(host: ElectronHost, platform: Platform): Promise<InstallerKind> {
  if (platform === 'win32') return 'nsis';
  if (platform === 'darwin') return 'zip';
  if (host.env().APPIMAGE) return 'AppImage';
  // Absent means not a deb/rpm install; unreadable is an error (a guess could install the wrong kind).
  const bytes = await readFileBounded(join(host.resourcesPath(), 'package-type'), 64);
  const packageType = bytes ? Buffer.from(bytes).toString('utf8').trim() : '';
  if (packageType === 'deb' || packageType === 'rpm') return packageType;
  return 'tar.gz';
}
