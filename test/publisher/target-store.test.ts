/**
 * Discarding staged copies: "already gone" is the only failure that is not one. Anything else
 * surfaces, and never in the place of the error a failed publish is unwinding from. The failure
 * used is a directory where the staged file should be (EISDIR), which root cannot bypass.
 */
import { once } from 'node:events';
import { mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError, ValueError } from '../../updater/core/errors.js';
import { cleanupAfter, cleanupAfterFailure } from '../../publisher/cleanup.js';
import { repositoryPaths } from '../../publisher/layout.js';
import { cleanIncoming, discard, hashAndCopy, stageBytes, type IncomingFile } from '../../publisher/target-store.js';
import { cleanupTemp, exists, tempDir } from './helpers.js';

afterAll(cleanupTemp);

/** A staged installer with its chunk map; `blocked` puts a directory where the installer's copy is. */
async function staged(blocked: boolean): Promise<IncomingFile> {
  const paths = repositoryPaths(join(await tempDir(), 'repo'));
  const file = await stageBytes(paths, Buffer.from('installer'));
  file.chunkMap = await stageBytes(paths, Buffer.from('{}'));
  if (blocked) {
    await unlink(file.tempPath);
    await mkdir(join(file.tempPath, 'inside'), { recursive: true });
  }
  return file;
}

describe('discard', () => {
  it('removes a staged copy and its chunk map, and takes copies already gone as removed', async () => {
    const file = await staged(false);
    await discard(file);
    expect(await exists(file.tempPath)).toBe(false);
    expect(await exists(file.chunkMap!.tempPath)).toBe(false);
    await discard(file); // ENOENT twice over: nothing to report
  });

  it('throws a StorageError with the cause when a copy cannot be removed, after trying the rest', async () => {
    const blocked = await staged(true);
    const other = await staged(false);
    const error = await discard(blocked, other).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/cannot remove staged copies in \.incoming: .*EISDIR/);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
    // The blocked copy's chunk map and the other copy were still removed.
    expect(await exists(blocked.chunkMap!.tempPath)).toBe(false);
    expect(await exists(other.tempPath)).toBe(false);
    expect(await exists(blocked.tempPath)).toBe(true);
    await rm(blocked.tempPath, { recursive: true });
  });
});

describe('cleanupAfter', () => {
  it('returns what the work did (a committed publish) and reports the cleanup failure as a process warning', async () => {
    const blocked = await staged(true);
    const warned = once(process, 'warning') as Promise<[Error]>;
    const value = await cleanupAfter(
      () => Promise.resolve('published'),
      () => discard(blocked),
    );
    expect(value).toBe('published');
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/EISDIR.*\(while cleaning up after the operation had completed\)/);
  });

  it("keeps the work's own error and reports the cleanup failure as a process warning", async () => {
    const blocked = await staged(true);
    const refused = new ValueError('2.0.0/app.tar.gz is already published with different content');
    const warned = once(process, 'warning') as Promise<[Error]>;
    const error = await cleanupAfter(
      () => Promise.reject(refused),
      () => discard(blocked),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(refused);
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/EISDIR.*\(while cleaning up after: 2\.0\.0\/app\.tar\.gz is already published/);
  });

  it('cleans up once, and returns the value, when both succeed', async () => {
    const file = await staged(false);
    let cleanups = 0;
    const value = await cleanupAfter(
      () => Promise.resolve(42),
      async () => {
        cleanups++;
        await discard(file);
      },
    );
    expect([value, cleanups]).toEqual([42, 1]);
    expect(await exists(file.tempPath)).toBe(false);
  });

  it('cleanupAfterFailure does not throw when the cleanup fails', async () => {
    const blocked = await staged(true);
    const warned = once(process, 'warning') as Promise<[Error]>;
    await cleanupAfterFailure(new Error('the edit failed'), () => discard(blocked));
    expect((await warned)[0].message).toMatch(/while cleaning up after: the edit failed/);
  });
});

/** A pid no process has (above the kernel's pid_max), as a killed writer's leftover names it. */
const DEAD_PID = 4_194_305;

describe('cleanIncoming', () => {
  it("removes a dead writer's leftovers; one it cannot remove is reported as a warning and left", async () => {
    const paths = repositoryPaths(join(await tempDir(), 'repo'));
    await mkdir(paths.incoming, { recursive: true });
    const gone = join(paths.incoming, `${DEAD_PID}-${'a'.repeat(16)}.part`);
    const stuck = join(paths.incoming, `${DEAD_PID}-${'b'.repeat(16)}.part`);
    const live = join(paths.incoming, `${process.pid}-${'c'.repeat(16)}.part`);
    await writeFile(gone, 'x');
    await mkdir(join(stuck, 'inside'), { recursive: true }); // unlink fails: EISDIR
    await writeFile(live, 'x');
    const warned = once(process, 'warning') as Promise<[Error]>;
    expect(await cleanIncoming(paths)).toBe(1);
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/EISDIR.*bbbb.*\(while removing leftovers in .*\.incoming\)/);
    expect((await readdir(paths.incoming)).sort()).toEqual([stuck, live].map((f) => f.split('/').pop()).sort());
  });
});

describe('hashAndCopy', () => {
  it('throws the copy failure and reports a staged copy it cannot remove as a warning', async () => {
    const dir = await tempDir();
    const paths = repositoryPaths(join(dir, 'repo'));
    const source = join(dir, 'App.zip');
    await writeFile(source, 'installer bytes');
    const warned = once(process, 'warning') as Promise<[Error]>;
    const error = await hashAndCopy(paths, source, () => {
      // The copy under way becomes a directory (unlink fails: EISDIR), then the copy fails.
      const [name] = readdirSync(paths.incoming);
      rmSync(join(paths.incoming, name));
      mkdirSync(join(paths.incoming, name, 'inside'), { recursive: true });
      throw new Error('observer failed');
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/cannot copy .*App\.zip: observer failed/);
    expect(((error as Error).cause as Error).message).toBe('observer failed');
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/EISDIR.*\(while cleaning up after: observer failed\)/);
  });
});
