/**
 * Tar archives built by hand, so tests can make hostile ones (tar-extract.test.ts,
 * linux-install.test.ts).
 */
import { gzipSync } from 'node:zlib';

export interface EntryOptions {
  type?: string;
  mode?: number;
  linkname?: string;
  data?: string | Buffer;
}

/** One ustar entry: header, data, padding. Written by hand so tests can build hostile archives. */
export function entry(name: string, options: EntryOptions = {}): Buffer {
  const data = Buffer.from(options.data ?? '');
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(((options.mode ?? 0o644) & 0o7777).toString(8).padStart(7, '0') + '\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  header.write('00000000000\0', 136, 'latin1');
  header.write(options.type ?? '0', 156, 'latin1');
  header.write(options.linkname ?? '', 157, 100, 'utf8');
  header.write('ustar\0' + '00', 257, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding]);
}

export function tarGz(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

export function pax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = Buffer.byteLength(` ${k}=${v}\n`);
    let len = rest + 1;
    while (String(len).length + rest !== len) len = String(len).length + rest;
    body += `${len} ${k}=${v}\n`;
  }
  return entry('PaxHeader', { type: 'x', data: body });
}

/**
 * Issue 11 finding 6: `count` files each `depth` directories down (`0000/a/a/.../a/f`, a pax
 * path each); every directory is implied, none is an entry. 50 x 1,990 is 1.3 KB gzipped and
 * asked the old extractor for 99,551 directories.
 */
export function deepPathArchive(count = 50, depth = 1990): Buffer {
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const path = [String(i).padStart(4, '0'), ...Array<string>(depth - 1).fill('a'), 'f'].join('/');
    entries.push(pax({ path }), entry('f', { data: 'x' }));
  }
  return tarGz(...entries);
}
