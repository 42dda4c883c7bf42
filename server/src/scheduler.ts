/**
 * Keeps every repository alive: timestamp and snapshot expire within days, and when the
 * timestamp expires every app stops updating. Each tick runs the publisher's `refresh` (which
 * re-signs a role only when less than half its lifetime remains, so a tick that finds nothing due
 * changes nothing). Embedded mode ticks with a timer in the one process.
 */
import { refreshRepository, type RefreshResult } from 'electron-tuf/publisher';
import { keyOptionsFor } from './keyrefs.js';
import type { Logger } from './ops/log.js';
import type { Repositories } from './repositories.js';

/** Runs `fn` as the only publisher of `repository` (the service's per-repository lock). */
export type RepositoryLock = <T>(repository: string, fn: () => Promise<T>) => Promise<T>;

/** Logs each repository's refresh: failures as errors, re-signed roles as info, nothing when nothing was due. */
export function logRefresh(log: Logger): (repository: string, result: RefreshResult | Error) => void {
  return (repository, r) => {
    if (r instanceof Error) log.error({ err: r, repository }, 'refresh failed');
    else if (r.changed) log.info({ repository }, 'refreshed');
  };
}

export async function refreshAll(
  repositories: Repositories,
  env: NodeJS.ProcessEnv,
  onResult: (repository: string, result: RefreshResult | Error) => void,
  lock: RepositoryLock = (_repository, fn) => fn(),
): Promise<void> {
  for (const name of await repositories.list()) {
    try {
      const record = await repositories.get(name);
      const result = await lock(name, async () =>
        refreshRepository({ ...(await repositories.target(name)), ...(await keyOptionsFor(name, record.keys, env)) }),
      );
      onResult(name, result);
    } catch (e) {
      onResult(name, e instanceof Error ? e : new Error(String(e)));
    }
  }
}

export class IntervalScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return; // a slow tick is not run twice at once
      this.running = this.tick().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
