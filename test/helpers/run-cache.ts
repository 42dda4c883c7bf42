/**
 * Expensive, read-only fixtures made once per test run and shared by every test file (the
 * forks included): an initialised PGlite data directory, electron-builder builds of the demo
 * app. Each entry is a folder under the run's cache directory (made by the global setup,
 * removed by its teardown), named by a key that must spell out every input of what it holds.
 *
 * The first file that asks makes the entry under an inter-process lock (the updater's own
 * file lock), in a scratch folder renamed into place when complete, so a file never sees a
 * half-made entry and two forks never make the same one. Callers must not write into an
 * entry: copy what a test changes.
 */
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { withLock } from '../../updater/node-io/file-lock.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's cache directory (test/helpers/global-setup.ts). */
    runCacheDir: string;
  }
}

/** Keys are folder names: short, no path separators, no dot files. */
const KEY = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** A fixture can take minutes on a loaded 2-core machine; the waiters wait that long. */
const MAKE_TIMEOUT_MS = 600_000;
/**
 * A maker may block its event loop for long (PGlite's initdb runs in WebAssembly), which stops
 * the lock's heartbeat: only a much older heartbeat, or a dead holder, breaks the lock.
 */
const STALE_MS = 300_000;

/**
 * The folder holding the fixture `key`, made by `make(dir)` into an empty `dir` when this run
 * has none yet. A failed `make` leaves no entry (the next caller tries again) and rethrows.
 */
export async function runCached(key: string, make: (dir: string) => Promise<void>): Promise<string> {
  if (!KEY.test(key)) throw new ValueError(`run cache key ${JSON.stringify(key)} is not a plain folder name`);
  // Loaded here: modules that import this one also run in benches, outside vitest, where
  // importing vitest throws.
  const { inject } = await import('vitest');
  const root = inject('runCacheDir');
  if (typeof root !== 'string' || root === '') throw new ValueError('no run cache directory (global setup not run)');
  const entry = join(root, key);
  if (await exists(entry)) return entry;
  await mkdir(root, { recursive: true });
  return withLock(
    entry,
    async () => {
      if (await exists(entry)) return entry; // made while this file waited for the lock
      const scratch = await mkdtemp(join(root, `.${key}-`));
      try {
        await make(scratch);
        await rename(scratch, entry);
      } catch (error) {
        await rm(scratch, { recursive: true, force: true });
        throw error;
      }
      return entry;
    },
    { timeoutMs: MAKE_TIMEOUT_MS, staleMs: STALE_MS },
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
