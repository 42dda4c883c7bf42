/**
 * The real S3 gateway for tests: Ceph's radosgw as a one-node throwaway cluster
 * (scripts/s3-dev.sh). Started lazily by the first test file that needs it (the script holds a
 * lock, so parallel files start it once) and reused when it already runs (a developer started
 * it); when a test run started it, the global teardown stops it.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(import.meta.dirname, '..', '..');
export const S3_SCRIPT = join(ROOT, 'scripts', 's3-dev.sh');
/** The cluster's directory (the script's default unless ETUF_S3_DIR is set). */
export const S3_DIR = process.env.ETUF_S3_DIR || '/tmp/etuf-radosgw';
/** Written when a test run started the gateway: the global teardown then stops it. */
export const STARTED_BY_TESTS = `${S3_DIR}.started-by-tests`;
/** The gateway's access log: one line per request with its method, path and status. */
export const S3_ACCESS_LOG = join(S3_DIR, 'log', 'client.rgw.a.log');

export interface S3Env {
  AWS_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
}

let started: Promise<S3Env> | undefined;

/** Starts (or reuses) the gateway; fails with the script's message when it cannot (bounded by its timeout). */
export function radosgw(): Promise<S3Env> {
  started ??= (async () => {
    const { stdout, stderr } = await promisify(execFile)(S3_SCRIPT, ['start'], { timeout: 180_000 }).catch(
      (e: { stderr?: string; message: string }) => {
        throw new Error(`radosgw could not be started for the S3 tests: ${e.stderr || e.message}`, { cause: e });
      },
    );
    if (!/reusing/.test(stderr)) await writeFile(STARTED_BY_TESTS, `${process.pid}\n`);
    const env: Record<string, string> = {};
    for (const m of stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
    return env as unknown as S3Env;
  })();
  return started;
}
