/**
 * The repository service on S3 storage (Ceph's radosgw on this machine): the 2,500-artifact burst
 * (goal < 30 s) and the time per add with 1,000 and 100,000 targets (and objects) in the bucket
 * (goal: flat). Needs the Ceph packages (.ci/run installs them), PostgreSQL and Redis.
 */
import { runServiceBench } from '../../server/bench/publish.js';
import { s3BenchStorage } from '../../server/bench/s3.js';
import type { BenchContext } from './run.js';

/** BENCH_S3_SIZES=1000,100000 (or empty for none) picks the scale section's sizes; BENCH_S3_OBJECTS caps the objects. */
function sizesFrom(env: string | undefined, fallback: number[]): number[] {
  if (env === undefined) return fallback;
  return env
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
}

export async function run({ record, quick }: BenchContext): Promise<void> {
  // BENCH_S3_OBJECTS caps the objects put per scale repository (the metadata lists every target).
  const storage = await s3BenchStorage(Number(process.env.BENCH_S3_OBJECTS ?? Number.POSITIVE_INFINITY));
  const sizes = sizesFrom(process.env.BENCH_S3_SIZES, quick ? [1_000] : [1_000, 100_000]);
  // BENCH_S3_REQUESTS x BENCH_S3_ARTIFACTS scales the burst (default 50 x 50, quick 10 x 10).
  const requests = Number(process.env.BENCH_S3_REQUESTS ?? (quick ? 10 : 50));
  const artifacts = Number(process.env.BENCH_S3_ARTIFACTS ?? (quick ? 10 : 50));
  await runServiceBench({ requests, artifacts, idle: quick ? 5 : 20, sizes, record, storage });
}
