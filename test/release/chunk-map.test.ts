import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_MAP_MAX_BYTES,
  chunkMapTargetPath,
  parseChunkMap,
  serializeChunkMap,
  type ChunkMap,
} from '../../updater/release/chunk-map.js';
import { DeserializationError, ValueError } from '../../updater/core/errors.js';

function mapOf(parts: Buffer[]): ChunkMap {
  const whole = Buffer.concat(parts);
  let offset = 0;
  const chunks = parts.map((p) => {
    const c = { offset, length: p.length, sha256: new Uint8Array(createHash('sha256').update(p).digest()) };
    offset += p.length;
    return c;
  });
  return {
    format: 1,
    chunking: 'test',
    file: { length: whole.length, sha256: createHash('sha256').update(whole).digest('hex') },
    chunks,
  };
}

function docOf(map: ChunkMap): Record<string, unknown> {
  return JSON.parse(Buffer.from(serializeChunkMap(map)).toString('utf8')) as Record<string, unknown>;
}

const bytesOf = (doc: unknown) => Buffer.from(JSON.stringify(doc), 'utf8');

describe('chunk map', () => {
  const map = mapOf([Buffer.from('hello '), Buffer.from('chunked '), Buffer.from('world')]);

  it('round-trips: offsets are the running sum of lengths', () => {
    const parsed = parseChunkMap(serializeChunkMap(map));
    expect(parsed.file).toEqual(map.file);
    expect(parsed.chunks.map((c) => [c.offset, c.length])).toEqual([
      [0, 6],
      [6, 8],
      [14, 5],
    ]);
    expect(Buffer.from(parsed.chunks[1].sha256)).toEqual(Buffer.from(map.chunks[1].sha256));
  });

  it('serializes the same map to the same bytes', () => {
    expect(Buffer.from(serializeChunkMap(map))).toEqual(
      Buffer.from(serializeChunkMap(parseChunkMap(serializeChunkMap(map)))),
    );
  });

  it('names the map beside its installer', () => {
    expect(chunkMapTargetPath('1.0.1/App-1.0.1.AppImage')).toBe('1.0.1/App-1.0.1.AppImage.chunks.json');
  });

  const record = (length: number) => {
    const b = Buffer.alloc(36);
    b.writeUInt32BE(length, 0);
    return b;
  };
  const broken: Array<[string, (doc: Record<string, unknown>) => unknown]> = [
    ['not JSON', () => '{'],
    ['another format', (d) => ({ ...d, format: 2 })],
    ['chunks short of the file', (d) => ({ ...d, file: { ...(d.file as object), length: 20 } })],
    ['chunks past the file', (d) => ({ ...d, file: { ...(d.file as object), length: 18 } })],
    [
      'a zero-length chunk',
      (d) => ({ ...d, file: { ...(d.file as object), length: 0 }, chunks: record(0).toString('base64') }),
    ],
    [
      'a chunk over 4 MiB',
      (d) => ({ ...d, file: { ...(d.file as object), length: 5 << 20 }, chunks: record(5 << 20).toString('base64') }),
    ],
    ['a torn record', (d) => ({ ...d, chunks: Buffer.alloc(35).toString('base64') })],
    ['chunks not base64', (d) => ({ ...d, chunks: '!!!!' })],
    ['an uppercase hash', (d) => ({ ...d, file: { ...(d.file as object), sha256: 'A'.repeat(64) } })],
    ['a missing file', (d) => ({ ...d, file: undefined })],
    ['a float length', (d) => ({ ...d, file: { ...(d.file as object), length: 19.5 } })],
  ];
  it.each(broken)('refuses %s', (_name, edit) => {
    const doc = edit(docOf(map));
    const bytes = typeof doc === 'string' ? Buffer.from(doc) : bytesOf(doc);
    expect(() => parseChunkMap(bytes)).toThrow(DeserializationError);
  });

  it('refuses an oversized map before parsing it', () => {
    expect(() => parseChunkMap(new Uint8Array(CHUNK_MAP_MAX_BYTES + 1))).toThrow(/too large/);
  });

  it('refuses to serialize chunks that do not tile the file', () => {
    const gap = { ...map, chunks: [map.chunks[0], map.chunks[2]] };
    expect(() => serializeChunkMap(gap)).toThrow(ValueError);
  });
});
