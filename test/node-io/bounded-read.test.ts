import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../updater/core/errors.js';
import { isSystemFailure, readFileBounded } from '../../updater/node-io/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tuf-bounded-read-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readFileBounded', () => {
  it('reads a file up to and including the bound', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, Buffer.alloc(100, 7));
    expect(await readFileBounded(path, 100)).toEqual(new Uint8Array(100).fill(7));
    writeFileSync(path, '');
    expect(await readFileBounded(path, 0)).toEqual(new Uint8Array(0));
  });

  it('refuses a file larger than the bound with StorageError', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, Buffer.alloc(101));
    await expect(readFileBounded(path, 100)).rejects.toBeInstanceOf(StorageError);
  });

  it('resolves undefined for a missing file', async () => {
    expect(await readFileBounded(join(dir, 'nothing'), 10)).toBeUndefined();
  });

  it('refuses a directory', async () => {
    await expect(readFileBounded(dir, 10)).rejects.toBeInstanceOf(StorageError);
  });

  it('does not hang on a FIFO planted at the name', async () => {
    if (process.platform === 'win32') return; // no mkfifo
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(readFileBounded(fifo, 10)).rejects.toBeInstanceOf(StorageError);
  });

  it('refuses a negative or fractional bound', async () => {
    await expect(readFileBounded(join(dir, 'f'), -1)).rejects.toBeInstanceOf(StorageError);
    await expect(readFileBounded(join(dir, 'f'), 1.5)).rejects.toBeInstanceOf(StorageError);
  });

  it('keeps the system error as cause, so callers can tell a failing disk from a refused file', async () => {
    const loop = join(dir, 'loop');
    symlinkSync(loop, loop); // ELOOP on open
    const failing = await readFileBounded(loop, 10).catch((e: unknown) => e);
    expect(failing).toBeInstanceOf(StorageError);
    expect((failing as Error).cause).toMatchObject({ code: 'ELOOP' });
    expect(isSystemFailure(failing)).toBe(true);
    const path = join(dir, 'f');
    writeFileSync(path, Buffer.alloc(11));
    expect(isSystemFailure(await readFileBounded(path, 10).catch((e: unknown) => e))).toBe(false);
    expect(isSystemFailure(await readFileBounded(dir, 10).catch((e: unknown) => e))).toBe(false);
  });
});
