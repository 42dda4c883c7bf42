/**
 * Runs once before any test file: brings dist/ up to date (incremental tsc, a few seconds when
 * nothing changed), because several tests spawn the compiled CLI or import dist/. Building here,
 * once, instead of in a test file means no file rewrites dist/ while another one reads it.
 * Also makes the run's cache directory (test/helpers/run-cache.ts), removed after the run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { S3_SCRIPT, STARTED_BY_TESTS } from './radosgw.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Stops the S3 gateway when a test file of this run started it (helpers/radosgw.ts); one a developer started stays. */
async function stopGateway(): Promise<void> {
  const ours = await stat(STARTED_BY_TESTS).then(
    () => true,
    () => false,
  );
  if (!ours) return;
  await promisify(execFile)(S3_SCRIPT, ['stop'], { timeout: 60_000 });
  await rm(STARTED_BY_TESTS, { force: true });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // The package, then the service (server/ imports the package's dist/), as `npm run build` does.
  for (const config of ['tsconfig.build.json', 'server/tsconfig.json']) {
    await promisify(execFile)(process.execPath, [tsc, '-p', config], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(
      (error: { stdout?: string; message: string }) => {
        throw new Error(`npm run build failed before the tests:\n${(error.stdout || error.message).slice(0, 4000)}`, {
          cause: error,
        });
      },
    );
  }
  const runCacheDir = await mkdtemp(join(tmpdir(), 'etuf-test-run-'));
  project.provide('runCacheDir', runCacheDir);
  return async () => {
    await rm(runCacheDir, { recursive: true, force: true });
    await stopGateway();
  };
}
