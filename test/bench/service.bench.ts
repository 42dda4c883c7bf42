/**
 * The repository service (server/bench/publish.ts): RSTUF's 50 x 50 artifacts in distributed
 * mode, idle add-to-published latency, and the time per add at 1,000 and 100,000 targets.
 * Needs the local PostgreSQL and Redis (each run uses its own database and key prefix).
 */
import { runServiceBench } from '../../server/bench/publish.js';
import type { BenchContext } from './run.js';

export async function run({ record, quick }: BenchContext): Promise<void> {
  await runServiceBench(
    quick
      ? { requests: 10, artifacts: 10, idle: 5, sizes: [1_000], record }
      : { requests: 50, artifacts: 50, idle: 20, sizes: [1_000, 100_000], record },
  );
}
