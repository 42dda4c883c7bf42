import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeserializationError } from '../../updater/core/errors.js';
import { extractTarGz, safeRelativePath } from '../../updater/electron/installers/tar-extract.js';
import { cleanupTempDirs, tempDir } from './fixtures.js';
import { deepPathArchive, entry, pax, tarGz } from './tar-fixtures.js';

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
    [
      'a file written through a symlink',
      tarGz(entry('link', { type: '2', linkname: '.' }), entry('link/evil', { data: 'x' })),
    ],
    [
      'a symlink chain that resolves outside',
      tarGz(entry('d', { type: '2', linkname: '.' }), entry('e', { type: '2', linkname: 'd/..' })),
    ],
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

  // Issue 11 finding 6: implied directories were free, and each was kept under its full path.
  it('refuses the 1.3 KB deep-path archive (50 files 1,990 directories down) before making anything', async () => {
    const archive = deepPathArchive();
    expect(archive.length).toBeLessThan(2048);
    await expect(extract(archive)).rejects.toThrow(DeserializationError);
    await expect(extract(archive)).rejects.toThrow(/more than 64 levels deep|longer than 1024 bytes/);
    expect(await readdir(dest)).toEqual([]);
    await expectNothingOutside();
  });

  it('bounds depth and path length separately, and says which', async () => {
    // depth counts directories: 64 of them and the file are 65 segments.
    await expect(extract(deepPathArchive(1, 64))).rejects.toThrow(/more than 64 levels deep/);
    await expect(extract(tarGz(pax({ path: `d/${'n'.repeat(1100)}` }), entry('f', { data: 'x' })))).rejects.toThrow(
      /longer than 1024 bytes/,
    );
    expect(await readdir(dest)).toEqual([]);
    await expect(extract(deepPathArchive(1, 63))).resolves.toBeUndefined();
    expect(await readFile(join(dest, '0000', ...Array<string>(62).fill('a'), 'f'), 'utf8')).toBe('x');
  });

  it('counts the directories an entry implies toward maxEntries', async () => {
    // 3 files, each 11 implied directories down: 36 entries in all.
    const archive = deepPathArchive(3, 11);
    await expect(extract(archive, { maxEntries: 35, maxTotalBytes: 1000 })).rejects.toThrow(/more than 35 entries/);
    await rm(dest, { recursive: true });
    await mkdir(dest);
    await expect(extract(archive, { maxEntries: 36, maxTotalBytes: 1000 })).resolves.toBeUndefined();
  });

  it('normalizes harmless path forms', () => {
    expect(safeRelativePath('./a//b/./c/')).toBe('a/b/c');
    expect(safeRelativePath('./')).toBe('');
    expect(() => safeRelativePath('a/../b')).toThrow(DeserializationError);
  });

  it('leaves nothing behind through a symlink even when the entry after it fails', async () => {
    await expect(
      extract(tarGz(entry('x', { type: '2', linkname: '.' }), entry('x/y/z', { data: 'x' }))),
    ).rejects.toThrow(/below the symlink/);
    expect((await lstat(join(dest, 'x'))).isSymbolicLink()).toBe(true);
    await expectNothingOutside();
  });
});
