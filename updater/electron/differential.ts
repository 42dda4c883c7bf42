/**
 * Differential downloads (docs/differential-updates.md, "In the app"): when the new installer
 * and a local installer (the one that installed the running version, or an earlier update
 * still in the pending cache) both have a signed chunk map, the new installer is built from the
 * local chunks plus ranged downloads of the missing ones (differential-build.ts).
 *
 * Both maps are TUF targets, downloaded with the client's downloadTarget (length and hashes
 * checked against signed metadata), and each map must name its installer's signed length and
 * SHA-256, so a mirror can neither forge a map nor swap in another release's. Any failure
 * (no map, a bad map, a changed local file, a server that ignores Range, a chunk that does not
 * match) is logged and answered with `false`: the caller then downloads the installer in full.
 * Only a cancellation is passed on.
 */
import { rm, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, DeserializationError, RepositoryError, StorageError } from '../core/errors.js';
import { verifyLengthAndHashes } from '../core/hashes.js';
import type { TargetFile } from '../core/metadata.js';
import type { DownloadProgress } from '../client/download.js';
import { targetFileName, targetFilePath } from '../client/target-path.js';
import type { Updater } from '../client/updater.js';
import { describeError, errorCode, readFileBounded, withLock } from '../node-io/index.js';
import { CHUNK_MAP_MAX_BYTES, parseChunkMap, type ChunkMap } from '../release/chunk-map.js';
import { buildFromChunks, type Basis } from './differential-build.js';
import type { PlanOptions } from './differential-plan.js';
import type { Logger } from './types.js';

/** A local file that may be an earlier installer, and the target path it would be. Neither is trusted. */
export interface BasisCandidate {
  path: string;
  target: string;
}

export interface DifferentialRequest {
  /** Trusted target info of the new installer. */
  target: TargetFile;
  destPath: string;
  candidates: readonly BasisCandidate[];
  signal?: AbortSignal;
  /** total = bytes to fetch. */
  onProgress?: (progress: DownloadProgress) => void;
}

export class DifferentialDownloader {
  /** Tuning for tests and benchmarks. */
  planOptions: Partial<PlanOptions> = {};

  constructor(
    private readonly client: Updater,
    private readonly mapsDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Resolves true when `destPath` holds the verified new installer, false when a full download
   * is needed (the reason is logged). Rejects only with CancelledError.
   */
  async download(request: DifferentialRequest): Promise<boolean> {
    const { target } = request;
    if (chunkMapPathOf(target) === undefined) {
      this.log.debug?.(`differential download: ${target.path} has no chunk map`);
      return false;
    }
    const used = new Set<string>();
    try {
      const bases = await this.usableBases(request.candidates, used);
      if (bases.length === 0) {
        this.log.info(`differential download: no earlier installer with a chunk map to build ${target.path} from`);
        return false;
      }
      const map = await this.loadMap(target, used);
      const { plan, resumed } = await withLock(
        request.destPath,
        () =>
          buildFromChunks({
            target,
            map,
            bases,
            destPath: request.destPath,
            readRange: (range, sink, signal) => this.client.readTargetRange(target, range, sink, { signal }),
            signal: request.signal,
            onProgress: request.onProgress,
            plan: this.planOptions,
          }),
        { timeoutMs: 0, signal: request.signal },
      );
      this.log.info(
        `differential download of ${target.path}: fetched ${plan.remoteBytes} of ${target.length} bytes in ${plan.requests} requests, ` +
          `${plan.localBytes} bytes from earlier installers${resumed > 0 ? `, ${resumed} resumed` : ''}`,
      );
      return true;
    } catch (error) {
      if (error instanceof CancelledError || request.signal?.aborted) throw error;
      this.log.warn(`Cannot download differentially, fallback to full download: ${nameAndMessage(error)}`);
      // The full download starts afresh: a server that mangled ranges must not get to mangle its resume.
      await rm(`${request.destPath}.part`, { force: true });
      return false;
    } finally {
      await this.removeMapsExcept(used);
    }
  }

  /**
   * Fetches (and checks) the chunk map of an installer just downloaded in full, so that the
   * next update can be built from it without fetching it then. A failure only costs that.
   */
  async keepMapOf(target: TargetFile): Promise<void> {
    if (chunkMapPathOf(target) === undefined) return;
    try {
      await this.loadMap(target, new Set());
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      this.log.warn(`cannot keep the chunk map of ${target.path}: ${nameAndMessage(error)}`);
    }
  }

  /** The candidates that are, by size, the signed installer they claim to be, with their signed maps. */
  private async usableBases(candidates: readonly BasisCandidate[], used: Set<string>): Promise<Basis[]> {
    const bases: Basis[] = [];
    for (const candidate of candidates) {
      const info = await this.client.getTargetInfo(candidate.target);
      if (!info || chunkMapPathOf(info) === undefined) continue; // withdrawn, or published without a map
      if (!(await hasSize(candidate.path, info.length))) {
        this.log.debug?.(`differential download: ${candidate.path} is not ${candidate.target}`);
        continue;
      }
      bases.push({ path: candidate.path, map: await this.loadMap(info, used) });
    }
    return bases;
  }

  /** The installer's signed chunk map, checked to describe exactly that installer. */
  private async loadMap(installer: TargetFile, used: Set<string>): Promise<ChunkMap> {
    const mapPath = chunkMapPathOf(installer)!;
    const info = await this.client.getTargetInfo(mapPath);
    if (!info)
      throw new RepositoryError(`${installer.path} names the chunk map ${mapPath}, which no targets metadata lists`);
    if (info.length > CHUNK_MAP_MAX_BYTES)
      throw new DeserializationError(`${mapPath} is ${info.length} bytes, more than a chunk map may hold`);
    used.add(targetFileName(info.path));
    const file = targetFilePath(this.mapsDir, info.path);
    await this.client.downloadTarget(info, file);
    const bytes = await readFileBounded(file, CHUNK_MAP_MAX_BYTES);
    if (!bytes) throw new StorageError(`${file} vanished after download`);
    verifyLengthAndHashes(bytes, info.length, info.hashes, info.path); // the file may have changed since
    const map = parseChunkMap(bytes);
    if (map.file.length !== installer.length || map.file.sha256 !== installer.hashes.sha256)
      throw new RepositoryError(`the chunk map ${mapPath} describes another file than ${installer.path}`);
    return map;
  }

  /** Maps of installers no longer involved are dropped; the cache holds a few small files at most. */
  private async removeMapsExcept(keep: Set<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.mapsDir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      this.log.warn(`cannot list ${this.mapsDir}: ${describeError(error)}`);
      return;
    }
    for (const name of names.filter((n) => !keep.has(n) && !n.endsWith('.lock'))) {
      await rm(join(this.mapsDir, name), { force: true, recursive: true }).catch((error: unknown) => {
        this.log.warn(`cannot remove ${name} from ${this.mapsDir}: ${describeError(error)}`);
      });
    }
  }
}

/** `custom.chunkMap` of a signed installer target (checked as a target path when it is looked up). */
export function chunkMapPathOf(target: TargetFile): string | undefined {
  const custom = target.custom;
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) return undefined;
  const path = (custom as { chunkMap?: unknown }).chunkMap;
  return typeof path === 'string' ? path : undefined;
}

function nameAndMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function hasSize(path: string, length: number): Promise<boolean> {
  try {
    const s = await stat(path);
    return s.isFile() && s.size === length;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new StorageError(`cannot stat ${path}: ${describeError(error)}`, { cause: error });
  }
}
