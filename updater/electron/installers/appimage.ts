/**
 * AppImage: the app is one file, `$APPIMAGE`. Copy the verified new image to a temp file in the
 * same directory, make it executable, fsync it, and rename it over `$APPIMAGE` (atomic: the
 * path holds the old image or the whole new one), then relaunch it.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, open, rename, stat } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { InstallError } from '../errors.js';
import { fsyncDirectory, tempPathBeside } from '../../node-io/index.js';
import { cleanupAfterFailure, removeIfPresent } from '../../node-io/cleanup.js';
import { describeError, errorCode } from '../../node-io/error-code.js';
import type { InstallerKind, Platform } from '../../release/index.js';
import { restartInto, type InstallContext, type Installer } from './types.js';

export class AppImageInstaller implements Installer {
  readonly name = 'AppImage';

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return kind === 'AppImage' && platform === 'linux';
  }

  async install(ctx: InstallContext): Promise<void> {
    const target = ctx.host.env().APPIMAGE;
    if (!target || !isAbsolute(target))
      throw new InstallError('$APPIMAGE is not set: this app is not running as an AppImage');
    const current = await stat(target).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return undefined; // reported as not a file below
      throw new InstallError(`cannot inspect $APPIMAGE ${target}: ${describeError(error)}`, { cause: error });
    });
    if (!current?.isFile()) throw new InstallError(`$APPIMAGE ${target} is not a file`);
    const temp = tempPathBeside(target);
    try {
      // COPYFILE_EXCL: never write through something planted at the temp name.
      await copyFile(ctx.file, temp, constants.COPYFILE_EXCL);
      await chmod(temp, 0o755);
      await syncFile(temp);
      await rename(temp, target);
    } catch (error) {
      await cleanupAfterFailure(error, () => removeIfPresent(temp));
      throw new InstallError(`cannot replace ${target}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    // Replaced: a failed directory sync only risks the rename after a power loss. Not fatal, but said.
    await fsyncDirectory(dirname(target)).catch((error: unknown) => {
      ctx.log.warn(
        `installed ${ctx.version}, but the directory of ${target} could not be synced: ${describeError(error)}`,
      );
    });
    ctx.log.info(`installed ${ctx.version} as ${target}`);
    restartInto(ctx, target);
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
