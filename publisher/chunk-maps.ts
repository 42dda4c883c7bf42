/**
 * Chunk maps on the publisher's side (docs/differential-updates.md): which installers get one,
 * making it while the installer is hashed and copied, and checking a published one against its
 * installer (`repo verify`).
 *
 * The map is a target of its own at `chunkMapTargetPath(installer)`, signed like the installer,
 * and the installer's signed `custom.chunkMap` names it. It also records the installer's length
 * and SHA-256, so a map can never be taken for another installer's.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { ValueError } from '../updater/core/errors.js';
import {
  CHUNK_MAP_FORMAT,
  CHUNK_MAP_MAX_BYTES,
  parseChunkMap,
  serializeChunkMap,
  type ChunkMap,
  type InstallerKind,
} from '../updater/release/index.js';
import { Chunker } from './chunker.js';
import type { RepositoryPaths } from './layout.js';
import { discard, hashAndCopy, stageBytes, type IncomingFile, type StageOptions } from './target-store.js';
import { cleanupAfterFailure } from './cleanup.js';

/**
 * Installer kinds that get a map, by measurement (docs/differential-updates.md, "Which
 * installers"): zip (each file compressed alone), AppImage (squashfs, compressed per block) and
 * NSIS (electron-builder's 7z package, made for differential updates) keep unchanged parts
 * byte-identical; tar.gz is one gzip stream, so only what precedes the first change is reused,
 * which in electron-builder's archives was nearly all of it (the app comes after Electron's
 * binaries), and a map costs ~0.3 % of the installer. deb, rpm and dmg cannot be built and
 * measured here: no map until they are.
 */
export const CHUNK_MAP_KINDS: ReadonlySet<InstallerKind> = new Set<InstallerKind>([
  'zip',
  'tar.gz',
  'AppImage',
  'nsis',
]);

/**
 * Installers smaller than this get no chunk map, whatever their kind (docs/differential-updates.md,
 * "Which installers"): at most 128 chunks of the 8 KiB average, a full download of under 1 MiB
 * costs less than the differential path's two map downloads and range requests, and the map
 * would be a second target (two more objects, one more entry in signed metadata) for every such
 * installer. Real Electron installers are 50 MB and more. Applied here, in staging, so the CLI,
 * the electron-builder hook, the library and the service agree.
 */
export const CHUNK_MAP_MIN_BYTES = 1024 * 1024;

/** Whether an installer of `kind` gets a chunk map, unless maps are turned off (and if it is large enough: stageInstaller). */
export function wantsChunkMap(kind: InstallerKind, enabled = true): boolean {
  return enabled && CHUNK_MAP_KINDS.has(kind);
}

/**
 * Hashes and copies an installer into .incoming as `hashAndCopy` does and, with `chunkMap`,
 * chunks the same bytes in the same pass and stages its chunk map beside it (`.chunkMap`),
 * unless the installer turns out smaller than CHUNK_MAP_MIN_BYTES (decided on the bytes read,
 * not on a size looked up before).
 */
export async function stageInstaller(
  paths: RepositoryPaths,
  source: string,
  chunkMap: boolean,
  options: StageOptions = {},
): Promise<IncomingFile> {
  if (!chunkMap) return hashAndCopy(paths, source, undefined, options);
  const chunker = new Chunker();
  const incoming = await hashAndCopy(paths, source, (bytes) => chunker.push(bytes), options);
  if (incoming.length < CHUNK_MAP_MIN_BYTES) return incoming;
  try {
    const map: ChunkMap = {
      format: CHUNK_MAP_FORMAT,
      chunking: chunker.description,
      file: { length: incoming.length, sha256: incoming.hashes.sha256 },
      chunks: chunker.finish(),
    };
    const bytes = serializeChunkMap(map);
    if (bytes.length > CHUNK_MAP_MAX_BYTES)
      throw new ValueError(`${source} is too large for a chunk map; publish it without one (--no-chunk-map)`);
    incoming.chunkMap = await stageBytes(paths, bytes, options);
    return incoming;
  } catch (error) {
    await cleanupAfterFailure(error, () => discard(incoming));
    throw error;
  }
}

/**
 * Problems with a published chunk map (empty: none): it must parse, describe exactly the
 * installer's length and SHA-256 and, when `installerFile` is given, each chunk's SHA-256 must
 * be that of the installer's bytes at its offset.
 */
export async function chunkMapProblems(
  mapBytes: Uint8Array,
  installer: { path: string; length: number; sha256: string | undefined },
  installerFile?: string,
): Promise<string[]> {
  let map: ChunkMap;
  try {
    map = parseChunkMap(mapBytes);
  } catch (error) {
    return [`${installer.path}: its chunk map does not parse: ${(error as Error).message}`];
  }
  if (map.file.length !== installer.length || map.file.sha256 !== installer.sha256)
    return [
      `${installer.path}: its chunk map describes another file (${map.file.length} bytes, sha256 ${map.file.sha256})`,
    ];
  if (installerFile === undefined) return [];
  const bad = await firstMismatchedChunk(map, installerFile);
  return bad === undefined ? [] : [`${installer.path}: chunk ${bad} of its chunk map does not match the installer`];
}

/** Streams the installer once, hashing chunk by chunk; the index of the first chunk that differs. */
async function firstMismatchedChunk(map: ChunkMap, file: string): Promise<number | undefined> {
  let index = 0;
  let filled = 0;
  let hash = createHash('sha256');
  const finishChunk = (): boolean => {
    const ok = hash.digest().equals(map.chunks[index].sha256);
    index++;
    filled = 0;
    hash = createHash('sha256');
    return ok;
  };
  for await (const data of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < data.length) {
      if (index >= map.chunks.length) return index;
      const take = Math.min(map.chunks[index].length - filled, data.length - at);
      hash.update(data.subarray(at, at + take));
      at += take;
      filled += take;
      if (filled === map.chunks[index].length && !finishChunk()) return index - 1;
    }
  }
  return index === map.chunks.length ? undefined : index;
}
