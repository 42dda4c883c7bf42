/**
 * The pending-update cache: `<cacheDir>/pending/<file>` holds the installer being downloaded
 * (`<file>.part` while incomplete) or downloaded, and `<cacheDir>/pending.json` says which
 * release it is. Every byte goes through the TUF client, which verifies length and hashes
 * while streaming and resumes a `.part` file with an HTTP Range request.
 *
 * What is on disk is never trusted by itself: a pending file is used only after it verifies
 * against the trusted target info of the current check (findCachedTarget), both when a
 * download would start (an app restart reuses it instead of fetching it again) and right
 * before install. pending.json is a description for people and cleanup, not a source of trust.
 */
import { readdir, rm, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LengthOrHashMismatchError, ValueError } from '../core/errors.js';
import type { TargetFile } from '../core/metadata.js';
import type { InstallerKind } from '../release/index.js';
import type { DownloadProgress } from '../client/download.js';
import { withLock, describeError, errorCode, readFileBounded, writeFileAtomic } from '../node-io/index.js';
import { targetFileName } from '../client/target-path.js';
import type { Updater } from '../client/updater.js';
import type { Logger, ProgressInfo } from './types.js';

export const PENDING_DIR = 'pending';
export const PENDING_FILE = 'pending.json';
const PENDING_FORMAT = 1;
const PENDING_MAX_BYTES = 16_384;

/** What pending.json holds. */
export interface PendingUpdate {
  format: typeof PENDING_FORMAT;
  version: string;
  /** Target path of the installer. */
  target: string;
  /** Absolute path of the verified installer. */
  file: string;
  kind: InstallerKind;
  length: number;
  sha256?: string;
  /** ISO 8601. */
  savedAt: string;
}

export interface PendingRequest {
  /** Trusted target info of the installer, from this check. */
  info: TargetFile;
  version: string;
  kind: InstallerKind;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ProgressInfo) => void;
}

export class DownloadManager {
  readonly pendingDir: string;

  constructor(
    private readonly client: Updater,
    private readonly cacheDir: string,
    private readonly log: Logger,
  ) {
    this.pendingDir = join(cacheDir, PENDING_DIR);
  }

  /** Where a target's installer is kept: its file name, encoded into one safe segment. */
  pendingPath(info: TargetFile): string {
    const name = targetFileName(info.path.slice(info.path.lastIndexOf('/') + 1));
    if (name.startsWith('.')) throw new ValueError(`installer name ${JSON.stringify(info.path)} is hidden`);
    return join(this.pendingDir, name);
  }

  /**
   * The verified installer on disk: reused when a verified copy is already there, else
   * downloaded (resuming a `.part` left by an interruption). One instance at a time: a second
   * app instance fails at once with StorageError instead of writing the same `.part` file.
   */
  async download(request: PendingRequest, options: DownloadOptions = {}): Promise<string> {
    return withLock(
      this.pendingDir,
      async () => {
        const path = this.pendingPath(request.info);
        const reused = await this.client.findCachedTarget(request.info, path);
        if (reused) {
          this.log.info(`update ${request.version}: verified installer already downloaded at ${reused}`);
        } else {
          await this.removeOtherFiles(path);
          const meter = new ProgressMeter();
          await this.client.downloadTarget(request.info, path, undefined, {
            signal: options.signal,
            onProgress: options.onProgress && ((p) => options.onProgress!(meter.next(p))),
          });
          this.log.info(`update ${request.version}: installer downloaded and verified (${request.info.length} bytes)`);
        }
        await this.writePending(request, path);
        return path;
      },
      { timeoutMs: 0, signal: options.signal },
    );
  }

  /** Re-verifies the pending installer against the trusted info right before install. */
  async verify(info: TargetFile): Promise<string> {
    const path = this.pendingPath(info);
    const verified = await this.client.findCachedTarget(info, path);
    if (!verified)
      throw new LengthOrHashMismatchError(
        `the downloaded installer ${path} is missing or no longer matches ${info.path}: refusing to install it`,
      );
    return verified;
  }

  /** pending.json, if present and well formed (it is a description only; see the file comment). */
  async readPending(): Promise<PendingUpdate | undefined> {
    // Only ENOENT means "no pending update" (readFileBounded's undefined); EACCES or EIO are failures.
    const bytes = await readFileBounded(join(this.cacheDir, PENDING_FILE), PENDING_MAX_BYTES);
    if (!bytes) return undefined;
    try {
      const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<PendingUpdate>;
      return doc?.format === PENDING_FORMAT && typeof doc.version === 'string' && typeof doc.file === 'string'
        ? (doc as PendingUpdate)
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Forgets the pending update (once it is the running version). Holds the pending lock, so
   * it fails (StorageError) rather than pull files from under another instance's download.
   */
  async clear(): Promise<void> {
    await withLock(
      this.pendingDir,
      async () => {
        await rm(join(this.cacheDir, PENDING_FILE), { force: true });
        await rm(this.pendingDir, { recursive: true, force: true });
      },
      { timeoutMs: 0 },
    );
  }

  private async writePending(request: PendingRequest, path: string): Promise<void> {
    const pending: PendingUpdate = {
      format: PENDING_FORMAT,
      version: request.version,
      target: request.info.path,
      file: path,
      kind: request.kind,
      length: request.info.length,
      sha256: request.info.hashes.sha256,
      savedAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(this.cacheDir, PENDING_FILE), JSON.stringify(pending, null, 2) + '\n');
  }

  /** Deletes installers (and partial downloads) of other releases, so the cache holds one. */
  private async removeOtherFiles(keep: string): Promise<void> {
    const keepNames = new Set([basename(keep), `${basename(keep)}.part`]);
    let entries;
    try {
      entries = await readdir(this.pendingDir, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (keepNames.has(entry.name) || entry.isDirectory()) continue;
      try {
        await unlink(join(this.pendingDir, entry.name));
        this.log.debug?.(`removed stale pending file ${entry.name}`);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT')
          this.log.warn(`could not remove stale pending file ${entry.name}: ${describeError(error)}`);
      }
    }
  }
}

/**
 * Turns the client's progress callbacks into electron-updater's ProgressInfo. Speed counts
 * only bytes received in this session (not those resumed from disk) over the time since the
 * download started.
 */
export class ProgressMeter {
  private readonly startedAt = performance.now();
  private received = 0;

  next(progress: DownloadProgress): ProgressInfo {
    this.received += progress.delta;
    const seconds = Math.max((performance.now() - this.startedAt) / 1000, 0.001);
    return {
      total: progress.total,
      delta: progress.delta,
      transferred: progress.transferred,
      percent: progress.total === 0 ? 100 : (progress.transferred / progress.total) * 100,
      bytesPerSecond: Math.round(this.received / seconds),
    };
  }
}
