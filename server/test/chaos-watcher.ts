/**
 * The chaos test's watching client: our Updater refreshing from the bucket in a loop, one
 * metadata directory kept across refreshes (as an installed app keeps it). It records every
 * refresh that failed for another reason than the network or the store being unavailable (a
 * failed verification, a file the tree names missing) and every version that went backwards.
 */
import { join } from 'node:path';
import { Updater } from '../../updater/client/updater.js';
import { DownloadError, DownloadHTTPError, DownloadLengthMismatchError } from '../../updater/core/errors.js';
import { tempDir } from '../../test/publisher/helpers.js';

export interface WatchReport {
  refreshes: number;
  /** Refreshes that failed because the store could not be reached or answered 5xx. */
  unavailable: number;
  /** Every other failed refresh and every rollback seen: must stay empty. */
  failures: string[];
  /** The highest versions trusted. */
  max: { timestamp: number; snapshot: number; targets: number };
}

/** Unreachable or 5xx: the store, not the tree. A 404 for a file the tree names is an inconsistency. */
function unavailable(e: unknown): boolean {
  if (e instanceof DownloadHTTPError) return e.status >= 500;
  return e instanceof DownloadError && !(e instanceof DownloadLengthMismatchError);
}

export class Watcher {
  readonly report: WatchReport = {
    refreshes: 0,
    unavailable: 0,
    failures: [],
    max: { timestamp: 0, snapshot: 0, targets: 0 },
  };
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly tree: { metadataUrl: string; targetsUrl: string },
    private readonly trustedRoot: Uint8Array,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<WatchReport> {
    this.stopped = true;
    await this.running;
    return this.report;
  }

  private async loop(): Promise<void> {
    const dir = await tempDir('etuf-chaos-watch-');
    while (!this.stopped) {
      await this.refreshOnce(dir);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async refreshOnce(dir: string): Promise<void> {
    const updater = new Updater({
      metadataDir: join(dir, 'metadata'),
      metadataBaseUrl: this.tree.metadataUrl,
      targetDir: join(dir, 'targets'),
      targetBaseUrl: this.tree.targetsUrl,
      bootstrapRoot: this.trustedRoot,
      config: { readTimeoutMs: 10_000 },
    });
    try {
      await updater.refresh();
    } catch (e) {
      if (unavailable(e)) this.report.unavailable++;
      else
        this.report.failures.push(
          `refresh ${this.report.refreshes + 1}: ${(e as Error).name}: ${(e as Error).message}`,
        );
      return;
    }
    this.report.refreshes++;
    const set = updater.trustedMetadata!;
    const seen = {
      timestamp: set.timestamp!.signed.version,
      snapshot: set.snapshot!.signed.version,
      targets: set.targets!.signed.version,
    };
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      if (seen[role] < this.report.max[role])
        this.report.failures.push(`${role} went back from ${this.report.max[role]} to ${seen[role]}`);
      this.report.max[role] = Math.max(this.report.max[role], seen[role]);
    }
  }
}
