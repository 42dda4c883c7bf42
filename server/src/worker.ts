/**
 * The publish worker: for one repository, publish pending changes until none is left. It loops
 * because a queue trigger that arrives while the repository's job runs can be dropped (BullMQ's
 * deduplication does so), and changes recorded meanwhile must not wait for the next trigger.
 * Cross-process exclusion per repository is the publisher's repository lock.
 */
import { join } from 'node:path';
import { ValueError } from 'electron-tuf/core';
import type { UploadStore } from './blobs.js';
import { pendingChanges, publishedAdd, settleChanges } from './changes.js';
import type { Db } from './db.js';
import { PublishConflictError } from './errors.js';
import { keyOptionsFor } from './keyrefs.js';
import type { SettledChange } from './ops/metrics.js';
import { publishChanges, type PublishContext } from './publish.js';
import type { Repositories } from './repositories.js';

/** Changes taken per round: bounded memory, and each round re-reads what is pending. */
const BATCH = 512;
/** Lost compare-and-swaps in a row before the drain gives up (and its job is retried later). */
const MAX_CONFLICTS = 5;

export class PublishWorker {
  constructor(
    private readonly db: Db,
    private readonly repositories: Repositories,
    private readonly blobs: UploadStore,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Told of every settled change (metrics). */
    private readonly onSettled: (settled: SettledChange[]) => void = () => undefined,
  ) {}

  /** Publishes until nothing is pending; returns how many changes were settled. */
  async drain(repository: string): Promise<number> {
    return (await this.drainUntil(repository, () => false)).settled;
  }

  /**
   * Publishes round after round until nothing is pending or `stop()` says so between rounds
   * (graceful shutdown: the round under way finishes, the rest is handed back to the queue).
   * A publish that lost the object store's compare-and-swap to another publisher (a holder of a
   * lock it had lost) changed nothing any timestamp names: it rebuilds from the database and the
   * store as they are now, a few times, before giving up.
   */
  async drainUntil(repository: string, stop: () => boolean): Promise<{ settled: number; stopped: boolean }> {
    let settled = 0;
    let conflicts = 0;
    for (;;) {
      if (stop()) return { settled, stopped: true };
      const changes = await pendingChanges(this.db, repository, BATCH);
      if (changes.length === 0) return { settled, stopped: false };
      const ctx = await this.contextFor(repository);
      try {
        await publishChanges(ctx, changes, async (round) => this.onSettled(await settleChanges(this.db, round)));
      } catch (e) {
        if (!(e instanceof PublishConflictError) || ++conflicts > MAX_CONFLICTS) throw e;
        continue;
      }
      conflicts = 0;
      settled += changes.length;
    }
  }

  private async contextFor(repository: string): Promise<PublishContext> {
    const record = await this.repositories.get(repository);
    return {
      repository,
      target: await this.repositories.target(repository),
      blobs: this.blobs,
      keys: await keyOptionsFor(repository, record.keys, this.env),
      workDir: join(this.repositories.dataDir, 'work'),
      releaseOf: async (change) => {
        const release = await publishedAdd(this.db, repository, change.payload);
        if (!release)
          throw new ValueError(
            `no published release ${change.payload.version} for ${change.payload.platform}-${change.payload.arch} in channel ${change.payload.channel}`,
          );
        return release;
      },
    };
  }
}

/**
 * In-process trigger (embedded mode): at most one drain per repository at a time; a trigger
 * during a drain makes it run once more. Failed drains are retried after `retryMs`.
 */
export class LocalTrigger {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly worker: PublishWorker,
    private readonly onError: (repository: string, error: unknown) => void,
    private readonly retryMs = 5_000,
    /** Held around each drain (the service's per-repository lock). */
    private readonly lock: <T>(repository: string, fn: () => Promise<T>) => Promise<T> = (_r, fn) => fn(),
  ) {}

  trigger(repository: string): void {
    if (this.closed) return;
    if (this.running.has(repository)) {
      this.again.add(repository);
      return;
    }
    const run = this.loop(repository).finally(() => this.running.delete(repository));
    this.running.set(repository, run);
  }

  private async loop(repository: string): Promise<void> {
    do {
      this.again.delete(repository);
      try {
        await this.lock(repository, () => this.worker.drain(repository));
      } catch (e) {
        this.onError(repository, e);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.trigger(repository);
        }, this.retryMs);
        this.timers.add(timer);
        return;
      }
    } while (this.again.has(repository) && !this.closed);
  }

  /** Resolves when no drain is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await this.idle();
  }
}
