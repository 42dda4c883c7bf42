/**
 * The tar format as tar-extract.ts reads it: 512-byte ustar headers (checksum, octal fields,
 * the ustar prefix), GNU long names and links ('L', 'K') and pax records ('x'; path, linkpath
 * and size), each metadata entry bounded in memory. What an entry may do to the file system is
 * decided by the extractor, not here.
 */
import { DeserializationError } from '../../core/errors.js';
import type { ByteReader } from './byte-reader.js';

const BLOCK = 512;
/** GNU long names and pax headers are metadata, kept in memory: bound them. */
const MAX_META_BYTES = 64 * 1024;

export interface Header {
  name: string;
  linkname: string;
  mode: number;
  size: number;
  type: string;
}

/**
 * The entry loop: pending long names and pax records apply to the next real entry only. `add`
 * gets each real entry with the reader at its data, and says whether it read that data.
 */
export async function readEntries(reader: ByteReader, add: (entry: Header) => Promise<boolean>): Promise<void> {
  let override: { path?: string; linkpath?: string; size?: number } = {};
  for (;;) {
    const block = await reader.read(BLOCK);
    if (!block || isZeroBlock(block)) return; // end of archive (a missing end marker is tolerated, as GNU tar does)
    const header = parseHeader(block);
    const size = override.size ?? header.size;
    switch (header.type) {
      case 'L':
        override.path = cString(await readMeta(reader, size));
        continue;
      case 'K':
        override.linkpath = cString(await readMeta(reader, size));
        continue;
      case 'x':
        override = { ...override, ...parsePax(await readMeta(reader, size)) };
        continue;
      case 'g':
        await readMeta(reader, size); // global pax defaults: nothing we use
        continue;
    }
    const entry = {
      ...header,
      name: override.path ?? header.name,
      linkname: override.linkpath ?? header.linkname,
      size,
    };
    override = {};
    const consumed = await add(entry); // whether it read the entry's data
    await reader.skip((consumed ? 0 : entry.size) + padding(entry.size));
  }
}

async function readMeta(reader: ByteReader, size: number): Promise<Buffer> {
  if (size > MAX_META_BYTES) throw new DeserializationError(`tar metadata entry of ${size} bytes`);
  const data = await reader.read(size);
  if (!data) throw new DeserializationError('tar archive ends inside a header');
  await reader.skip(padding(size));
  return data;
}

function parseHeader(block: Buffer): Header {
  const stored = octal(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0; // some old tars summed signed bytes; both are accepted, as GNU tar does
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw new DeserializationError('tar header checksum mismatch');
  const ustar = block.toString('latin1', 257, 262) === 'ustar';
  const prefix = ustar ? cString(block.subarray(345, 500)) : '';
  const name = cString(block.subarray(0, 100));
  const type = String.fromCharCode(block[156]);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    linkname: cString(block.subarray(157, 257)),
    mode: octal(block, 100, 8, 'mode'),
    size: octal(block, 124, 12, 'size'),
    type: type === '\0' ? '0' : type,
  };
}

function octal(block: Buffer, offset: number, length: number, field: string): number {
  if (block[offset] & 0x80)
    throw new DeserializationError(`tar ${field} in base-256 (entries over 8 GiB) is not supported`);
  const text = block
    .toString('latin1', offset, offset + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]*$/.test(text)) throw new DeserializationError(`tar ${field} field is not octal`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end === -1 ? bytes.length : end);
}

/** pax records: `<length> <key>=<value>\n`; only path, linkpath and size matter here. */
function parsePax(data: Buffer): { path?: string; linkpath?: string; size?: number } {
  const out: { path?: string; linkpath?: string; size?: number } = {};
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > data.length)
      throw new DeserializationError('malformed pax header');
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
        throw new DeserializationError('malformed pax size');
      out.size = Number(value);
    }
    at += length;
  }
  return out;
}

function isZeroBlock(block: Buffer): boolean {
  return block.every((b) => b === 0);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
