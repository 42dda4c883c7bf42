/**
 * The plan of a differential download (docs/differential-updates.md, "In the app"): which
 * chunks of the new installer are copied from local installers and which byte ranges are
 * fetched. Pure: chunk maps in, steps out, in the new file's order.
 *
 * Chunks are matched by SHA-256 (and length) across the maps, whatever chunking made them: the
 * maps only say where a chunk with that hash may be found. Every byte is checked again when it
 * is used (differential-build.ts): a local chunk is re-hashed after reading, a fetched one as it
 * arrives, and the whole file against its signed target info at the end.
 */
import type { Chunk, ChunkMap } from '../release/chunk-map.js';
import { CHUNK_MAX_LENGTH } from '../release/chunk-map.js';

export interface PlanOptions {
  /**
   * Local bytes between two fetched ranges that are fetched too, when there are at most this
   * many, so the two ranges become one request. Bounded: every such byte is paid for.
   */
  mergeGapBytes: number;
  /** Largest single ranged request (at least CHUNK_MAX_LENGTH, so any chunk fits). */
  maxRangeBytes: number;
  /**
   * Largest single read of a local installer: the size of the reused read buffers
   * (local-reads.ts), small enough that the bytes are still in cache when they are hashed.
   */
  maxReadBytes: number;
  /** Offset (a chunk boundary) up to which the new file is already built (a resumed download). */
  from: number;
}

export const DEFAULT_PLAN_OPTIONS: Readonly<PlanOptions> = Object.freeze({
  mergeGapBytes: 16 * 1024,
  maxRangeBytes: CHUNK_MAX_LENGTH,
  maxReadBytes: 1 << 20,
  from: 0,
});

/** Copy `length` bytes at `sourceOffset` of local installer `basis`; `chunks` are the new file's. */
export interface LocalStep {
  kind: 'local';
  basis: number;
  sourceOffset: number;
  length: number;
  chunks: Chunk[];
}

/** Fetch the new file's bytes `[start, start + length)`, which are exactly `chunks`. */
export interface RemoteStep {
  kind: 'remote';
  start: number;
  length: number;
  chunks: Chunk[];
}

export type Step = LocalStep | RemoteStep;

export interface Plan {
  steps: Step[];
  /** Bytes to fetch. */
  remoteBytes: number;
  /** Bytes to copy from local installers. */
  localBytes: number;
  requests: number;
}

interface Source {
  basis: number;
  offset: number;
}

interface Indexed extends Source {
  chunk: Chunk;
}

/**
 * Where each chunk (by SHA-256 and length) first appears among the local installers' maps,
 * keyed by the first 48 bits of its SHA-256 (a number: no string built per chunk, which cost
 * more than the rest of the plan for a 150 MB installer); entries are compared in full.
 */
class BasisIndex {
  private readonly buckets = new Map<number, Indexed[]>();

  constructor(bases: readonly ChunkMap[]) {
    bases.forEach((map, basis) => {
      for (const chunk of map.chunks) {
        const key = keyOf(chunk.sha256);
        const bucket = this.buckets.get(key);
        if (!bucket) this.buckets.set(key, [{ basis, offset: chunk.offset, chunk }]);
        else if (!bucket.some((e) => sameChunk(e.chunk, chunk))) bucket.push({ basis, offset: chunk.offset, chunk });
      }
    });
  }

  find(chunk: Chunk): Source | undefined {
    return this.buckets.get(keyOf(chunk.sha256))?.find((e) => sameChunk(e.chunk, chunk));
  }
}

function keyOf(sha256: Uint8Array): number {
  return (
    ((sha256[0] << 16) | (sha256[1] << 8) | sha256[2]) * 0x1000000 + ((sha256[3] << 16) | (sha256[4] << 8) | sha256[5])
  );
}

function sameChunk(a: Chunk, b: Chunk): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < 32; i++) if (a.sha256[i] !== b.sha256[i]) return false;
  return true;
}

interface Run {
  remote: boolean;
  chunks: Chunk[];
  sources: Array<Source | undefined>;
  bytes: number;
}

/** Consecutive chunks grouped by where they come from (local or remote). */
function runsOf(chunks: readonly Chunk[], sources: Array<Source | undefined>): Run[] {
  const runs: Run[] = [];
  chunks.forEach((chunk, i) => {
    const remote = sources[i] === undefined;
    let run = runs.at(-1);
    if (!run || run.remote !== remote) runs.push((run = { remote, chunks: [], sources: [], bytes: 0 }));
    run.chunks.push(chunk);
    run.sources.push(sources[i]);
    run.bytes += chunk.length;
  });
  return runs;
}

/** A short local run between two fetched ones is fetched too: one request instead of two. */
function mergeGaps(runs: Run[], mergeGapBytes: number): Run[] {
  const merged: Run[] = [];
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i];
    const last = merged.at(-1);
    const bridge = run.bytes <= mergeGapBytes && i + 1 < runs.length; // a local run: the next one is remote
    if (last?.remote && (run.remote || bridge)) {
      last.chunks.push(...run.chunks);
      last.sources.push(...run.chunks.map(() => undefined));
      last.bytes += run.bytes;
    } else {
      merged.push({ ...run, chunks: [...run.chunks], sources: [...run.sources] });
    }
  }
  return merged;
}

/** Splits a fetched run into requests of at most maxRangeBytes, at chunk boundaries. */
function remoteSteps(run: Run, maxRangeBytes: number): RemoteStep[] {
  const steps: RemoteStep[] = [];
  let step: RemoteStep | undefined;
  for (const chunk of run.chunks) {
    if (!step || step.length + chunk.length > maxRangeBytes) {
      step = { kind: 'remote', start: chunk.offset, length: 0, chunks: [] };
      steps.push(step);
    }
    step.chunks.push(chunk);
    step.length += chunk.length;
  }
  return steps;
}

/** Splits a local run into reads of one installer's consecutive bytes, at most maxReadBytes each. */
function localSteps(run: Run, maxReadBytes: number): LocalStep[] {
  const steps: LocalStep[] = [];
  let step: LocalStep | undefined;
  run.chunks.forEach((chunk, i) => {
    const source = run.sources[i]!;
    const continues =
      step &&
      step.basis === source.basis &&
      step.sourceOffset + step.length === source.offset &&
      step.length + chunk.length <= maxReadBytes;
    if (!continues) {
      step = { kind: 'local', basis: source.basis, sourceOffset: source.offset, length: 0, chunks: [] };
      steps.push(step);
    }
    step!.chunks.push(chunk);
    step!.length += chunk.length;
  });
  return steps;
}

/** Plans the new file (`target`) from the local installers' maps (`bases`, in order of preference). */
export function planDifferential(
  target: ChunkMap,
  bases: readonly ChunkMap[],
  options: Partial<PlanOptions> = {},
): Plan {
  const { mergeGapBytes, maxRangeBytes, maxReadBytes, from } = { ...DEFAULT_PLAN_OPTIONS, ...options };
  const index = new BasisIndex(bases);
  const chunks = target.chunks.filter((chunk) => chunk.offset >= from);
  const sources = chunks.map((chunk) => index.find(chunk));
  const steps: Step[] = [];
  for (const run of mergeGaps(runsOf(chunks, sources), mergeGapBytes)) {
    steps.push(...(run.remote ? remoteSteps(run, maxRangeBytes) : localSteps(run, maxReadBytes)));
  }
  const remote = steps.filter((s) => s.kind === 'remote');
  const remoteBytes = remote.reduce((sum, s) => sum + s.length, 0);
  return {
    steps,
    remoteBytes,
    localBytes: target.file.length - from - remoteBytes,
    requests: remote.length,
  };
}
