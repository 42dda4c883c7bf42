/**
 * Linux tar.gz (an unpacked app directory): extract the new version beside the installed one
 * (same file system, so renames are atomic), swap the two directories, relaunch the new binary.
 *
 *   /opt/MyApp            the running install (its executable is process.execPath)
 *   /opt/.MyApp.update-x  the new version, extracted and checked
 *   /opt/MyApp.old        the previous version after the swap, removed at the next start
 *
 * Until the swap the installed app is never touched; the swap is two renames, and a failure
 * of the second puts the first back. The running process keeps its open files after its
 * directory is renamed, so it can quit normally.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { TufError } from '../../core/errors.js';
import { errorCode } from '../../node-io/index.js';
import { InstallError } from '../errors.js';
import type { InstallerKind, Platform } from '../../release/index.js';
import { DEFAULT_EXTRACT_LIMITS, extractTarGz, type ExtractLimits } from './tar-extract.js';
import { restartInto, type InstallContext, type Installer } from './types.js';

export interface TarGzInstallerOptions {
  /** The installed app directory (default: the folder of the running executable). */
  installDir?: string;
  limits?: ExtractLimits;
}

export class TarGzInstaller implements Installer {
  readonly name = 'tar.gz';

  constructor(private readonly options: TarGzInstallerOptions = {}) {}

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return kind === 'tar.gz' && platform === 'linux';
  }

  async install(ctx: InstallContext): Promise<void> {
    const execPath = ctx.host.execPath();
    const installDir = this.options.installDir ?? dirname(execPath);
    const exeName = relative(installDir, execPath);
    if (!exeName || exeName.startsWith('..') || isAbsolute(exeName)) {
      throw new InstallError(`the running executable ${execPath} is not inside the install directory ${installDir}`);
    }
    const staging = join(dirname(installDir), `.${basename(installDir)}.update-${randomBytes(6).toString('hex')}`);
    await step(`create ${staging}`, () => mkdir(staging, { mode: 0o755 }));
    try {
      await step(`extract ${ctx.file}`, () =>
        extractTarGz(ctx.file, staging, this.options.limits ?? DEFAULT_EXTRACT_LIMITS),
      );
      const newDir = await appRootOf(staging);
      await checkExecutable(join(newDir, exeName), exeName);
      await swapDirectories(installDir, newDir);
      ctx.log.info(
        `installed ${ctx.version} into ${installDir} (previous version kept in ${previousInstallDir(installDir)} until the next start)`,
      );
    } catch (error) {
      // A refused archive must not stay behind unnoticed: say so if it cannot be removed.
      await rm(staging, { recursive: true, force: true }).catch((rmError: unknown) => {
        throw new InstallError(
          `${messageOf(error)}; and the partial extraction ${staging} could not be removed: ${messageOf(rmError)}`,
          { cause: error },
        );
      });
      throw error;
    }
    // Installed: what is left of the staging folder is at most the archive's empty top folder.
    await rm(staging, { recursive: true, force: true }).catch((rmError: unknown) => {
      ctx.log.warn(`installed ${ctx.version}, but could not remove ${staging}: ${messageOf(rmError)}`);
    });
    restartInto(ctx, execPath);
  }
}

/** Where the previous version is kept after a swap. */
export function previousInstallDir(installDir: string): string {
  return `${installDir}.old`;
}

export interface RenameOps {
  rename(from: string, to: string): Promise<void>;
}

/**
 * current -> current.old, replacement -> current. If the second rename fails, the first is
 * undone, so `current` always holds a complete app.
 */
export async function swapDirectories(
  current: string,
  replacement: string,
  ops: RenameOps = { rename },
): Promise<void> {
  const old = previousInstallDir(current);
  await step(`remove ${old}`, () => rm(old, { recursive: true, force: true }));
  await step(`move ${current} aside`, () => ops.rename(current, old));
  try {
    await ops.rename(replacement, current);
  } catch (error) {
    try {
      await ops.rename(old, current);
    } catch (rollbackError) {
      throw new InstallError(
        `swap failed and could not be rolled back: the app is at ${old}: ${messageOf(rollbackError)}`,
        { cause: error },
      );
    }
    throw new InstallError(`cannot move the new version into ${current} (rolled back): ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * Removes the previous version left by a swap, at the next start (not at swap time: the
 * quitting process still runs from it). Only when it looks like an old copy of this app.
 */
export async function removePreviousInstall(execPath: string): Promise<boolean> {
  const installDir = dirname(execPath);
  const old = previousInstallDir(installDir);
  let oldExe;
  try {
    oldExe = await stat(join(old, basename(execPath)));
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false; // no previous version left
    throw new InstallError(`cannot inspect the previous version in ${old}: ${messageOf(error)}`, { cause: error });
  }
  if (!oldExe.isFile()) return false;
  await rm(old, { recursive: true, force: true }).catch((error: unknown) => {
    throw new InstallError(`cannot remove the previous version in ${old}: ${messageOf(error)}`, { cause: error });
  });
  return true;
}

/** electron-builder's tar.gz holds one top-level folder (`MyApp-1.2.0/`); others may not. */
async function appRootOf(extracted: string): Promise<string> {
  const entries = await readdir(extracted, { withFileTypes: true });
  return entries.length === 1 && entries[0].isDirectory() ? join(extracted, entries[0].name) : extracted;
}

async function checkExecutable(path: string, exeName: string): Promise<void> {
  const s = await stat(path).catch(() => undefined); // unreadable counts as missing: the refusal below says so
  if (!s?.isFile() || (s.mode & 0o111) === 0) {
    throw new InstallError(`the update has no executable ${exeName}: refusing to install an app that could not start`);
  }
}

/** Runs a file-system step; failures become InstallError (TufErrors from extraction pass through). */
async function step<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof TufError) throw error;
    throw new InstallError(`cannot ${what}: ${messageOf(error)}`, { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
