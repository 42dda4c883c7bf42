/**
 * Chunk maps for tests and benchmarks of differential downloads, until the publisher makes
 * them itself: a small content-defined chunker (a gear rolling hash, as FastCDC uses; not
 * tuned), or fixed-size chunks. The app updater must not care which: it matches chunks by hash.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRelease, addTargets } from '../../publisher/index.js';
import { Updater } from '../../updater/client/updater.js';
import {
  CHUNK_MAX_LENGTH,
  chunkMapTargetPath,
  serializeChunkMap,
  type Chunk,
  type ChunkMap,
} from '../../updater/release/chunk-map.js';
import { installerTargetPath } from '../../updater/release/index.js';

export interface ChunkingOptions {
  /** Fixed-size chunks of this many bytes instead of content-defined ones. */
  fixed?: number;
  /** Content-defined: boundaries where the hash's low bits are zero; average about mask + 1 bytes. */
  mask?: number;
  min?: number;
  max?: number;
}

const GEAR = Array.from({ length: 256 }, (_, i) => createHash('sha256').update(`gear ${i}`).digest().readUInt32LE(0));

/** Chunk lengths of `bytes`, in order. */
export function chunkLengths(bytes: Uint8Array, options: ChunkingOptions = {}): number[] {
  if (options.fixed) {
    const lengths: number[] = [];
    for (let at = 0; at < bytes.length; at += options.fixed) lengths.push(Math.min(options.fixed, bytes.length - at));
    return lengths;
  }
  const mask = options.mask ?? 0x1fff;
  const min = options.min ?? 2048;
  const max = Math.min(options.max ?? 64 * 1024, CHUNK_MAX_LENGTH);
  const lengths: number[] = [];
  let start = 0;
  let hash = 0;
  for (let i = 0; i < bytes.length; i++) {
    hash = ((hash << 1) + GEAR[bytes[i]]) >>> 0;
    const length = i + 1 - start;
    if ((length >= min && (hash & mask) === 0) || length >= max) {
      lengths.push(length);
      start = i + 1;
      hash = 0;
    }
  }
  if (start < bytes.length) lengths.push(bytes.length - start);
  return lengths;
}

/** The chunk map of `bytes`. */
export function chunkMapOf(bytes: Uint8Array, options: ChunkingOptions = {}): ChunkMap {
  let offset = 0;
  const chunks: Chunk[] = chunkLengths(bytes, options).map((length) => {
    const sha256 = new Uint8Array(
      createHash('sha256')
        .update(bytes.subarray(offset, offset + length))
        .digest(),
    );
    const chunk = { offset, length, sha256 };
    offset += length;
    return chunk;
  });
  return {
    format: 1,
    chunking: options.fixed ? `fixed-${options.fixed}` : 'test-gear',
    file: { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    chunks,
  };
}

/** Deterministic pseudo-random bytes (compress badly, like an installer): xorshift32 from the seed's hash. */
export function pseudoRandomBytes(length: number, seed: string): Buffer {
  const out = Buffer.alloc(Math.ceil(length / 4) * 4);
  let x = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  for (let at = 0; at < out.length; at += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, at);
  }
  return out.subarray(0, length);
}

/**
 * A new version of `old`: `changedFraction` of its bytes overwritten in `regions` places spread
 * over the file, plus a small insertion near the start (which shifts every later byte, so only
 * content-defined chunks still match).
 */
export function changedCopy(old: Uint8Array, changedFraction: number, regions: number, seed: string): Buffer {
  const copy = Buffer.from(old);
  const regionLength = Math.max(1, Math.floor((old.length * changedFraction) / regions));
  for (let r = 0; r < regions; r++) {
    const at = Math.floor(((r + 0.5) * old.length) / regions);
    pseudoRandomBytes(Math.min(regionLength, old.length - at), `${seed}:${r}`).copy(copy, at);
  }
  const insertAt = Math.floor(old.length / 100);
  return Buffer.concat([copy.subarray(0, insertAt), Buffer.from(`inserted by ${seed}`), copy.subarray(insertAt)]);
}

/** A repository made with the publisher, and where a client reads its metadata. */
export interface PublisherRepo {
  repo: string;
  keys: string;
  metadataUrl: string;
  root: Uint8Array;
}

export interface PublishOptions {
  /** Publish a chunk map (default true), made with these options. */
  map?: false | ChunkingOptions;
  /** Publish these bytes as the map instead (a broken map, signed). */
  mapBytes?: Uint8Array;
  /** Sign this path as the installer's `custom.chunkMap` (e.g. another release's map). */
  chunkMapPath?: string;
}

/**
 * `repo add` of `installer` (a file named as the release's Linux tar.gz), then its chunk map
 * as a signed target beside it, named in the installer's custom (as `repo add` will do once
 * the publisher makes maps). Returns the map's bytes (undefined without one).
 */
export async function publishWithChunkMap(
  target: PublisherRepo,
  version: string,
  installer: string,
  bytes: Uint8Array,
  options: PublishOptions = {},
): Promise<Uint8Array | undefined> {
  const { repo, keys } = target;
  await addRelease({ repo, keys, files: [installer], version, platform: 'linux', arch: 'x64' });
  if (options.map === false) return undefined;
  const path = installerTargetPath(version, installer.slice(installer.lastIndexOf('/') + 1));
  const mapFile = `${installer}.chunks.json`;
  const mapBytes = options.mapBytes ?? serializeChunkMap(chunkMapOf(bytes, options.map ?? {}));
  await writeFile(mapFile, mapBytes);
  const custom = {
    ...(await signedCustomOf(target, path)),
    chunkMap: options.chunkMapPath ?? chunkMapTargetPath(path),
  };
  await addTargets({
    repo,
    keys,
    force: true,
    targets: [
      { path: chunkMapTargetPath(path), file: mapFile },
      { path, file: installer, custom },
    ],
  });
  return mapBytes;
}

/** The signed custom of a target, read as a client would. */
async function signedCustomOf(target: PublisherRepo, path: string): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'etuf-custom-'));
  try {
    const client = new Updater({ metadataDir: dir, metadataBaseUrl: target.metadataUrl, bootstrapRoot: target.root });
    await client.refresh();
    return (await client.getTargetInfo(path))!.custom as Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `bytes` as `<dir>/<name>` (the directory is made) and returns the path. */
export async function writeInstaller(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}
