/**
 * Content-defined chunking for chunk maps (updater/release/chunk-map.ts,
 * docs/differential-updates.md): FastCDC-style cut points from a gear rolling hash, with
 * normalized chunking. A cut depends only on the bytes just before it, so an insertion or a
 * deletion moves the cuts near it and leaves every other chunk, and its hash, as it was: the
 * app updater then downloads only the chunks of the new installer that its old one lacks.
 *
 * Pure (no I/O): bytes are pushed in pieces of any size as they are read, so a 200 MiB
 * installer is chunked while it is hashed and copied, never held in memory.
 *
 * The parameters are part of what makes two releases share chunks: a release chunked with
 * other parameters shares almost nothing with the last one (one full download, no error).
 * Change them only with a measurement (docs/differential-updates.md, "Chunk sizes").
 */
import { createHash, type Hash } from 'node:crypto';
import { CHUNK_MAX_LENGTH, type Chunk } from '../updater/release/chunk-map.js';
import { ValueError } from '../updater/core/errors.js';

export interface ChunkingParameters {
  /** No cut before this many bytes (the gear hash is not even computed for most of them). */
  minLength: number;
  /** The wanted mean; a power of two. */
  averageLength: number;
  /** A cut is forced here. */
  maxLength: number;
}

/** Chosen by measurement (test/bench/diff.bench.ts): see docs/differential-updates.md. */
export const DEFAULT_CHUNKING: ChunkingParameters = { minLength: 2048, averageLength: 8192, maxLength: 32768 };

/**
 * The gear table: 256 fixed pseudo-random 32-bit words, derived from SHA-256 so it is
 * reproducible and written nowhere by hand. Fixed forever: a new table moves every cut.
 */
const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i += 8) {
    const block = createHash('sha256')
      .update(`electron-tuf gear ${i / 8}`)
      .digest();
    for (let j = 0; j < 8; j++) table[i + j] = block.readInt32BE(j * 4);
  }
  return table;
})();

/** The gear hash remembers the last 32 bytes (one bit of shift each): hashing starts that far before `minLength`. */
const GEAR_WINDOW = 32;

/** A mask of `bits` one-bits at the top of a 32-bit word: those bits depend on the most recent bytes' whole window. */
function topMask(bits: number): number {
  return bits <= 0 ? 0 : (~0 << (32 - bits)) | 0;
}

/** The `chunking` string a map records (informational, and how a reader sees two maps were made alike). */
export function describeChunking(p: ChunkingParameters): string {
  return `fastcdc-gear32-nc2 min=${p.minLength} avg=${p.averageLength} max=${p.maxLength}`;
}

function checkParameters(p: ChunkingParameters): void {
  const bits = Math.log2(p.averageLength);
  const ok =
    Number.isInteger(bits) &&
    bits >= 8 &&
    bits <= 22 &&
    Number.isSafeInteger(p.minLength) &&
    Number.isSafeInteger(p.maxLength) &&
    p.minLength >= GEAR_WINDOW &&
    p.minLength < p.averageLength &&
    p.averageLength < p.maxLength &&
    p.maxLength <= CHUNK_MAX_LENGTH;
  if (!ok) throw new ValueError(`invalid chunking parameters ${JSON.stringify(p)}`);
}

/**
 * Streams bytes into content-defined chunks. `push` as data arrives, `finish` at the end; then
 * `chunks` holds every chunk in file order with its offset, length and SHA-256.
 */
export class Chunker {
  readonly chunks: Chunk[] = [];
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  /** Normalized chunking (FastCDC, level 2): harder to cut before the average, easier after it. */
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  private hash: Hash = createHash('sha256');
  private start = 0;
  /** Bytes of the current chunk so far. */
  private length = 0;
  private gear = 0;
  private finished = false;

  constructor(readonly parameters: ChunkingParameters = DEFAULT_CHUNKING) {
    checkParameters(parameters);
    this.min = parameters.minLength;
    this.avg = parameters.averageLength;
    this.max = parameters.maxLength;
    const bits = Math.log2(parameters.averageLength);
    this.maskSmall = topMask(bits + 2);
    this.maskLarge = topMask(bits - 2);
  }

  get description(): string {
    return describeChunking(this.parameters);
  }

  /** Feeds the next bytes of the file. */
  push(data: Uint8Array): void {
    if (this.finished) throw new ValueError('chunker already finished');
    let from = 0;
    while (from < data.length) {
      const cut = this.scan(data, from);
      if (cut < 0) {
        this.hash.update(data.subarray(from));
        return;
      }
      this.hash.update(data.subarray(from, cut));
      this.emit();
      from = cut;
    }
  }

  /** Ends the file: the bytes since the last cut are its last chunk. Returns every chunk. */
  finish(): Chunk[] {
    if (!this.finished && this.length > 0) this.emit();
    this.finished = true;
    return this.chunks;
  }

  /**
   * Advances over `data` from `from`; returns the index just past a cut, or -1 when the
   * current chunk goes on past the end of `data`. The hot path: one loop per phase of the
   * chunk (too short to cut, before the average, after it), so each byte costs a table
   * lookup, a shift, an add and one test.
   */
  private scan(data: Uint8Array, from: number): number {
    const end = data.length;
    // Where the current chunk starts, in `data`'s indexes (negative when it began in an earlier push).
    const base = from - this.length;
    const { min, avg, max, maskSmall, maskLarge } = this;
    // Bytes that can neither end a chunk nor reach the hash window before `min` are not hashed.
    let i = Math.max(from, Math.min(end, base + min - GEAR_WINDOW));
    let gear = this.gear;
    let stop = Math.min(end, base + min - 1);
    for (; i < stop; i++) gear = ((gear << 1) + GEAR[data[i]]) | 0;
    stop = Math.min(end, base + avg - 1);
    for (; i < stop; i++) {
      gear = ((gear << 1) + GEAR[data[i]]) | 0;
      if ((gear & maskSmall) === 0) return this.cutAt(i + 1, base);
    }
    stop = Math.min(end, base + max - 1);
    for (; i < stop; i++) {
      gear = ((gear << 1) + GEAR[data[i]]) | 0;
      if ((gear & maskLarge) === 0) return this.cutAt(i + 1, base);
    }
    if (i < end) return this.cutAt(i + 1, base); // the maximum length
    this.length = end - base;
    this.gear = gear;
    return -1;
  }

  private cutAt(index: number, base: number): number {
    this.length = index - base;
    return index;
  }

  private emit(): void {
    this.chunks.push({ offset: this.start, length: this.length, sha256: new Uint8Array(this.hash.digest()) });
    this.start += this.length;
    this.length = 0;
    this.gear = 0;
    this.hash = createHash('sha256');
  }
}

/** Chunks bytes held in memory (tests, benchmarks); files are chunked as they stream (target-store.ts). */
export function chunkBytes(data: Uint8Array, parameters: ChunkingParameters = DEFAULT_CHUNKING): Chunk[] {
  const chunker = new Chunker(parameters);
  chunker.push(data);
  return chunker.finish();
}
