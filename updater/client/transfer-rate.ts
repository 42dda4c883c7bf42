/**
 * The minimum-rate half of the slow-retrieval defence (spec 1.5.2 "slow retrieval attacks").
 * A read timeout alone restarts with every byte, so a server sending one byte just before each
 * timeout would keep a client waiting for ever. This requires, once a body has been read for
 * one window, that every window-long stretch of it brought at least `minBytesPerSecond` on
 * average. The worst case an attacker can force is then about `window + length / rate` per
 * request, for any fetcher: it is measured on the chunks the fetcher yields (download.ts).
 *
 * Sampled on a timer (`windowMs / TICKS_PER_WINDOW`), not per chunk: the per-chunk cost is one
 * addition, and a body that yields nothing at all is still judged on time.
 */
import { ValueError } from '../core/errors.js';

/**
 * 1 KiB/s (8 kbit/s) averaged over 60 s. Assumed slow but honest links: a 150 MB installer over
 * 1 Mbit/s (about 125 kB/s, some 20 minutes: 120 times the floor) and metadata over a poor
 * mobile link (GPRS/EDGE at the cell edge, 2.5-10 kB/s: still 2.5 times the floor). The 60 s
 * window absorbs the stalls of such a link (a tunnel, a cell handover) up to the 30 s read
 * timeout and beyond: a link doing 2.5 kB/s meets the floor even if silent for 35 s of the 60.
 */
export const DEFAULT_MIN_BYTES_PER_SECOND = 1024;
export const DEFAULT_RATE_WINDOW_MS = 60_000;
const TICKS_PER_WINDOW = 8;

export interface TransferRateOptions {
  /** Lowest average rate accepted over any window (bytes per second); default 1024. */
  minBytesPerSecond?: number;
  /** Length of that window (ms), also the grace period at the start of a body; default 60,000. */
  rateWindowMs?: number;
}

/** What a window that fell short measured. */
export interface RateShortfall {
  bytes: number;
  ms: number;
  bytesPerSecond: number;
  minBytesPerSecond: number;
}

interface Sample {
  at: number;
  bytes: number;
}

/** Checks the options (ValueError for bad ones) and fills in the defaults. */
export function checkedRateOptions(options: TransferRateOptions): Required<TransferRateOptions> {
  const minBytesPerSecond = options.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
  const rateWindowMs = options.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
  if (typeof minBytesPerSecond !== 'number' || !Number.isFinite(minBytesPerSecond) || minBytesPerSecond <= 0) {
    throw new ValueError(`minBytesPerSecond must be a positive number, got ${String(minBytesPerSecond)}`);
  }
  if (!Number.isSafeInteger(rateWindowMs) || rateWindowMs < TICKS_PER_WINDOW) {
    throw new ValueError(
      `rateWindowMs must be an integer of at least ${TICKS_PER_WINDOW}, got ${String(rateWindowMs)}`,
    );
  }
  return { minBytesPerSecond, rateWindowMs };
}

/** The sliding-window meter of one body: `add` per chunk, `check` per tick. */
export class TransferRateFloor {
  /** Oldest first; the first is the newest sample at least one window old, once there is one. */
  private readonly samples: Sample[];
  private bytes = 0;

  constructor(
    private readonly options: Required<TransferRateOptions>,
    startedAt: number,
  ) {
    this.samples = [{ at: startedAt, bytes: 0 }];
  }

  /** How often `check` should run (ms). */
  get tickMs(): number {
    return Math.floor(this.options.rateWindowMs / TICKS_PER_WINDOW);
  }

  add(count: number): void {
    this.bytes += count;
  }

  /**
   * Records a sample at `now`; returns the measurement when the last window (at least
   * rateWindowMs, at most one tick more) brought less than the floor. Undefined during the
   * first window of the body.
   */
  check(now: number): RateShortfall | undefined {
    const { samples } = this;
    samples.push({ at: now, bytes: this.bytes });
    while (samples.length > 1 && now - samples[1].at >= this.options.rateWindowMs) samples.shift();
    const base = samples[0];
    const ms = now - base.at;
    if (ms < this.options.rateWindowMs) return undefined;
    const bytes = this.bytes - base.bytes;
    const { minBytesPerSecond } = this.options;
    if (bytes * 1000 >= minBytesPerSecond * ms) return undefined;
    return { bytes, ms, bytesPerSecond: (bytes * 1000) / ms, minBytesPerSecond };
  }
}

/** For SlowRetrievalError: e.g. `12 bytes in 60.1 s (0.2 bytes/s), below the minimum of 1024 bytes/s`. */
export function describeShortfall(s: RateShortfall): string {
  const rate = s.bytesPerSecond < 10 ? s.bytesPerSecond.toFixed(1) : String(Math.round(s.bytesPerSecond));
  return `${s.bytes} bytes in ${(s.ms / 1000).toFixed(1)} s (${rate} bytes/s), below the minimum of ${s.minBytesPerSecond} bytes/s`;
}
