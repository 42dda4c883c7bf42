/**
 * Throttled download progress: at most one event per PROGRESS_INTERVAL_MS, never going
 * backwards, and a final one at `total`. Shared by full and differential downloads.
 */
import type { DownloadProgress } from './download.js';

/** Progress events are throttled to at most one per this interval (plus a final one). */
export const PROGRESS_INTERVAL_MS = 50;

export class ProgressThrottle {
  /** Bytes already accounted for: reported in an event, or present on disk before we started. */
  private reported: number;
  private lastEmitAt = -Infinity;
  private lastEmitted: number | undefined;

  constructor(
    private readonly total: number,
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
    alreadyOnDisk: number,
  ) {
    this.reported = alreadyOnDisk;
  }

  update(transferred: number): void {
    if (!this.onProgress || transferred <= this.reported) return; // after a restart: wait to catch up
    const now = performance.now();
    if (now - this.lastEmitAt >= PROGRESS_INTERVAL_MS) this.emit(transferred, now);
  }

  finish(): void {
    if (this.onProgress && this.lastEmitted !== this.total) this.emit(this.total, performance.now());
  }

  private emit(transferred: number, now: number): void {
    const delta = Math.max(0, transferred - this.reported);
    this.reported = Math.max(this.reported, transferred);
    this.lastEmitAt = now;
    this.lastEmitted = transferred;
    this.onProgress?.({ transferred, total: this.total, delta });
  }
}
