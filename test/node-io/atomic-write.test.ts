import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../updater/core/errors.js';
import { tempPathBeside, writeFileAtomic } from '../../updater/node-io/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tuf-atomic-write-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Rewrites `path` with alternating 2 MiB payloads while readers read it in a loop, and returns
 * every distinct content the readers saw.
 */
async function contentsSeenWhileRewriting(
  path: string,
  write: (path: string, data: Uint8Array) => Promise<void>,
): Promise<Set<string>> {
  const payloads = [Buffer.alloc(2 << 20, 'a'), Buffer.alloc(2 << 20, 'b')];
  await write(path, payloads[0]);
  let writing = true;
  const seen = new Set<string>();
  const reader = async () => {
    while (writing) {
      const data = await readFile(path).catch(() => Buffer.from('<missing>'));
      seen.add(`${data[0] === undefined ? '' : String.fromCharCode(data[0])}:${data.length}`);
    }
  };
  const readers = [reader(), reader(), reader()];
  for (let i = 0; i < 30; i++) await write(path, payloads[i % 2]);
  writing = false;
  await Promise.all(readers);
  return seen;
}

describe('writeFileAtomic', () => {
  it('writes the data and leaves no temp file behind', async () => {
    const path = join(dir, 'file.json');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, 'replaced');
    expect(readFileSync(path, 'utf8')).toBe('replaced');
    expect(readdirSync(dir)).toEqual(['file.json']);
  });

  it('never lets a concurrent reader see a missing or partial file', async () => {
    const seen = await contentsSeenWhileRewriting(join(dir, 'big'), writeFileAtomic);
    for (const content of seen) expect(['a:2097152', 'b:2097152']).toContain(content);
  });

  it('(the check above does catch a plain, non-atomic write)', async () => {
    const seen = await contentsSeenWhileRewriting(join(dir, 'big'), (p, d) => writeFile(p, d));
    expect([...seen].some((content) => !['a:2097152', 'b:2097152'].includes(content))).toBe(true);
  });

  it('applies the requested mode', async () => {
    if (process.platform === 'win32') return; // no POSIX modes
    const path = join(dir, 'secret');
    await writeFileAtomic(path, 'key', { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('fails with StorageError and cleans up its temp file when the rename fails', async () => {
    const path = join(dir, 'occupied');
    mkdirSync(join(path, 'child'), { recursive: true }); // a non-empty directory cannot be replaced
    await expect(writeFileAtomic(path, 'x')).rejects.toBeInstanceOf(StorageError);
    expect(readdirSync(dir)).toEqual(['occupied']);
  });

  it('fails with StorageError when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toBeInstanceOf(StorageError);
  });

  it('uses hidden, unique temp names that stay short for long file names', () => {
    const target = join(dir, 'n'.repeat(255));
    const a = tempPathBeside(target);
    expect(a).not.toBe(tempPathBeside(target));
    const name = a.slice(dir.length + 1);
    expect(name.startsWith('.')).toBe(true);
    expect(name.endsWith('.tmp')).toBe(true);
    expect(name.length).toBeLessThan(100);
  });
});
