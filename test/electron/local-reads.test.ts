/**
 * The local reads of a differential build (updater/electron/local-reads.ts) reuse a small ring
 * of buffers: a buffer must not be refilled before the part file has written what it held.
 * Real files, a real PartFile writing behind, many more steps than buffers.
 */
import { createHash } from 'node:crypto';
import { open, readFile, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../updater/core/errors.js';
import { LengthAndHashVerifier } from '../../updater/core/hashes.js';
import { PartFile } from '../../updater/client/part-file.js';
import type { LocalStep } from '../../updater/electron/differential-plan.js';
import { localReads } from '../../updater/electron/local-reads.js';
import { pseudoRandomBytes } from '../helpers/chunk-maps.js';
import { cleanupTempDirs, tempDir } from './fixtures.js';

const KIB = 1024;
const BASES = [pseudoRandomBytes(2048 * KIB, 'local reads A'), pseudoRandomBytes(2048 * KIB, 'local reads B')];

let handles: FileHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.map((h) => h.close()));
  handles = [];
  await cleanupTempDirs();
});

/** Steps alternating between the two bases at scattered offsets, and the file they make. */
function scatteredSteps(count: number): { steps: LocalStep[]; expected: Buffer } {
  const steps: LocalStep[] = [];
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const basis = i % 2;
    // One step far larger than the rest: its ring slot must grow.
    const length = i === count / 2 ? 700 * KIB : 4 * KIB + ((i * 7919) % 60) * KIB;
    const sourceOffset = (i * 104_729) % (BASES[basis].length - length);
    const chunk = { offset: at, length, sha256: new Uint8Array(32) }; // only its place matters here
    steps.push({ kind: 'local', basis, sourceOffset, length, chunks: [chunk] });
    parts.push(BASES[basis].subarray(sourceOffset, sourceOffset + length));
    at += length;
  }
  return { steps, expected: Buffer.concat(parts) };
}

async function openBases(dir: string): Promise<void> {
  for (const [i, bytes] of BASES.entries()) {
    await writeFile(join(dir, `base-${i}`), bytes);
    handles.push(await open(join(dir, `base-${i}`), 'r'));
  }
}

async function partFor(dir: string, expected: Buffer): Promise<PartFile> {
  const sha256 = createHash('sha256').update(expected).digest('hex');
  // A small write-behind: appends keep waiting on writes while reads refill the ring.
  return PartFile.open(
    join(dir, 'new.part'),
    false,
    () => new LengthAndHashVerifier(expected.length, { sha256 }, 'new'),
    64 * KIB,
  );
}

describe('localReads', () => {
  it('many more steps than ring buffers: the file on disk is exactly the steps’ bytes, in order', async () => {
    const dir = await tempDir('etuf-local-reads-');
    await openBases(dir);
    const { steps, expected } = scatteredSteps(200);
    const part = await partFor(dir, expected);
    const reader = localReads(steps, handles, part);
    for (let i = 0; i < steps.length; i++) await part.append(await reader.next(), true);
    part.verify(); // what was hashed
    await part.commit(join(dir, 'new'));
    expect((await readFile(join(dir, 'new'))).equals(expected)).toBe(true); // what was written
  });

  it('a local installer that shrank while being read is a StorageError', async () => {
    const dir = await tempDir('etuf-local-reads-');
    await openBases(dir);
    const { steps, expected } = scatteredSteps(40);
    await truncate(join(dir, 'base-1'), 1024);
    const part = await partFor(dir, expected);
    const reader = localReads(steps, handles, part);
    await expect(
      (async () => {
        for (let i = 0; i < steps.length; i++) await part.append(await reader.next(), true);
      })(),
    ).rejects.toThrow(StorageError);
    await reader.settled();
    await part.discard();
  });
});
