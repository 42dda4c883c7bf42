/**
 * The graceful shutdown every process kind shares: turn unready first (load balancers and
 * probes stop sending work), let `drain` finish what is under way, then release the
 * connections (`release`, in order) whether or not draining failed.
 */
import type { Health } from './health.js';
import type { Logger } from './log.js';

export async function shutDown(
  health: Health,
  log: Logger,
  drain: () => Promise<void>,
  release: ReadonlyArray<() => Promise<void> | undefined>,
): Promise<void> {
  health.markStopping();
  log.info('shutting down: not ready, finishing the work under way');
  try {
    await drain();
  } finally {
    for (const step of release) await step();
  }
  log.info('stopped');
}
