import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Chunker, chunkBytes, DEFAULT_CHUNKING, describeChunking } from '../../publisher/chunker.js';
import { ValueError } from '../../updater/core/errors.js';
import type { Chunk } from '../../updater/release/chunk-map.js';
import { changeInstaller, pseudoRandomBytes, syntheticInstaller } from '../bench/lib/diff-fixtures.js';

const hex = (c: Chunk): string => Buffer.from(c.sha256).toString('hex');

/** Every chunk follows the last, is within bounds (the last may be short) and hashes its bytes. */
function expectValidChunks(data: Buffer, chunks: Chunk[]): void {
  let offset = 0;
  chunks.forEach((c, i) => {
    expect(c.offset).toBe(offset);
    expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKING.maxLength);
    if (i < chunks.length - 1) expect(c.length).toBeGreaterThanOrEqual(DEFAULT_CHUNKING.minLength);
    const digest = createHash('sha256')
      .update(data.subarray(c.offset, c.offset + c.length))
      .digest();
    expect(Buffer.from(c.sha256).equals(digest)).toBe(true);
    offset += c.length;
  });
  expect(offset).toBe(data.length);
}

describe('chunker', () => {
  const data = syntheticInstaller(3 * 1024 * 1024, 'chunker test');

  it('cuts a file into bounded chunks whose hashes are of their bytes', () => {
    const chunks = chunkBytes(data);
    expectValidChunks(data, chunks);
    const average = data.length / chunks.length;
    // Around the configured average (normalized chunking keeps it near), far from min and max.
    expect(average).toBeGreaterThan(DEFAULT_CHUNKING.averageLength / 2);
    expect(average).toBeLessThan(DEFAULT_CHUNKING.averageLength * 2);
  });

  it('finds the same cuts however the bytes are split into pushes', () => {
    const whole = chunkBytes(data).map(hex);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const chunker = new Chunker();
        let at = 0;
        for (let i = 0; at < data.length; i++) {
          const size = sizes[i % sizes.length];
          chunker.push(data.subarray(at, at + size));
          at += size;
        }
        expect(chunker.finish().map(hex)).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });

  it('keeps the chunks away from an insertion or deletion: the rest of the file is reused', () => {
    const before = chunkBytes(data);
    const { content } = changeInstaller(data, 0.01, 3, 'chunker test change');
    const after = chunkBytes(content);
    expectValidChunks(content, after);
    const known = new Set(before.map(hex));
    const fresh = after.filter((c) => !known.has(hex(c))).reduce((sum, c) => sum + c.length, 0);
    // 1 % changed in 3 places: at most the changed bytes plus, around each place, the two chunks
    // the change cuts into (each at most maxLength) before the cuts fall in step again.
    expect(fresh).toBeGreaterThan(0.01 * data.length * 0.9);
    expect(fresh).toBeLessThan(0.01 * data.length + 3 * 2 * DEFAULT_CHUNKING.maxLength);
  });

  it('is stable across versions: the cuts of a fixed input do not move', () => {
    // A changed gear table or mask would stop every new release from sharing chunks with the
    // releases published before it: this digest pins the algorithm.
    const chunks = chunkBytes(pseudoRandomBytes(512 * 1024, 'pinned'));
    const digest = createHash('sha256')
      .update(chunks.map((c) => `${c.length}:${hex(c)}`).join(','))
      .digest('hex');
    expect({ count: chunks.length, digest: digest.slice(0, 16) }).toEqual({ count: 56, digest: 'bcb78c52511d19b0' });
    expect(describeChunking(DEFAULT_CHUNKING)).toBe('fastcdc-gear32-nc2 min=2048 avg=8192 max=32768');
  });

  it('cuts runs of one byte value at the maximum length or finer, never longer', () => {
    const zeros = Buffer.alloc(300_000);
    expectValidChunks(zeros, chunkBytes(zeros));
  });

  it('handles empty and tiny files', () => {
    expect(chunkBytes(Buffer.alloc(0))).toEqual([]);
    const tiny = Buffer.from('tiny');
    expectValidChunks(tiny, chunkBytes(tiny));
    expect(chunkBytes(tiny)).toHaveLength(1);
  });

  it('refuses parameters that cannot make a valid map, and pushes after finish', () => {
    expect(() => new Chunker({ minLength: 4096, averageLength: 10000, maxLength: 65536 })).toThrow(ValueError);
    expect(() => new Chunker({ minLength: 16, averageLength: 1024, maxLength: 4096 })).toThrow(ValueError);
    expect(() => new Chunker({ minLength: 4096, averageLength: 16384, maxLength: 8 * 1024 * 1024 })).toThrow(
      ValueError,
    );
    const chunker = new Chunker();
    chunker.finish();
    expect(() => chunker.push(Buffer.from('late'))).toThrow(ValueError);
  });
});
