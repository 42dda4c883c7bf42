/**
 * The TUF client workflow (spec 5.1-5.7) with I/O: local metadata directory, network
 * fetches, target files. All trust decisions are made by TrustedMetadataSet; this class
 * only moves bytes and decides what to fetch next. Mirrors python-tuf's ngclient.Updater.
 */
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TufError, ValueError } from '../core/errors.js';
import { LengthAndHashVerifier } from '../core/hashes.js';
import type { Metadata, TargetFile, Targets } from '../core/metadata.js';
import type { Fetcher } from './fetcher.js';
import { DEFAULT_DOWNLOAD_RETRIES, downloadBytes, downloadFile, readRange } from './download.js';
import { HttpFetcher } from './http-fetcher.js';
import { errorCode, withLock, type ReleaseLock } from '../node-io/index.js';
import { cleanupAfterFailure } from '../node-io/cleanup.js';
import { MetadataStore } from './metadata-store.js';
import { planResult, StagedMetadata, type MetadataIO, type RefreshPlan } from './refresh-plan.js';
import { metadataUrl, targetFilePath, targetUrl, validateTargetPath } from './target-path.js';
import { TrustedMetadataSet } from './trusted-metadata-set.js';
import { WorkflowSteps } from './workflow-steps.js';
import { checkedRateOptions } from './transfer-rate.js';

export {
  DEFAULT_CONFIG,
  type DownloadTargetOptions,
  type TraceEvent,
  type UpdaterConfig,
  type UpdaterOptions,
} from './updater-config.js';
import {
  DEFAULT_CONFIG,
  type DownloadTargetOptions,
  type TraceEvent,
  type UpdaterConfig,
  type UpdaterOptions,
} from './updater-config.js';

export class Updater {
  readonly config: UpdaterConfig;
  private readonly fetcher: Fetcher;
  private readonly metadataBaseUrl: string;
  private storePromise?: Promise<MetadataStore>;
  private trusted?: TrustedMetadataSet;
  private readonly steps: WorkflowSteps;

  constructor(private readonly options: UpdaterOptions) {
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    checkedRateOptions(this.config); // a bad setting is a clear error now, not at the first download
    this.fetcher = options.fetcher ?? new HttpFetcher();
    this.metadataBaseUrl = options.metadataBaseUrl;
    this.steps = new WorkflowSteps(this.config, options, (event) => this.trace(event));
  }

  /** The metadata trusted after the last successful refresh. */
  get trustedMetadata(): TrustedMetadataSet | undefined {
    return this.trusted;
  }

  /**
   * 5.3-5.6: update root, timestamp, snapshot and top-level targets. On any failure the
   * local files stay the last trusted state and this updater trusts nothing new.
   *
   * Most refreshes find nothing new and write nothing, so a refresh first plans without the
   * metadata directory's lock (refresh-plan.ts): it reads the files, verifies as always and
   * stages its writes in memory. A plan with nothing to write is the whole refresh. Otherwise
   * the refresh takes the lock and re-reads the files the plan read: unchanged, the plan's
   * writes are committed (each file atomically), with no second download or verification;
   * changed by another instance meanwhile, whose newer files may make the plan's downloads
   * look like a rollback, it plans once more under the lock with fresh downloads. A refresh
   * that writes always holds the lock.
   */
  async refresh(): Promise<void> {
    this.trusted = undefined;
    const store = await this.openStore();
    const plan = await this.planRefresh(store);
    if (!plan.staged.hasWrites) {
      this.trusted = planResult(plan);
      return;
    }
    await store.withLock(
      async () => {
        const current = (await plan.staged.unchangedOnDisk()) ? plan : await this.planRefresh(store);
        await current.staged.commit();
        this.trusted = planResult(current);
      },
      { timeoutMs: this.config.lockTimeoutMs },
    );
  }

  /** Runs the refresh steps on a staged view of the directory: downloads and verifies, writes nothing. */
  private async planRefresh(store: MetadataStore): Promise<RefreshPlan> {
    const staged = new StagedMetadata(store, (role, maxLength, version) => this.download(role, maxLength, version));
    try {
      return { staged, outcome: { trusted: await this.refreshWith(staged) } };
    } catch (error) {
      return { staged, outcome: { error } };
    }
  }

  private async refreshWith(io: MetadataIO): Promise<TrustedMetadataSet> {
    const set = await this.steps.loadTrustedRoot(io);
    await this.steps.updateRoot(set, io);
    await this.steps.loadTimestamp(set, io);
    await this.steps.loadSnapshot(set, io);
    await this.steps.loadTargets(set, io, 'targets', 'root');
    return set;
  }

  /**
   * 5.6.7: search the delegation graph, pre-order depth-first, for a target. Returns
   * undefined when no trusted role lists it. Roles already trusted in this refresh are read
   * from memory; the metadata directory's lock is taken only once the search has to load a
   * role (from disk or the network), and held until the search ends.
   */
  async getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    validateTargetPath(targetPath);
    if (!this.trusted) await this.refresh();
    const set = this.trusted!;
    let locked: { store: MetadataStore; release: ReleaseLock } | undefined;
    const load = async (role: string, delegator: string): Promise<Metadata<Targets>> => {
      const cached = this.steps.cachedTargets(set, role, delegator);
      if (cached) return cached;
      locked ??= await this.lockStore();
      return this.steps.loadTargets(set, this.directIO(locked.store), role, delegator);
    };
    let found: TargetFile | undefined;
    try {
      found = await this.steps.searchTarget(targetPath, load);
    } catch (e) {
      // The search's error is the one thrown; a failed release is reported beside it (a warning).
      if (locked) await cleanupAfterFailure(e, locked.release);
      throw e;
    }
    await locked?.release();
    return found;
  }

  /**
   * The local copy of a target if it exists and matches the trusted length and hashes. The file is
   * opened once and its handle is both checked (fstat) and read, so the file checked is the file
   * read even if the name is swapped meanwhile; O_NONBLOCK, so that a FIFO at the name (planted,
   * or swapped in) is opened without waiting for a writer and then refused as not a regular file.
   */
  async findCachedTarget(info: TargetFile, filePath?: string): Promise<string | undefined> {
    const path = filePath ?? this.defaultTargetPath(info);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const s = await handle.stat();
      if (!s.isFile() || s.size !== info.length) return undefined;
      const verifier = new LengthAndHashVerifier(info.length, info.hashes, info.path);
      for await (const chunk of handle.createReadStream({ start: 0, autoClose: false }))
        verifier.update(chunk as Buffer);
      verifier.verify();
      return path;
    } catch (e) {
      if (e instanceof TufError) return undefined;
      throw e;
    } finally {
      await handle.close().catch(() => undefined); // a read-only handle: its close loses nothing
    }
  }

  /**
   * 5.7: download a target and verify its length and hashes while streaming. Only a
   * verified file ever appears at the returned path.
   *
   * Concurrent callers for one destination (two app instances, parallel `client download`
   * runs, a library's own workers) would share `<path>.part`: one could truncate it while
   * another commits it. So each download holds the inter-process lock on `path` (the file
   * `<path>.lock`), and a caller that gets the lock after another first looks for that one's
   * verified result. The `.part` name stays stable, so an interrupted download still resumes.
   */
  async downloadTarget(
    info: TargetFile,
    filePath?: string,
    targetBaseUrl?: string,
    options: DownloadTargetOptions = {},
  ): Promise<string> {
    const url = this.targetUrlOf(info, targetBaseUrl);
    const path = filePath ?? this.defaultTargetPath(info);
    await mkdir(dirname(path), { recursive: true });
    const lockOptions = { timeoutMs: this.downloadLockTimeoutMs(info.length), signal: options.signal };
    return withLock(
      path,
      async () => {
        const done = await this.findCachedTarget(info, path);
        if (done) return done;
        this.trace({ type: 'fetch', url });
        await downloadFile(this.fetcher, url, path, {
          length: info.length,
          hashes: info.hashes,
          onProgress: options.onProgress,
          signal: options.signal,
          ...this.readOptions(),
          resume: true,
        });
        return path;
      },
      lockOptions,
    );
  }

  /**
   * Reads bytes `[start, start + length)` of a target from the repository with HTTP Range
   * requests (download.ts `readRange`: bounded by the target's trusted length, read timeout,
   * minimum rate), handing them to `sink` in order. The bytes are NOT verified here: the caller
   * checks them against signed data of its own (the app updater: a signed chunk map) and the
   * whole file against `info` before trusting it.
   */
  async readTargetRange(
    info: TargetFile,
    range: { start: number; length: number },
    sink: (bytes: Uint8Array) => void,
    options: { signal?: AbortSignal; targetBaseUrl?: string } = {},
  ): Promise<void> {
    const url = this.targetUrlOf(info, options.targetBaseUrl);
    this.trace({ type: 'fetch', url: `${url} bytes ${range.start}+${range.length}` });
    await readRange(
      this.fetcher,
      url,
      { ...range, fileLength: info.length, signal: options.signal, ...this.readOptions() },
      sink,
    );
  }

  /** 5.7.3: the target's URL, prefixed with its hash when the root enables consistent snapshots. */
  private targetUrlOf(info: TargetFile, targetBaseUrl: string | undefined): string {
    const base = targetBaseUrl ?? this.options.targetBaseUrl;
    if (!base) throw new ValueError('targetBaseUrl is required to download targets');
    const root = this.trusted?.root.signed;
    const hashPrefix =
      root?.consistentSnapshot && this.config.prefixTargetsWithHash
        ? (info.hashes.sha256 ?? Object.values(info.hashes)[0])
        : undefined;
    return targetUrl(base, info.path, hashPrefix);
  }

  /**
   * How long to wait for another download of the same file: as long as it may legitimately
   * take (each attempt is bounded by the read timeout and the minimum rate), plus the usual
   * lock wait. A holder that died is noticed much sooner (file-lock.ts: stale locks).
   */
  private downloadLockTimeoutMs(length: number): number {
    const { readTimeoutMs, rateWindowMs, minBytesPerSecond, lockTimeoutMs } = this.config;
    const attemptMs = readTimeoutMs + rateWindowMs + Math.ceil((length * 1000) / minBytesPerSecond);
    return lockTimeoutMs + (DEFAULT_DOWNLOAD_RETRIES + 1) * attemptMs;
  }

  /** The slow-retrieval settings of every download (metadata and targets). */
  private readOptions(): { readTimeoutMs: number; minBytesPerSecond: number; rateWindowMs: number } {
    const { readTimeoutMs, minBytesPerSecond, rateWindowMs } = this.config;
    return { readTimeoutMs, minBytesPerSecond, rateWindowMs };
  }

  private defaultTargetPath(info: TargetFile): string {
    if (!this.options.targetDir) throw new ValueError('targetDir is required when no file path is given');
    return targetFilePath(this.options.targetDir, info.path);
  }

  private trace(event: TraceEvent): void {
    this.options.trace?.(event);
  }

  /** Takes the metadata directory's lock (two app instances, one cache); the caller releases it. */
  private async lockStore(): Promise<{ store: MetadataStore; release: ReleaseLock }> {
    const store = await this.openStore();
    return { store, release: await store.lock({ timeoutMs: this.config.lockTimeoutMs }) };
  }

  private openStore(): Promise<MetadataStore> {
    this.storePromise ??= MetadataStore.open(this.options.metadataDir);
    return this.storePromise;
  }

  /** The metadata directory itself, for a lookup holding its lock. */
  private directIO(store: MetadataStore): MetadataIO {
    return {
      read: (role, maxBytes) => store.read(role, maxBytes),
      write: (role, bytes) => store.write(role, bytes),
      remove: (role) => store.remove(role),
      download: (role, maxLength, version) => this.download(role, maxLength, version),
    };
  }

  /** Downloads metadata, at most `maxLength` bytes (5.3-5.6: the bounds are the caller's). */
  private download(role: string, maxLength: number, version?: number): Promise<Uint8Array> {
    const url = metadataUrl(this.metadataBaseUrl, role, version);
    this.trace({ type: 'fetch', url });
    return downloadBytes(this.fetcher, url, maxLength, this.readOptions());
  }
}
