/**
 * The chaos scenario of server/test/chaos.test.ts at the scale: 20 publishers x 10
 * releases (ETUF_CHAOS_PUBLISHERS, ETUF_CHAOS_RELEASES, ETUF_CHAOS_KILL_MS change it; BENCH_QUICK=1:
 * 4 x 2), 2 APIs, 3 workers and a scheduler on PostgreSQL, Redis and S3 (radosgw), an API or a
 * worker killed with SIGKILL and restarted every 1.5 s, a client refreshing from the bucket.
 * Records the counts; the run fails when a release is lost or the client saw a bad tree.
 */
import { chaosOptions, runChaos } from '../../server/test/chaos-scenario.js';
import { cleanupTemp } from '../publisher/helpers.js';
import type { BenchContext } from './run.js';

export async function run({ record, quick }: BenchContext): Promise<void> {
  const o = chaosOptions(
    quick ? { publishers: 4, releases: 2, killEveryMs: 1500 } : { publishers: 20, releases: 10, killEveryMs: 1500 },
  );
  const r = await runChaos(o);
  try {
    const acknowledged = r.added.filter((a) => a.state === 'succeeded');
    record(`releases acknowledged (${o.publishers} x ${o.releases})`, acknowledged.length, 'releases');
    record('releases resubmitted (an API killed under them)', r.added.filter((a) => a.attempts > 1).length, 'releases');
    record('kills (kill -9, then restart)', r.kills.length, 'kills', r.kills.join(' '));
    record('client refreshes from the bucket', r.watch.refreshes, 'refreshes', `${r.watch.unavailable} unavailable`);
    record('client failures (verification, missing file, rollback)', r.watch.failures.length, 'failures');
    record(
      'max timestamp / snapshot / targets version',
      `${r.watch.max.timestamp}/${r.watch.max.snapshot}/${r.watch.max.targets}`,
      '',
    );
    record('tasks still pending at the end', r.pending, 'tasks');
    record('scenario time', r.seconds, 's');
    const lost = r.added.filter((a) => a.state !== 'succeeded');
    if (lost.length || r.watch.failures.length || r.pending)
      throw new Error(`chaos failed: ${JSON.stringify({ lost, failures: r.watch.failures, pending: r.pending })}`);
  } finally {
    await r.close();
    await cleanupTemp();
  }
}
