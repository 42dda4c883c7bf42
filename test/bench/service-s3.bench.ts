/**
 * The repository service on S3 storage (Ceph's radosgw on this machine): the 2,500-artifact burst
 * (goal < 30 s) and the time per add with 1,000 and 100,000 targets (and objects) in the bucket
 * (goal: flat). Needs the Ceph packages (.ci/run installs them), PostgreSQL and Redis.
 */
import { runServiceBench } from '../../server/bench/publish.js';
import { s3BenchStorage } from '../../server/bench/s3.js';
import type { BenchContext } from './run.js';

export async function run({ record, quick }: BenchContext): Promise<void> {
  const storage = await s3BenchStorage();
  await runServiceBench(
    quick
      ? { requests: 10, artifacts: 10, idle: 5, sizes: [1_000], record, storage }
      : { requests: 50, artifacts: 50, idle: 20, sizes: [1_000, 100_000], record, storage },
  );
}
