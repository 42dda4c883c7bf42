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
 *
 * For differential downloads (differential.ts), `<cacheDir>/installed/<file>` keeps the
 * installer that installed the running version (moved there from pending/ at the first start
 * of that version; `<cacheDir>/installed.json` says which target it was), and an earlier
 * update still in pending/ is kept until the new one is built. Both are only sources of chunks
 * that are re-hashed against the new installer's signed chunk map before use.
 */
import { mkdir, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LengthOrHashMismatchError, ValueError } from '../core/errors.js';
import type { TargetFile } from '../core/metadata.js';
import type { InstallerKind } from '../release/index.js';
import type { DownloadProgress } from '../client/download.js';
import { withLock, describeError, errorCode, readFileBounded, writeFileAtomic } from '../node-io/index.js';
import { targetFileName } from '../client/target-path.js';
import type { Updater } from '../client/updater.js';
import { chunkMapPathOf, DifferentialDownloader, type BasisCandidate } from './differential.js';
import type { Logger, ProgressInfo } from './types.js';

export const PENDING_DIR = 'pending';
export const PENDING_FILE = 'pending.json';
export const INSTALLED_DIR = 'installed';
export const INSTALLED_FILE = 'installed.json';
export const CHUNK_MAPS_DIR = 'chunk-maps';
const PENDING_FORMAT = 1;
const PENDING_MAX_BYTES = 16_384;

/** What installed.json holds: the target whose installer installed the running version. */
interface InstalledInstaller {
  format: typeof PENDING_FORMAT;
  version: string;
  target: string;
}

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
  /** Build the installer from earlier installers' chunks when possible (default true). */
  differential?: boolean;
  /**
   * The installer the running version runs from, if it is one file (an AppImage: `$APPIMAGE`),
   * with the signed target it should be: a source of chunks when no installer was kept.
   */
  running?: RunningInstaller;
}

export interface RunningInstaller {
  path: string;
  /** Trusted target info of the running version's installer. */
  target: TargetFile;
}

export class DownloadManager {
  readonly pendingDir: string;
  readonly installedDir: string;
  readonly differential: DifferentialDownloader;

  constructor(
    private readonly client: Updater,
    private readonly cacheDir: string,
    private readonly log: Logger,
  ) {
    this.pendingDir = join(cacheDir, PENDING_DIR);
    this.installedDir = join(cacheDir, INSTALLED_DIR);
    this.differential = new DifferentialDownloader(client, join(cacheDir, CHUNK_MAPS_DIR), log);
  }

  /** Where a target's installer is kept: its file name, encoded into one safe segment. */
  pendingPath(info: Pick<TargetFile, 'path'>): string {
    return join(this.pendingDir, installerFileName(info.path));
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
          await this.fetch(request, path, options);
        }
        await this.writePending(request, path);
        return path;
      },
      { timeoutMs: 0, signal: options.signal },
    );
  }

  /** Differentially when possible (an earlier installer and both chunk maps), else in full. */
  private async fetch(request: PendingRequest, path: string, options: DownloadOptions): Promise<void> {
    const candidates = options.differential === false ? [] : await this.basisCandidates(request.info, options.running);
    await this.removeOtherFiles(
      path,
      candidates.map((c) => c.path),
    );
    const progress = (): ((p: DownloadProgress) => void) | undefined => {
      const meter = new ProgressMeter();
      return options.onProgress && ((p) => options.onProgress!(meter.next(p)));
    };
    const built =
      candidates.length > 0 &&
      (await this.differential.download({
        target: request.info,
        destPath: path,
        candidates,
        signal: options.signal,
        onProgress: progress(),
      }));
    if (!built) {
      await this.client.downloadTarget(request.info, path, undefined, {
        signal: options.signal,
        onProgress: progress(),
      });
      this.log.info(`update ${request.version}: installer downloaded and verified (${request.info.length} bytes)`);
      // This installer will be the source of the next differential download: its map goes with it.
      if (options.differential !== false) await this.differential.keepMapOf(request.info);
    }
    if (candidates.length > 0) await this.removeOtherFiles(path); // an earlier pending installer has served
  }

  /**
   * Local installers that may share chunks with a new one: the installed version's (kept, or
   * else the running AppImage), an earlier pending one.
   */
  private async basisCandidates(info: TargetFile, running?: RunningInstaller): Promise<BasisCandidate[]> {
    const candidates: BasisCandidate[] = [];
    const installed = await this.readInstalled();
    const kept = installed && join(this.installedDir, installerFileName(installed.target));
    if (kept && (await exists(kept))) candidates.push({ path: kept, target: installed.target });
    else if (running && chunkMapPathOf(info) !== undefined) {
      const verified = await this.verifiedRunning(running);
      if (verified) candidates.push(verified);
    }
    const pending = await this.readPending();
    if (pending && typeof pending.target === 'string' && pending.target !== info.path)
      candidates.push({ path: this.pendingPath({ path: pending.target }), target: pending.target });
    return candidates;
  }

  /**
   * The running installer as a source of chunks, if it is byte for byte the signed installer of
   * the running version: the whole-file check of a cached download (findCachedTarget), once per
   * differential download. Unlike a kept installer, the file the user runs may be another build
   * of that version, or changed; using it unchecked would cost a failed build and a full download.
   * `$APPIMAGE` may be a symlink (a launcher's link to the AppImage): it is resolved once, and the
   * resolved path is both checked here and opened by the build (with O_NOFOLLOW), so the file
   * checked is the file read, and a link no longer costs a full hash and then a full download.
   */
  private async verifiedRunning(running: RunningInstaller): Promise<BasisCandidate | undefined> {
    if (chunkMapPathOf(running.target) === undefined) return undefined; // published without a map
    const resolved = await realpath(running.path).catch((e: unknown) => {
      if (errorCode(e) === 'ENOENT') return undefined; // as findCachedTarget reads a missing file
      throw e;
    });
    if (resolved === undefined) {
      this.log.info(`differential download: ${running.path} is not there`);
      return undefined;
    }
    const verified = await this.client.findCachedTarget(running.target, resolved);
    if (!verified) {
      this.log.info(`differential download: ${running.path} is not the signed ${running.target.path}`);
      return undefined;
    }
    const via = resolved === running.path ? '' : ` (${running.path})`;
    this.log.info(`differential download: building from the running ${resolved}${via} (${running.target.path})`);
    return { path: verified, target: running.target.path };
  }

  /** installed.json, if present and well formed (a description: the file is checked against signed maps). */
  private async readInstalled(): Promise<InstalledInstaller | undefined> {
    const bytes = await readFileBounded(join(this.cacheDir, INSTALLED_FILE), PENDING_MAX_BYTES);
    if (!bytes) return undefined;
    const doc = parseDescription(bytes) as Partial<InstalledInstaller> | undefined;
    return doc?.format === PENDING_FORMAT && typeof doc.version === 'string' && typeof doc.target === 'string'
      ? (doc as InstalledInstaller)
      : undefined;
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
    const doc = parseDescription(bytes) as Partial<PendingUpdate> | undefined;
    return doc?.format === PENDING_FORMAT && typeof doc.version === 'string' && typeof doc.file === 'string'
      ? (doc as PendingUpdate)
      : undefined;
  }

  /**
   * Forgets the pending update (once it is the running version). With `keep` (the pending
   * update that installed the running version), its installer moves to installed/ first, as
   * the source of chunks for the next differential download. Holds the pending lock, so it
   * fails (StorageError) rather than pull files from under another instance's download.
   */
  async clear(keep?: PendingUpdate): Promise<void> {
    await withLock(
      this.pendingDir,
      async () => {
        if (keep) await this.keepInstalled(keep);
        await rm(join(this.cacheDir, PENDING_FILE), { force: true });
        await rm(this.pendingDir, { recursive: true, force: true });
      },
      { timeoutMs: 0 },
    );
  }

  /** Removes the installer kept for differential downloads (they were turned off). */
  async forgetInstalled(): Promise<void> {
    await withLock(this.pendingDir, () => this.forgetInstalledFiles(), { timeoutMs: 0 });
  }

  private async keepInstalled(pending: PendingUpdate): Promise<void> {
    const from = this.pendingPath({ path: pending.target });
    await this.forgetInstalledFiles();
    await mkdir(this.installedDir, { recursive: true });
    try {
      await rename(from, join(this.installedDir, installerFileName(pending.target)));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return; // nothing to keep
      throw error;
    }
    const installed: InstalledInstaller = { format: PENDING_FORMAT, version: pending.version, target: pending.target };
    await writeFileAtomic(join(this.cacheDir, INSTALLED_FILE), JSON.stringify(installed, null, 2) + '\n');
    this.log.info(`kept the installer of ${pending.version} for differential downloads`);
  }

  private async forgetInstalledFiles(): Promise<void> {
    await rm(join(this.cacheDir, INSTALLED_FILE), { force: true });
    await rm(this.installedDir, { recursive: true, force: true });
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

  /** Deletes installers (and partial downloads) of other releases, so the cache holds one (and `alsoKeep`). */
  private async removeOtherFiles(keep: string, alsoKeep: string[] = []): Promise<void> {
    const keepNames = new Set([basename(keep), `${basename(keep)}.part`, ...alsoKeep.map((p) => basename(p))]);
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

/** An installer's file name in the cache: the last segment of its target path, encoded into one safe segment. */
function installerFileName(targetPath: string): string {
  const name = targetFileName(targetPath.slice(targetPath.lastIndexOf('/') + 1));
  if (name.startsWith('.')) throw new ValueError(`installer name ${JSON.stringify(targetPath)} is hidden`);
  return name;
}

/** Whether `path` is a regular file; only its absence is "no". */
async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** A description file's JSON, or undefined when it is not JSON (it is rewritten at the next download). */
function parseDescription(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    return undefined;
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
