import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, StorageError, ValueError } from '../../updater/core/errors.js';
import { acquireLock, withLock } from '../../updater/node-io/index.js';
import { restoreLiveLock } from '../../updater/node-io/file-lock.js';
import { ROOT } from '../helpers/vectors.js';

const CHILD = join(ROOT, 'test/helpers/lock-child.mjs');
const MODULE_SOURCES = [
  'updater/core/errors.ts',
  'updater/node-io/error-code.ts',
  'updater/node-io/bounded-read.ts',
  'updater/node-io/cleanup.ts',
  'updater/node-io/json-bytes.ts',
  'updater/node-io/file-lock.ts',
];

let work: string;
let compiledLockModule: string;
const children: ChildProcess[] = [];

/**
 * Child processes need the lock module as JavaScript. Transpiling just its source files
 * into a temp dir keeps this test independent of dist/ (and of other modules' type errors).
 */
function compileLockModule(outDir: string): string {
  for (const source of MODULE_SOURCES) {
    const output = ts.transpileModule(readFileSync(join(ROOT, source), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(outDir, source.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output);
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}');
  return pathToFileURL(join(outDir, 'updater/node-io/file-lock.js')).href;
}

function startChild(...args: string[]): ChildProcess {
  const child = fork(CHILD, [compiledLockModule, ...args], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  return child;
}

function exitCode(child: ChildProcess): Promise<number | null> {
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(result.stdout);
}

/** The owner record a lock file holds (the fields these tests read). */
function lockOwner(resource: string): { pid: number; token: string; hostname?: string } {
  return JSON.parse(readFileSync(`${resource}.lock`, 'utf8')) as { pid: number; token: string; hostname?: string };
}

function writeForeignLock(
  lockFile: string,
  owner: { pid: number; hostname?: string; token?: string },
  ageMs = 0,
): void {
  writeFileSync(lockFile, JSON.stringify({ token: 'someone-else', acquiredAt: '', hostname: hostname(), ...owner }));
  const then = new Date(Date.now() - ageMs);
  utimesSync(lockFile, then, then);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tuf-lock-'));
  compiledLockModule = compileLockModule(join(work, 'compiled'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let dir: string;
let resource: string;
beforeEach(() => {
  dir = mkdtempSync(join(work, 'case-'));
  resource = join(dir, 'cache');
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe('acquireLock between processes', () => {
  it('never lets two processes inside at once: 2 x 200 locked increments make 400', async () => {
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    const a = startChild('count', resource, counter, '200');
    const b = startChild('count', resource, counter, '200');
    await Promise.all([exitCode(a), exitCode(b)]);
    expect(readFileSync(counter, 'utf8')).toBe('400');
    expect(existsSync(`${resource}.lock`)).toBe(false);
  });

  it('breaks the lock of a holder that was killed', async () => {
    const holder = startChild('hold', resource);
    await new Promise((resolve) => holder.once('message', resolve));
    await expect(acquireLock(resource, { timeoutMs: 100 })).rejects.toBeInstanceOf(StorageError);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    // By the dead pid, not by age: the lock is far from stale, and acquiring would time out.
    const release = await acquireLock(resource, { timeoutMs: 20_000, staleMs: 600_000 });
    expect(lockOwner(resource).pid).toBe(process.pid);
    await release();
  });
});

describe('acquireLock', () => {
  it('creates <path>.lock naming its owner and removes it on release', async () => {
    const release = await acquireLock(resource);
    const owner = lockOwner(resource);
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(owner.token).toMatch(/^[0-9a-f]{32}$/);
    await release();
    await release(); // idempotent
    expect(existsSync(`${resource}.lock`)).toBe(false);
  });

  it('times out with StorageError naming the holder', async () => {
    const release = await acquireLock(resource);
    const error = await acquireLock(resource, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    await release();
  });

  it('with timeoutMs 0 tries exactly once', async () => {
    const release = await acquireLock(resource);
    await expect(acquireLock(resource, { timeoutMs: 0 })).rejects.toBeInstanceOf(StorageError);
    await release();
    await (
      await acquireLock(resource, { timeoutMs: 0 })
    )();
  });

  it('breaks a lock left by a dead process at once', async () => {
    writeForeignLock(`${resource}.lock`, { pid: deadPid() });
    const release = await acquireLock(resource, { timeoutMs: 10_000, staleMs: 60_000 });
    expect(lockOwner(resource).pid).toBe(process.pid);
    await release();
    expect(readdirSync(dir)).toEqual([]); // the broken lock is gone, not left aside
  });

  it('breaks a lock whose heartbeat is older than staleMs, even if its pid is alive', async () => {
    writeForeignLock(`${resource}.lock`, { pid: process.pid }, 60_000);
    const release = await acquireLock(resource, { timeoutMs: 10_000, staleMs: 5_000 });
    await release();
  });

  it('respects a fresh lock of another host, and breaks it once its heartbeat is stale', async () => {
    writeForeignLock(`${resource}.lock`, { pid: deadPid(), hostname: 'elsewhere.example' });
    // The pid means nothing on another host: only age counts.
    await expect(acquireLock(resource, { timeoutMs: 200, staleMs: 60_000 })).rejects.toBeInstanceOf(StorageError);
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${resource}.lock`, old, old);
    await (
      await acquireLock(resource, { timeoutMs: 10_000, staleMs: 60_000 })
    )();
  });

  it('waits on an empty lock file (owner still being written) until it is stale by age', async () => {
    writeFileSync(`${resource}.lock`, '');
    await expect(acquireLock(resource, { timeoutMs: 200, staleMs: 60_000 })).rejects.toBeInstanceOf(StorageError);
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${resource}.lock`, old, old);
    await (
      await acquireLock(resource, { timeoutMs: 10_000, staleMs: 60_000 })
    )();
  });

  it('keeps a held lock fresh with a heartbeat, so it is not broken while held', async () => {
    // staleMs leaves a starved event loop room: the heartbeat (every staleMs / 4) may run late.
    const release = await acquireLock(resource, { staleMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await expect(acquireLock(resource, { timeoutMs: 1_000, staleMs: 1_000 })).rejects.toBeInstanceOf(StorageError);
    await release();
  });

  it('release leaves alone a lock that was broken and taken by someone else', async () => {
    const release = await acquireLock(resource);
    writeForeignLock(`${resource}.lock`, { pid: process.pid });
    await release();
    expect(lockOwner(resource).token).toBe('someone-else');
  });

  it('stops waiting with CancelledError when aborted', async () => {
    const release = await acquireLock(resource);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(acquireLock(resource, { timeoutMs: 5_000, signal: controller.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    await release();
  });

  it('creates the directory holding the lock', async () => {
    await (
      await acquireLock(join(dir, 'a/b/c'))
    )();
    expect(existsSync(join(dir, 'a/b'))).toBe(true);
  });

  it('release fails with the system error when the lock file cannot be read, rather than leave it as not ours', async () => {
    const release = await acquireLock(resource);
    const lockFile = `${resource}.lock`;
    rmSync(lockFile);
    symlinkSync(lockFile, lockFile); // a loop: ELOOP on open
    const error = await release().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(lockFile);
    expect((error as Error).cause).toMatchObject({ code: 'ELOOP' });
    rmSync(lockFile);
  });

  it('refuses nonsensical options with ValueError', async () => {
    await expect(acquireLock(resource, { timeoutMs: -1 })).rejects.toBeInstanceOf(ValueError);
    await expect(acquireLock(resource, { staleMs: 0 })).rejects.toBeInstanceOf(ValueError);
    await expect(acquireLock(resource, { staleMs: Number.NaN })).rejects.toBeInstanceOf(ValueError);
  });
});

describe('withLock', () => {
  it('serializes callers in one process', async () => {
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withLock(resource, async () => {
          maxInside = Math.max(maxInside, ++inside);
          await new Promise((resolve) => setTimeout(resolve, 20));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  it('returns what fn returns and releases when fn throws', async () => {
    expect(await withLock(resource, async () => 42)).toBe(42);
    await expect(withLock(resource, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(`${resource}.lock`)).toBe(false);
  });

  it("throws fn's error when the release fails too, and reports the release failure as a warning", async () => {
    const lockFile = `${resource}.lock`;
    const warned = once(process, 'warning') as Promise<[Error]>;
    const error = await withLock(resource, () => {
      rmSync(lockFile);
      symlinkSync(lockFile, lockFile); // a loop: the release cannot read its own lock (ELOOP)
      return Promise.reject(new Error('boom'));
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('boom');
    const [warning] = await warned;
    expect(warning.name).toBe('ElectronTufCleanupWarning');
    expect(warning.message).toMatch(/ELOOP.*\(while cleaning up after: boom\)/);
    rmSync(lockFile);
  });
});

describe('restoreLiveLock (putting back a live lock moved aside while breaking a stale one)', () => {
  const owner = { pid: process.pid, hostname: hostname(), token: 'a'.repeat(32), acquiredAt: '' };
  const noHardLinks = (): Promise<void> => Promise.reject(Object.assign(new Error('no links'), { code: 'EPERM' }));

  it('without hard links, recreates the lock with the same owner, so its holder still releases it', async () => {
    const aside = `${resource}.lock.stale-1`;
    writeFileSync(aside, JSON.stringify(owner));
    await restoreLiveLock(aside, `${resource}.lock`, owner, noHardLinks);
    expect(lockOwner(resource).token).toBe(owner.token);
  });

  it('never replaces a lock created meanwhile', async () => {
    writeForeignLock(`${resource}.lock`, { pid: process.pid, token: 'b'.repeat(32) });
    await restoreLiveLock(`${resource}.lock.stale-1`, `${resource}.lock`, owner, noHardLinks);
    expect(lockOwner(resource).token).toBe('b'.repeat(32));
  });

  it('refuses (StorageError) when a live lock without a readable owner cannot be put back', async () => {
    await expect(
      restoreLiveLock(`${resource}.lock.stale-1`, `${resource}.lock`, undefined, noHardLinks),
    ).rejects.toThrow(StorageError);
    expect(existsSync(`${resource}.lock`)).toBe(false);
  });
});
