/**
 * Chunk maps for tests and benchmarks of differential downloads. Releases are published with
 * `repo add`, which makes their maps (publisher/chunker.ts); a test that needs an unusual map
 * (fixed-size chunks: the app updater must not care how chunks were cut, it matches them by
 * hash) or a hostile one (broken bytes, another release's map) gets it made here, signed.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRelease, addTargets } from '../../publisher/index.js';
import { Updater } from '../../updater/client/updater.js';
import { chunkMapTargetPath, serializeChunkMap, type Chunk, type ChunkMap } from '../../updater/release/chunk-map.js';
import { installerTargetPath } from '../../updater/release/index.js';

/** A hand-made map: fixed-size chunks of this many bytes (the publisher's are content-defined). */
export interface ChunkingOptions {
  fixed: number;
}

/** Chunk lengths of `bytes`, in order. */
function chunkLengths(bytes: Uint8Array, { fixed }: ChunkingOptions): number[] {
  const lengths: number[] = [];
  for (let at = 0; at < bytes.length; at += fixed) lengths.push(Math.min(fixed, bytes.length - at));
  return lengths;
}

/** The chunk map of `bytes`. */
export function chunkMapOf(bytes: Uint8Array, options: ChunkingOptions): ChunkMap {
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
    chunking: `fixed-${options.fixed}`,
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
  /** false: publish without a map (`--no-chunk-map`); fixed-size chunks: a hand-made map instead of the publisher's. */
  map?: false | ChunkingOptions;
  /** Publish these bytes as the map instead (a broken map, signed). */
  mapBytes?: Uint8Array;
  /** Sign this path as the installer's `custom.chunkMap` (e.g. another release's map). */
  chunkMapPath?: string;
}

/**
 * `repo add` of `installer` (a file named as the release's Linux tar.gz), which makes its chunk
 * map; or, with a hand-made or hostile map in `options`, `repo add` without one and then that
 * map as a signed target beside it, named in the installer's custom. Returns the map's length
 * (undefined without one).
 */
export async function publishWithChunkMap(
  target: PublisherRepo,
  version: string,
  installer: string,
  bytes: Uint8Array,
  options: PublishOptions = {},
): Promise<{ length: number } | undefined> {
  const { repo, keys } = target;
  const handMade = options.map !== undefined || options.mapBytes !== undefined || options.chunkMapPath !== undefined;
  const added = await addRelease({
    repo,
    keys,
    files: [installer],
    version,
    platform: 'linux',
    arch: 'x64',
    chunkMap: !handMade,
  });
  if (!handMade) {
    const made = added.targets[0].chunkMap;
    if (!made) throw new Error(`repo add made no chunk map for ${installer}`);
    return { length: made.length };
  }
  if (options.map === false) return undefined;
  const path = installerTargetPath(version, installer.slice(installer.lastIndexOf('/') + 1));
  const mapFile = `${installer}.chunks.json`;
  const mapBytes = options.mapBytes ?? serializeChunkMap(chunkMapOf(bytes, options.map ?? { fixed: 4096 }));
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
  return { length: mapBytes.length };
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
