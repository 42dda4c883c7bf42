/**
 * Writes the stand-in "Electron distribution" that offline builds package instead of the real
 * Electron (which cannot be downloaded on these machines): a folder with an executable
 * `electron` shell script and the standin-electron.cjs it runs. See build/README.md for what
 * the packaged stand-in does.
 */
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from './paths.js';

const SOURCE_DIR = join(PROJECT_ROOT, 'build', 'standin');
const FILES = ['electron', 'standin-electron.cjs'];

/** Creates (or refreshes) the stand-in distribution in `dir`; returns `dir`. */
export async function createStandinElectron(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const name of FILES) await copyFile(join(SOURCE_DIR, name), join(dir, name));
  await chmod(join(dir, 'electron'), 0o755);
  return dir;
}
