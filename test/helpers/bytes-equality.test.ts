/** The byte-array equality every test file gets (test/helpers/bytes-equality.ts) decides as vitest's own does. */
import { describe, expect, it } from 'vitest';
import { bytesEqual } from './bytes-equality.js';

const MIB = 1024 * 1024;

describe('byte arrays in toEqual', () => {
  it('equal bytes are equal, one changed byte or a different length is not', () => {
    const a = Buffer.alloc(MIB, 7);
    expect(a).toEqual(Buffer.alloc(MIB, 7));
    const changed = Buffer.alloc(MIB, 7);
    changed[MIB - 1] = 8;
    expect(a).not.toEqual(changed);
    expect(a).not.toEqual(Buffer.alloc(MIB - 1, 7));
    expect(new Uint8Array([1, 2, 3])).toEqual(new Uint8Array([1, 2, 3]));
    expect(new Uint8Array([1, 2, 3])).not.toEqual(new Uint8Array([1, 2, 4]));
  });

  it('compares views by their own bytes, not their whole buffers', () => {
    const backing = Buffer.from([9, 1, 2, 3, 9]);
    expect(backing.subarray(1, 4)).toEqual(Buffer.from([1, 2, 3]));
    expect(new Uint8Array(backing.buffer, backing.byteOffset + 1, 3)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('inside objects, arrays and maps too', () => {
    const files = new Map([['a', Buffer.alloc(MIB, 1)]]);
    expect(files).toEqual(new Map([['a', Buffer.alloc(MIB, 1)]]));
    expect({ list: [Buffer.alloc(MIB, 1)] }).not.toEqual({ list: [Buffer.alloc(MIB, 2)] });
  });

  it('leaves a Buffer against a Uint8Array, and non-arrays, to vitest, which tells them apart', () => {
    expect(bytesEqual(Buffer.from([1]), new Uint8Array([1]))).toBeUndefined();
    expect(bytesEqual('ab', Buffer.from('ab'))).toBeUndefined();
    expect(Buffer.from([1, 2])).not.toEqual(new Uint8Array([1, 2]));
    expect(Buffer.from([1, 2])).not.toStrictEqual(new Uint8Array([1, 2]));
  });
});
