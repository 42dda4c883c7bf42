/**
 * Runs before every test file (vitest.config.ts, setupFiles): byte arrays compared by content in
 * one call. vitest's toEqual walks a Buffer or Uint8Array key by key, about 10 s per MiB on a
 * loaded 2-core machine, and the tests compare downloaded installers of hundreds of KiB to MiBs.
 * The outcome is the same as vitest's own: equal when the lengths and bytes are. Arrays of two
 * different classes (a Buffer and a Uint8Array) are left to vitest, which tells them apart.
 */
import { expect } from 'vitest';

export function bytesEqual(a: unknown, b: unknown): boolean | undefined {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return undefined;
  if (a.constructor !== b.constructor) return undefined;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

expect.addEqualityTesters([bytesEqual]);
