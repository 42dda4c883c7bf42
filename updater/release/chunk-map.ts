/**
 * The chunk map of an installer: the contract between the publisher, which writes it as a signed
 * target beside the installer, and the app updater, which uses it to fetch only the chunks it
 * lacks (differential updates, docs/differential-updates.md).
 *
 * Unlike electron-updater's `.blockmap`, the map is a TUF target: its length and hashes are in
 * signed targets metadata, so a mirror can neither forge it nor swap in another release's map.
 * The map also names the installer it describes (length and sha256), so a signed map of another
 * installer is refused too.
 *
 * Format (JSON):
 * ```
 * { "format": 1,
 *   "chunking": "<algorithm and parameters, informational>",
 *   "file": { "length": <installer length>, "sha256": "<hex>" },
 *   "chunks": "<base64 of one 36-byte record per chunk: uint32 BE length, then its 32-byte sha256>" }
 * ```
 * Chunks are in file order; their offsets are the running sum of lengths, which must end at
 * `file.length`. The installer target's `custom.chunkMap` names the map's target path.
 */
import { DeserializationError, ValueError } from '../core/errors.js';
import { FieldReader } from '../core/fields.js';

export const CHUNK_MAP_FORMAT = 1;
/** Largest chunk a map may describe; content-defined chunkers cap their chunks far below this. */
export const CHUNK_MAX_LENGTH = 4 * 1024 * 1024;
/** Largest map accepted: ~460,000 chunks, enough for a 4 GiB installer at 8 KiB average. */
export const CHUNK_MAP_MAX_BYTES = 24 * 1024 * 1024;
const RECORD_BYTES = 36;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface Chunk {
  /** Where the chunk starts in the installer. */
  readonly offset: number;
  readonly length: number;
  /** SHA-256 of the chunk's bytes (32 bytes). */
  readonly sha256: Uint8Array;
}

export interface ChunkMap {
  readonly format: typeof CHUNK_MAP_FORMAT;
  readonly chunking: string;
  /** The installer this map describes. */
  readonly file: { readonly length: number; readonly sha256: string };
  readonly chunks: readonly Chunk[];
}

/** The target path of an installer's chunk map: beside it, so it shares the release's directory. */
export function chunkMapTargetPath(installerTarget: string): string {
  return `${installerTarget}.chunks.json`;
}

function decodeRecords(encoded: string, fileLength: number): Chunk[] {
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
    throw new DeserializationError('chunk map.chunks: expected base64');
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length % RECORD_BYTES !== 0) {
    throw new DeserializationError(`chunk map.chunks: expected ${RECORD_BYTES}-byte records`);
  }
  const chunks: Chunk[] = [];
  let offset = 0;
  for (let at = 0, i = 0; at < bytes.length; at += RECORD_BYTES, i++) {
    const length = bytes.readUInt32BE(at);
    if (length === 0 || length > CHUNK_MAX_LENGTH) {
      throw new DeserializationError(`chunk map: chunk ${i} has length ${length}`);
    }
    // A view into the decoded records, not a copy: one allocation for the whole map, not one
    // backing store per chunk (a 150 MB installer has ~17,000 chunks, parsed on the update's path).
    chunks.push({ offset, length, sha256: new Uint8Array(bytes.buffer, bytes.byteOffset + at + 4, 32) });
    offset += length;
    if (offset > fileLength) throw new DeserializationError('chunk map: chunks run past the file length');
  }
  if (offset !== fileLength) {
    throw new DeserializationError(`chunk map: chunks cover ${offset} bytes of ${fileLength}`);
  }
  return chunks;
}

/** Parses a chunk map downloaded (and verified) as a target. Its shape is still checked in full. */
export function parseChunkMap(bytes: Uint8Array): ChunkMap {
  if (bytes.length > CHUNK_MAP_MAX_BYTES) throw new DeserializationError('chunk map too large');
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new DeserializationError('chunk map is not valid JSON', { cause });
  }
  const r = FieldReader.of(doc, 'chunk map');
  if (r.integer('format') !== CHUNK_MAP_FORMAT) r.fail('format', `${CHUNK_MAP_FORMAT}`);
  const chunking = r.string('chunking');
  if (chunking.length > 200) r.fail('chunking', 'a short string');
  const f = FieldReader.of(r.raw('file'), 'chunk map.file');
  const length = f.integer('length');
  const sha256 = f.string('sha256');
  if (!SHA256_HEX.test(sha256)) f.fail('sha256', 'a lowercase hex SHA-256');
  return {
    format: CHUNK_MAP_FORMAT,
    chunking,
    file: { length, sha256 },
    chunks: decodeRecords(r.string('chunks'), length),
  };
}

/** The map's bytes: stable for the same chunks, so re-adding a release changes nothing. */
export function serializeChunkMap(map: ChunkMap): Uint8Array {
  const records = Buffer.alloc(map.chunks.length * RECORD_BYTES);
  let offset = 0;
  map.chunks.forEach((chunk, i) => {
    if (chunk.offset !== offset || chunk.length <= 0 || chunk.length > CHUNK_MAX_LENGTH || chunk.sha256.length !== 32) {
      throw new ValueError(`chunk ${i} does not follow the previous one or is malformed`);
    }
    records.writeUInt32BE(chunk.length, i * RECORD_BYTES);
    records.set(chunk.sha256, i * RECORD_BYTES + 4);
    offset += chunk.length;
  });
  if (offset !== map.file.length) throw new ValueError(`chunks cover ${offset} bytes of ${map.file.length}`);
  const doc = {
    format: CHUNK_MAP_FORMAT,
    chunking: map.chunking,
    file: { length: map.file.length, sha256: map.file.sha256 },
    chunks: records.toString('base64'),
  };
  return Buffer.from(JSON.stringify(doc) + '\n', 'utf8');
}
