/**
 * The local half of a differential build (differential-build.ts): the bytes of each local step
 * (a run of the new installer's chunks found in an earlier installer), read ahead of the writer
 * into a small ring of reused buffers.
 *
 * Why a ring and not a fresh buffer per read: on the differential-download bench (150 MB, 1 %
 * changed) reading the earlier installer into fresh 4 MiB buffers cost one page fault per 4 KiB
 * of each (37,000 more than a full download), the munmap of each when collected, and hashing
 * bytes that had just been written to memory the process had never touched: the differential
 * build spent more CPU than the full download it replaces. Reused buffers of 1 MiB stay mapped
 * and mostly in cache. A buffer is reused only once the bytes it held are on disk
 * (PartFile.writtenUpTo): the part file writes handed-over buffers as they are, after hashing.
 */
import type { FileHandle } from 'node:fs/promises';
import { StorageError } from '../core/errors.js';
import { onDisk, type PartFile } from '../client/part-file.js';
import { Ahead } from './ahead.js';
import type { LocalStep } from './differential-plan.js';

/** Reads started ahead of the consumer. */
const READ_AHEAD = 4;
/**
 * Buffers in the ring: a read may start only when the consumer has appended the step that used
 * its buffer last, and the consumer appends a step just after next() returns it, so READ_AHEAD
 * plus the step being appended plus one.
 */
const RING = READ_AHEAD + 2;

/**
 * The local steps' bytes, in order (Ahead.next()). Each is valid until the consumer has appended
 * READ_AHEAD more steps: hand it to the part file (which hashes it at once) and do not keep it.
 * `handles[step.basis]` is open on that step's earlier installer; `part` is where the steps go.
 */
export function localReads(
  steps: readonly LocalStep[],
  handles: readonly FileHandle[],
  part: Pick<PartFile, 'writtenUpTo'>,
): Ahead<LocalStep> {
  const ring: Buffer[] = [];
  return new Ahead(steps, READ_AHEAD, async (step, index) => {
    const slot = index % RING;
    if (index >= RING) await part.writtenUpTo(endInNewFile(steps[index - RING]));
    let buffer = ring[slot];
    // Steps are at most PlanOptions.maxReadBytes, or one larger chunk: grow a slot when needed.
    if (!buffer || buffer.length < step.length) buffer = ring[slot] = Buffer.allocUnsafeSlow(step.length);
    await readFully(handles[step.basis], buffer.subarray(0, step.length), step.sourceOffset);
    return buffer.subarray(0, step.length);
  });
}

/** Where the step's bytes end in the new installer. */
function endInNewFile(step: LocalStep): number {
  const last = step.chunks[step.chunks.length - 1];
  return last.offset + last.length;
}

/**
 * Fills `buffer` from `position` of a local installer. Not hashed chunk by chunk: the whole-file
 * check before commit refuses the result if the installer changed since its map was made, and
 * an interrupted build keeps only the chunks that match (differential-build.ts).
 */
async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let filled = 0; filled < buffer.length;) {
    const { bytesRead } = await onDisk('read a local installer', () =>
      handle.read(buffer, filled, buffer.length - filled, position + filled),
    );
    if (bytesRead === 0) throw new StorageError('a local installer shrank while being read');
    filled += bytesRead;
  }
}
