/**
 * Fixtures for differential-update benchmarks (test/bench/diff.bench.ts; the app updater's
 * differential download benchmark builds on the same ones): a synthetic installer, a copy with
 * about 1 % of its content changed in several places (insertions and deletions that shift
 * everything after them, and overwrites), and what a client would download between two chunk
 * lists or two electron-builder blockmaps.
 *
 * Everything is deterministic (seeded), so runs compare.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Chunk } from '../../../updater/release/chunk-map.js';

/** Deterministic pseudo-random bytes (AES-128-CTR keystream of a seed): incompressible, like compressed payloads. */
export function pseudoRandomBytes(length: number, seed: string): Buffer {
  const key = createHash('sha256').update(`key ${seed}`).digest().subarray(0, 16);
  const iv = createHash('sha256').update(`iv ${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(length));
}

/** Text-like bytes (a few hundred distinct words): stands for uncompressed JS, resources, metadata. */
function textLikeBytes(length: number, seed: string): Buffer {
  const noise = pseudoRandomBytes(length, `text ${seed}`);
  const words = Array.from({ length: 512 }, (_, i) => `w${i.toString(36)}${'x'.repeat(i % 7)} `);
  const out = Buffer.alloc(length);
  let at = 0;
  let n = 0;
  while (at < length) at += out.write(words[noise[n++ % length] + ((noise[(n * 7) % length] & 1) << 8)], at);
  return out;
}

/**
 * A synthetic installer: mostly incompressible regions (binaries, compressed archives) with
 * text-like and zero-filled regions between them, as in an unpacked-then-packed app. With
 * `compressible`, mostly text-like regions instead: it compresses about as much as Electron's
 * own binaries (2-3 x), to stand for them inside an app that electron-builder then compresses.
 */
export function syntheticInstaller(length: number, seed = 'installer', compressible = false): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  let i = 0;
  const sizes = pseudoRandomBytes(4096, `sizes ${seed}`);
  while (total < length) {
    const size = Math.min(length - total, 256 * 1024 + sizes.readUInt16BE((i * 2) % 4094) * 64);
    const kind = i % 5;
    const text = compressible ? kind >= 1 && kind <= 3 : kind === 3;
    const part = text
      ? textLikeBytes(size, `${seed} ${i}`)
      : kind === 4
        ? Buffer.alloc(Math.min(size, 64 * 1024))
        : pseudoRandomBytes(size, `${seed} ${i}`);
    parts.push(part);
    total += part.length;
    i++;
  }
  return Buffer.concat(parts, length);
}

export interface ChangeSummary {
  /** Bytes inserted or overwritten: what a perfect differential download would fetch. */
  changedBytes: number;
  /** Bytes deleted (cost nothing to download). */
  deletedBytes: number;
  edits: number;
}

/**
 * `base` with `fraction` of its length changed in `edits` places spread over the file: in turn
 * an insertion (shifts the rest), an overwrite, a deletion plus insertion (a replaced file of
 * another size). Returns the new content and what changed.
 */
export function changeInstaller(
  base: Buffer,
  fraction = 0.01,
  edits = 12,
  seed = 'change',
): { content: Buffer; change: ChangeSummary } {
  const perEdit = Math.max(1, Math.floor((base.length * fraction) / edits));
  const parts: Buffer[] = [];
  let at = 0;
  let changedBytes = 0;
  let deletedBytes = 0;
  for (let e = 0; e < edits; e++) {
    // Spread over the file, off any round boundary.
    const where = Math.floor(((e + 0.5) / edits) * base.length) + 4093 * e;
    parts.push(base.subarray(at, where));
    const fresh = pseudoRandomBytes(perEdit, `${seed} ${e}`);
    parts.push(fresh);
    changedBytes += fresh.length;
    if (e % 3 === 0) {
      at = where; // insertion
    } else if (e % 3 === 1) {
      at = where + perEdit; // overwrite
    } else {
      const removed = Math.floor(perEdit / 2); // replacement by a larger part
      at = where + removed;
      deletedBytes += removed;
    }
  }
  parts.push(base.subarray(at));
  return { content: Buffer.concat(parts), change: { changedBytes, deletedBytes, edits } };
}

/** Bytes a client holding the old file's chunks must download for the new file: chunks whose hash it lacks. */
export function bytesToDownload(oldChunks: readonly Chunk[], newChunks: readonly Chunk[]): number {
  const have = new Set(oldChunks.map((c) => Buffer.from(c.sha256).toString('hex')));
  let bytes = 0;
  for (const c of newChunks) if (!have.has(Buffer.from(c.sha256).toString('hex'))) bytes += c.length;
  return bytes;
}

/** electron-builder's blockmap file (gzip JSON: per file, base64 checksums and sizes). */
export interface BlockMap {
  version: string;
  files: Array<{ name: string; offset: number; checksums: string[]; sizes: number[] }>;
}

export function readBlockMap(gzipped: Uint8Array): BlockMap {
  return JSON.parse(gunzipSync(gzipped).toString('utf8')) as BlockMap;
}

/** The same count for electron-builder's blockmaps: blocks of the new file whose checksum the old one lacks. */
export function blockMapBytesToDownload(oldMap: BlockMap, newMap: BlockMap): number {
  const have = new Set(oldMap.files.flatMap((f) => f.checksums));
  let bytes = 0;
  for (const f of newMap.files) f.checksums.forEach((c, i) => (bytes += have.has(c) ? 0 : f.sizes[i]));
  return bytes;
}
