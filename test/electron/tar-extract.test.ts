import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeserializationError } from '../../updater/core/errors.js';
import { extractTarGz, safeRelativePath } from '../../updater/electron/installers/tar-extract.js';
import { cleanupTempDirs, tempDir } from './fixtures.js';

interface EntryOptions {
  type?: string;
  mode?: number;
  linkname?: string;
  data?: string | Buffer;
}

/** One ustar entry: header, data, padding. Written by hand so tests can build hostile archives. */
function entry(name: string, options: EntryOptions = {}): Buffer {
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

function tarGz(...entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
}

function pax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = Buffer.byteLength(` ${k}=${v}\n`);
    let len = rest + 1;
    while (String(len).length + rest !== len) len = String(len).length + rest;
    body += `${len} ${k}=${v}\n`;
  }
  return entry('PaxHeader', { type: 'x', data: body });
}

let work: string;
let dest: string;

beforeEach(async () => {
  work = await tempDir('etuf-tar-');
  dest = join(work, 'out', 'dest');
  await mkdir(dest, { recursive: true });
});
afterEach(cleanupTempDirs);

async function extract(archive: Buffer, limits?: { maxEntries: number; maxTotalBytes: number }): Promise<void> {
  const file = join(work, 'a.tar.gz');
  await writeFile(file, archive);
  await extractTarGz(file, dest, limits);
}

/** Whatever happened, nothing may appear next to dest (the one place an escape would land). */
async function expectNothingOutside(): Promise<void> {
  expect(await readdir(join(work, 'out'))).toEqual(['dest']);
}

describe('extractTarGz', () => {
  it('extracts files, directories, modes, relative symlinks and hard links', async () => {
    await extract(
      tarGz(
        entry('app/', { type: '5', mode: 0o755 }),
        entry('app/myapp', { mode: 0o4755, data: '#!/bin/sh\necho hi\n' }),
        entry('app/resources/app.asar', { data: 'asar' }),
        entry('app/lib/libx.so.1', { data: 'lib' }),
        entry('app/lib/libx.so', { type: '2', linkname: 'libx.so.1' }),
        entry('app/copy', { type: '1', linkname: 'app/resources/app.asar' }),
      ),
    );
    expect(await readFile(join(dest, 'app/myapp'), 'utf8')).toContain('echo hi');
    const mode = (await stat(join(dest, 'app/myapp'))).mode;
    expect(mode & 0o111).not.toBe(0);
    expect(mode & 0o4000).toBe(0); // setuid from an archive is dropped
    expect(await readFile(join(dest, 'app/resources/app.asar'), 'utf8')).toBe('asar');
    expect(await readlink(join(dest, 'app/lib/libx.so'))).toBe('libx.so.1');
    expect((await stat(join(dest, 'app/copy'))).ino).toBe((await stat(join(dest, 'app/resources/app.asar'))).ino);
  });

  it('reads GNU long names and pax paths', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    await extract(
      tarGz(
        entry('././@LongLink', { type: 'L', data: long + '\0' }),
        entry('truncated', { data: 'gnu' }),
        pax({ path: 'pax/über-long-name.txt' }),
        entry('ignored-name', { data: 'pax' }),
      ),
    );
    expect(await readFile(join(dest, long), 'utf8')).toBe('gnu');
    expect(await readFile(join(dest, 'pax/über-long-name.txt'), 'utf8')).toBe('pax');
  });

  it('extracts what GNU tar writes', async () => {
    const src = join(work, 'src');
    await mkdir(join(src, 'MyApp-1.1.0', 'resources'), { recursive: true });
    await writeFile(join(src, 'MyApp-1.1.0', 'myapp'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(src, 'MyApp-1.1.0', 'resources', 'x'.repeat(150)), 'long');
    const archive = join(work, 'gnu.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', src, 'MyApp-1.1.0']);
    await extractTarGz(archive, dest);
    expect((await stat(join(dest, 'MyApp-1.1.0', 'myapp'))).mode & 0o111).not.toBe(0);
    expect(await readFile(join(dest, 'MyApp-1.1.0', 'resources', 'x'.repeat(150)), 'utf8')).toBe('long');
  });

  const hostile: Array<[string, Buffer]> = [
    ['an absolute path', tarGz(entry('/tmp/evil', { data: 'x' }))],
    ['a .. path', tarGz(entry('app/../../evil', { data: 'x' }))],
    ['a pax path with ..', tarGz(pax({ path: '../evil' }), entry('fine', { data: 'x' }))],
    ['an absolute symlink', tarGz(entry('link', { type: '2', linkname: '/etc' }))],
    ['a symlink out of the tree', tarGz(entry('a/link', { type: '2', linkname: '../../evil' }))],
    ['a file written through a symlink', tarGz(entry('link', { type: '2', linkname: '.' }), entry('link/evil', { data: 'x' }))],
    ['a symlink chain that resolves outside', tarGz(entry('d', { type: '2', linkname: '.' }), entry('e', { type: '2', linkname: 'd/..' }))],
    ['a dangling symlink', tarGz(entry('gone', { type: '2', linkname: 'nothing-here' }))],
    ['a hard link to something not extracted', tarGz(entry('h', { type: '1', linkname: '../../etc/passwd' }))],
    ['a device', tarGz(entry('dev', { type: '3' }))],
    ['a FIFO', tarGz(entry('fifo', { type: '6' }))],
    ['a duplicate entry', tarGz(entry('f', { data: 'a' }), entry('f', { data: 'b' }))],
    ['a file below a file', tarGz(entry('f', { data: 'a' }), entry('f/g', { data: 'b' }))],
    ['a backslash path', tarGz(entry('..\\evil', { data: 'x' }))],
  ];
  for (const [what, archive] of hostile) {
    it(`refuses ${what}`, async () => {
      await expect(extract(archive)).rejects.toThrow(DeserializationError);
      await expectNothingOutside();
    });
  }

  it('refuses a bad header checksum, a truncated archive and non-gzip data', async () => {
    const bad = entry('f', { data: 'x' });
    bad[0] ^= 1;
    await expect(extract(tarGz(bad))).rejects.toThrow(/checksum/);
    const whole = Buffer.concat([entry('f', { data: 'x'.repeat(2000) })]);
    await expect(extract(gzipSync(whole.subarray(0, 1024)))).rejects.toThrow(/truncated|ends inside/);
    await expect(extract(Buffer.from('not gzip at all'))).rejects.toThrow(DeserializationError);
  });

  it('enforces the entry count and expanded size bounds', async () => {
    const many = tarGz(entry('a', { data: '1' }), entry('b', { data: '2' }), entry('c', { data: '3' }));
    await expect(extract(many, { maxEntries: 2, maxTotalBytes: 1000 })).rejects.toThrow(/entries/);
    const big = tarGz(entry('a', { data: 'x'.repeat(2000) }));
    await expect(extract(big, { maxEntries: 10, maxTotalBytes: 1000 })).rejects.toThrow(/expands/);
  });

  it('normalizes harmless path forms', () => {
    expect(safeRelativePath('./a//b/./c/')).toBe('a/b/c');
    expect(safeRelativePath('./')).toBe('');
    expect(() => safeRelativePath('a/../b')).toThrow(DeserializationError);
  });

  it('leaves nothing behind through a symlink even when the entry after it fails', async () => {
    await expect(extract(tarGz(entry('x', { type: '2', linkname: '.' }), entry('x/y/z', { data: 'x' })))).rejects.toThrow(/below the symlink/);
    expect((await lstat(join(dest, 'x'))).isSymbolicLink()).toBe(true);
    await expectNothingOutside();
  });
});
