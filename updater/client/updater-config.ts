/**
 * What an Updater is configured with: the spec's bounds (5.3.3 root rotations, 5.6.7
 * delegations, metadata lengths), network defences and where things are. Defaults follow
 * python-tuf's ngclient where it has one.
 */
import type { Fetcher } from './fetcher.js';
import type { DownloadProgress } from './download.js';
import { DEFAULT_MIN_BYTES_PER_SECOND, DEFAULT_RATE_WINDOW_MS } from './transfer-rate.js';

export interface UpdaterConfig {
  /** 5.3.3: most root versions accepted in one refresh. */
  maxRootRotations: number;
  /** 5.6.7: most delegated roles visited in one target search. */
  maxDelegations: number;
  rootMaxLength: number;
  timestampMaxLength: number;
  snapshotMaxLength: number;
  targetsMaxLength: number;
  /** Download targets as `<dir>/<hash>.<name>` when the root enables consistent snapshots. */
  prefixTargetsWithHash: boolean;
  /** Time at which expiry is judged (default: now, taken at each refresh). */
  referenceTime?: Date;
  /** Give up on a silent connection after this long (slow retrieval attack). */
  readTimeoutMs: number;
  /**
   * Slow retrieval attack, a body that trickles: once a response body has been read for
   * `rateWindowMs`, every window of it must average at least `minBytesPerSecond` (defaults
   * 1024 bytes/s over 60,000 ms; the reasoning is in transfer-rate.ts).
   */
  minBytesPerSecond: number;
  rateWindowMs: number;
  /** Wait at most this long for another process holding the metadata lock. */
  lockTimeoutMs: number;
}

export const DEFAULT_CONFIG: Readonly<UpdaterConfig> = Object.freeze({
  maxRootRotations: 256,
  maxDelegations: 32,
  rootMaxLength: 512_000,
  timestampMaxLength: 16_384,
  snapshotMaxLength: 2_000_000,
  targetsMaxLength: 5_000_000,
  prefixTargetsWithHash: true,
  readTimeoutMs: 30_000,
  minBytesPerSecond: DEFAULT_MIN_BYTES_PER_SECOND,
  rateWindowMs: DEFAULT_RATE_WINDOW_MS,
  lockTimeoutMs: 30_000,
});

/** What the client did and why, for `--verbose` and for tests. */
export type TraceEvent =
  { type: 'fetch'; url: string } | { type: 'visit'; role: string } | { type: 'info'; message: string };

export interface UpdaterOptions {
  /** Local metadata directory; must hold root.json, or pass `bootstrapRoot`. */
  metadataDir: string;
  metadataBaseUrl: string;
  /** Where downloaded targets go by default. */
  targetDir?: string;
  targetBaseUrl?: string;
  /**
   * Trusted root to start from when metadataDir has none (e.g. shipped inside the app), or a
   * function giving it, called only then (an app need not read its bundled root at every start).
   */
  bootstrapRoot?: Uint8Array | (() => Promise<Uint8Array>);
  fetcher?: Fetcher;
  config?: Partial<UpdaterConfig>;
  trace?: (event: TraceEvent) => void;
}

export interface DownloadTargetOptions {
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}
