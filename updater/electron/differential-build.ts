/**
 * Builds a new installer from chunks of local installers plus ranged downloads of the missing
 * ones (the plan: differential-plan.ts), into `<dest>.part`, then commits it like a full
 * download (client/part-file.ts: the same part file, verifier and atomic rename).
 *
 * Nothing is taken on trust. Each fetched chunk is checked against the new installer's signed
 * chunk map the moment its last byte arrives (a tampered range ends its request at once); the
 * whole file is checked against its signed target info (length and every hash) before it is
 * renamed into place. Chunks copied from a local installer are not hashed one by one as they
 * are copied: that was a second SHA-256 pass over nearly the whole file, which kept a
 * differential download on a fast link well above the cost of a full one, and the whole-file
 * check refuses a local installer changed on disk just the same (the caller then falls back to
 * a full download). What an interrupted build leaves in `<dest>.part` is cut to its chunks that
 * match the map before it is kept, so the part file stays a prefix of the new installer that
 * the next attempt (differential, or a full download using the same file) can resume from; a
 * resumed build checks those chunks again.
 */
import { hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CancelledError, LengthOrHashMismatchError, StorageError } from '../core/errors.js';
import { LengthAndHashVerifier } from '../core/hashes.js';
import type { TargetFile } from '../core/metadata.js';
import type { DownloadProgress } from '../client/download.js';
import { onDisk, PartFile } from '../client/part-file.js';
import { ProgressThrottle } from '../client/progress-throttle.js';
import type { Chunk, ChunkMap } from '../release/chunk-map.js';
import { ChunkMismatchError } from './errors.js';
import { Ahead } from './ahead.js';
import { cleanupAfterFailure } from '../node-io/cleanup.js';
import { localReads } from './local-reads.js';
import { planDifferential, type LocalStep, type Plan, type PlanOptions, type RemoteStep } from './differential-plan.js';

/** Ranged requests in flight at once (each buffers at most PlanOptions.maxRangeBytes). */
export const RANGE_CONCURRENCY = 4;
/**
 * Bytes appended but not yet on disk before the writer waits: enough for the local reads'
 * ring (local-reads.ts) and a few ranges, so hashing never waits for the disk; the ring
 * bounds what local steps hold anyway.
 */
const WRITE_BEHIND_BYTES = 8 << 20;

/** Reads a byte range of the new installer from the repository (Updater.readTargetRange). */
export type RangeReader = (
  range: { start: number; length: number },
  sink: (bytes: Uint8Array) => void,
  signal: AbortSignal,
) => Promise<void>;

/** A local installer and its signed chunk map (whose `file` already matched its signed target). */
export interface Basis {
  path: string;
  map: ChunkMap;
}

export interface BuildRequest {
  /** Trusted target info of the new installer. */
  target: TargetFile;
  /** Its signed chunk map (whose `file` already matched `target`). */
  map: ChunkMap;
  bases: readonly Basis[];
  destPath: string;
  readRange: RangeReader;
  signal?: AbortSignal;
  /** total = bytes to fetch; transferred = bytes fetched so far. */
  onProgress?: (progress: DownloadProgress) => void;
  plan?: Partial<PlanOptions>;
}

export interface BuildResult {
  plan: Plan;
  /** Bytes of the new file already in `<dest>.part` (resumed). */
  resumed: number;
}

/**
 * Builds, verifies and commits `destPath`. Rejects with LengthOrHashMismatchError (a fetched
 * chunk, or the whole file, differs from what was signed), StorageError (a local installer
 * changed or the disk failed), a DownloadError, or CancelledError. `<dest>.part` is kept for
 * a resume unless the whole file failed verification.
 */
export async function buildFromChunks(request: BuildRequest): Promise<BuildResult> {
  const { target } = request;
  const part = await PartFile.open(
    `${request.destPath}.part`,
    true,
    () => new LengthAndHashVerifier(target.length, target.hashes, target.path),
    WRITE_BEHIND_BYTES,
  );
  let handles: FileHandle[] = [];
  try {
    const resumed = await keepVerifiedPrefix(part, request.map.chunks);
    const plan = planDifferential(
      request.map,
      request.bases.map((b) => b.map),
      { ...request.plan, from: resumed },
    );
    handles = await openBases(request.bases);
    const progress = new ProgressThrottle(plan.remoteBytes, request.onProgress, 0);
    await runPlan(plan, { part, handles, request, progress, received: 0 });
    part.verify();
    await part.commit(request.destPath);
    progress.finish();
    return { plan, resumed };
  } catch (error) {
    // A whole file that fails its signed hashes (a local installer changed on disk): start afresh next time.
    const poisoned = error instanceof LengthOrHashMismatchError && !(error instanceof ChunkMismatchError);
    // The build's own error is what the caller needs; a failed clean-up is a warning beside it.
    await cleanupAfterFailure(error, async () => {
      try {
        await (poisoned ? part.discard() : keepOnlyMatchingChunks(part, request.map.chunks));
      } catch (keepError) {
        await cleanupAfterFailure(keepError, () => part.discard()); // what cannot be kept goes
      }
      await part.close();
    });
    throw error;
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined))); // read-only sources: nothing to lose
  }
}

/**
 * Keeps the longest prefix of `<dest>.part` made of whole chunks that match the map (what an
 * interrupted build or full download left), truncates the rest, and feeds the prefix to the
 * file's verifier. Returns its length.
 */
async function keepVerifiedPrefix(part: PartFile, chunks: readonly Chunk[]): Promise<number> {
  const verified = await keepOnlyMatchingChunks(part, chunks);
  await part.hashExistingBytes();
  return verified;
}

/** Truncates `<dest>.part` to its longest prefix of whole chunks that match the map; returns its length. */
async function keepOnlyMatchingChunks(part: PartFile, chunks: readonly Chunk[]): Promise<number> {
  const onDiskSize = part.size;
  let verified = 0;
  for (const chunk of chunks) {
    if (chunk.offset + chunk.length > onDiskSize) break;
    const bytes = await part.readAt(chunk.offset, chunk.length);
    if (!matches(bytes, chunk)) break;
    verified = chunk.offset + chunk.length;
  }
  await part.truncate(verified);
  return verified;
}

/** One-shot hashing: about 15 % faster than createHash for chunks of a few KiB. */
function matches(bytes: Uint8Array, chunk: Chunk): boolean {
  if (bytes.length !== chunk.length) return false;
  return hash('sha256', bytes, 'buffer').equals(chunk.sha256);
}

async function openBases(bases: readonly Basis[]): Promise<FileHandle[]> {
  const handles: FileHandle[] = [];
  try {
    for (const basis of bases) {
      const handle = await onDisk(`open ${basis.path}`, () =>
        open(basis.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)),
      );
      handles.push(handle);
      const stat = await onDisk(`stat ${basis.path}`, () => handle.stat());
      if (!stat.isFile() || stat.size !== basis.map.file.length)
        throw new StorageError(`${basis.path} is no longer the installer its chunk map describes`);
    }
    return handles;
  } catch (error) {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined))); // read-only sources: nothing to lose
    throw error;
  }
}

interface Run {
  part: PartFile;
  handles: FileHandle[];
  request: BuildRequest;
  progress: ProgressThrottle;
  /** Bytes fetched so far, over all ranges. */
  received: number;
}

/**
 * Writes the steps in order. Ranged requests run ahead of the writer, up to RANGE_CONCURRENCY
 * at once, and local reads a few steps ahead (local-reads.ts), so disk reads, downloads,
 * hashing and writes overlap; a failure anywhere aborts the rest.
 */
async function runPlan(plan: Plan, run: Run): Promise<void> {
  const stop = new AbortController();
  const { signal } = stop;
  const onCancel = () => stop.abort();
  run.request.signal?.addEventListener('abort', onCancel, { once: true });
  if (run.request.signal?.aborted) stop.abort();
  const remote = new Ahead(
    plan.steps.filter((s): s is RemoteStep => s.kind === 'remote'),
    RANGE_CONCURRENCY,
    (step) => fetchRange(step, run, signal),
  );
  const local = localReads(
    plan.steps.filter((s): s is LocalStep => s.kind === 'local'),
    run.handles,
    run.part,
  );
  try {
    for (const step of plan.steps) {
      if (signal.aborted) throw new CancelledError('differential download cancelled');
      const bytes = step.kind === 'local' ? await local.next() : await remote.next();
      await run.part.append(bytes, true);
    }
  } finally {
    run.request.signal?.removeEventListener('abort', onCancel);
    stop.abort();
    await Promise.all([remote.settled(), local.settled()]);
  }
}

/** Fetches one range into memory, checking each chunk as soon as its last byte is in. */
async function fetchRange(step: RemoteStep, run: Run, signal: AbortSignal): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(step.length);
  let filled = 0;
  let checked = 0;
  let chunkStart = 0;
  await run.request.readRange(
    { start: step.start, length: step.length },
    (bytes) => {
      buffer.set(bytes, filled);
      filled += bytes.length;
      run.received += bytes.length;
      run.progress.update(run.received);
      while (checked < step.chunks.length && chunkStart + step.chunks[checked].length <= filled) {
        const chunk = step.chunks[checked];
        if (!matches(buffer.subarray(chunkStart, chunkStart + chunk.length), chunk))
          throw new ChunkMismatchError(
            `the chunk fetched for bytes ${chunk.offset}+${chunk.length} is not the signed one`,
          );
        chunkStart += chunk.length;
        checked++;
      }
    },
    signal,
  );
  if (filled !== step.length) throw new LengthOrHashMismatchError(`range ${step.start}+${step.length} came short`);
  return buffer;
}
