import { describe, expect, it } from 'vitest';
import { planDifferential } from '../../updater/electron/differential-plan.js';
import type { Chunk } from '../../updater/release/chunk-map.js';
import { chunkMapOf, pseudoRandomBytes } from '../helpers/chunk-maps.js';

const KIB = 1024;
const OLD = pseudoRandomBytes(256 * KIB, 'plan old');
const fixed = (bytes: Uint8Array, size = 4 * KIB) => chunkMapOf(bytes, { fixed: size });

/** OLD with the 4 KiB blocks at `blocks` replaced. */
function withBlocksChanged(blocks: number[]): Buffer {
  const copy = Buffer.from(OLD);
  for (const b of blocks) pseudoRandomBytes(4 * KIB, `changed ${b}`).copy(copy, b * 4 * KIB);
  return copy;
}

describe('planDifferential', () => {
  it('an unchanged file is all local: no request', () => {
    const plan = planDifferential(fixed(OLD), [fixed(OLD)]);
    expect(plan).toMatchObject({ remoteBytes: 0, localBytes: OLD.length, requests: 0 });
    // Consecutive local chunks are read in few, bounded reads.
    expect(plan.steps.every((s) => s.kind === 'local' && s.length <= 1 << 20)).toBe(true);
  });

  it('fetches exactly the changed chunks', () => {
    const plan = planDifferential(fixed(withBlocksChanged([3, 40])), [fixed(OLD)]);
    expect(plan.steps.filter((s) => s.kind === 'remote').map((s) => [s.start, s.length])).toEqual([
      [3 * 4 * KIB, 4 * KIB],
      [40 * 4 * KIB, 4 * KIB],
    ]);
    expect(plan.localBytes + plan.remoteBytes).toBe(OLD.length);
  });

  it('matches chunks by hash across different chunkings (and finds moved chunks)', () => {
    // New: the old file's second half first. Old map in 4 KiB chunks, new map in 8 KiB chunks.
    const moved = Buffer.concat([OLD.subarray(128 * KIB), OLD.subarray(0, 128 * KIB)]);
    const plan = planDifferential(fixed(moved, 8 * KIB), [fixed(OLD, 8 * KIB), fixed(OLD, 4 * KIB)]);
    expect(plan.remoteBytes).toBe(0);
    const first = plan.steps[0];
    expect(first).toMatchObject({ kind: 'local', basis: 0, sourceOffset: 128 * KIB });
    // With only 4 KiB chunks to look in, no 8 KiB chunk matches: everything is fetched.
    expect(planDifferential(fixed(moved, 8 * KIB), [fixed(OLD, 4 * KIB)]).localBytes).toBe(0);
  });

  it('merges two ranges separated by a short local stretch, within mergeGapBytes only', () => {
    const map = fixed(withBlocksChanged([10, 12]));
    expect(planDifferential(map, [fixed(OLD)], { mergeGapBytes: 4 * KIB })).toMatchObject({
      requests: 1,
      remoteBytes: 12 * KIB,
    });
    expect(planDifferential(map, [fixed(OLD)], { mergeGapBytes: 4 * KIB - 1 })).toMatchObject({
      requests: 2,
      remoteBytes: 8 * KIB,
    });
  });

  it('splits long ranges at chunk boundaries, at most maxRangeBytes each', () => {
    const plan = planDifferential(fixed(pseudoRandomBytes(OLD.length, 'all new')), [fixed(OLD)], {
      maxRangeBytes: 64 * KIB,
    });
    const remote = plan.steps.filter((s) => s.kind === 'remote');
    expect(remote.map((s) => s.length)).toEqual([64, 64, 64, 64].map((n) => n * KIB));
    expect(remote.every((s) => s.chunks.reduce((sum, c) => sum + c.length, 0) === s.length)).toBe(true);
  });

  it('a chunk matches only on its whole SHA-256 and length, not on the prefix the index is keyed by', () => {
    const base = fixed(OLD);
    const twisted = (chunk: Chunk, at: number): Chunk => {
      const sha256 = Uint8Array.from(chunk.sha256);
      sha256[at] ^= 1;
      return { ...chunk, sha256 };
    };
    // Chunk 0: same first 48 bits, another last byte; chunk 1: the same hash but another length
    // (the map still covers the file: chunk 2 gives up what chunk 1 takes); the rest unchanged.
    const [c0, c1, c2] = base.chunks;
    const chunks = [
      twisted(c0, 31),
      { ...c1, length: c1.length + 1 },
      { ...c2, offset: c2.offset + 1, length: c2.length - 1 },
      ...base.chunks.slice(3),
    ];
    const plan = planDifferential({ ...base, chunks }, [base]);
    expect(plan.steps[0]).toMatchObject({ kind: 'remote', start: 0, length: 3 * 4 * KIB });
    expect(plan).toMatchObject({ requests: 1, localBytes: OLD.length - 3 * 4 * KIB });
  });

  it('plans only what follows `from` (a resumed build)', () => {
    const plan = planDifferential(fixed(withBlocksChanged([3, 40])), [fixed(OLD)], { from: 20 * 4 * KIB });
    expect(plan.steps[0]).toMatchObject({ kind: 'local', sourceOffset: 20 * 4 * KIB });
    expect(plan).toMatchObject({ requests: 1, remoteBytes: 4 * KIB, localBytes: OLD.length - 21 * 4 * KIB });
  });
});
