/**
 * The compiled CLI in separate processes: concurrent `repo add`s all land, and `repo add`
 * killed with SIGKILL at random moments always leaves a repository that verifies, after which
 * the next add succeeds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CHANNEL_INDEX_MAX_RELEASES, parseChannelIndex } from '../../updater/release/index.js';
import { serveRepository, verifyRepository } from '../../publisher/index.js';
import { cleanupTemp, exists, makeRepo, ourClient, tempDir, writeInstaller } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'publisher', 'cli', 'main.js');
const CONCURRENT = 8;
/**
 * Four kinds of kill moment, five each. 20 trials, plus the warm-up add, publish 21 releases:
 * more than the channel index keeps (CHANNEL_INDEX_MAX_RELEASES), so its trimming is covered.
 */
const KILL_KINDS = 4;
const KILL_TRIALS = 20;
const children = new Set<ChildProcess>();

// dist/ is built once before the tests by test/helpers/global-setup.ts.

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await cleanupTemp();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Kill {
  /** Delay of the SIGKILL. */
  afterMs: number;
  /** Start the delay when the first file event happens in this directory (else at spawn). */
  afterEventIn?: string;
  /** Only events for this file name count. */
  eventName?: string;
}

/** Runs the CLI, optionally killing it with SIGKILL at the moment `kill` describes. */
function runCli(args: string[], cwd: string, kill?: Kill): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let timer: NodeJS.Timeout | undefined;
  const arm = () => (timer = setTimeout(() => child.kill('SIGKILL'), kill!.afterMs));
  const watcher = kill?.afterEventIn
    ? watch(kill.afterEventIn, (_event, name) => {
        if (!timer && (kill.eventName === undefined || name === kill.eventName)) arm();
      })
    : undefined;
  if (kill && !watcher) arm();
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      watcher?.close();
      children.delete(child);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** How long an add takes from its first write into metadata/ to its last (timestamp.json). */
async function measureWriteSpan(
  args: string[],
  cwd: string,
  metadataDir: string,
): Promise<{ run: Run; writeMs: number }> {
  let first = 0;
  let last = 0;
  const watcher = watch(metadataDir, () => {
    last = performance.now();
    first ||= last;
  });
  try {
    const run = await runCli(args, cwd);
    return { run, writeMs: last - first };
  } finally {
    watcher.close();
  }
}

function addArgs(version: string, file: string): string[] {
  return ['repo', 'add', 'repo', file, '--version', version, '--platform', 'linux', '--arch', 'x64', '--keys', 'keys'];
}

async function stableIndexVersions(repo: string, trustedRoot: Buffer): Promise<string[]> {
  const server = await serveRepository({ repo });
  try {
    const view = await ourClient(server, trustedRoot, ['channels/stable/linux-x64.json']);
    return parseChannelIndex(view.files.get('channels/stable/linux-x64.json')!).releases.map((r) => r.version);
  } finally {
    await server.close();
  }
}

it('built the CLI', async () => {
  expect(await exists(CLI)).toBe(true);
});

it(`${CONCURRENT} concurrent adds in separate processes all land, one after another`, async () => {
  const r = await makeRepo({ bins: 16 });
  const files = await Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => writeInstaller(r.dir, `app-1.${i}.0.tar.gz`, 200_000)),
  );
  const runs = await Promise.all(files.map((f, i) => runCli(addArgs(`1.${i}.0`, f), r.dir)));
  for (const run of runs) expect([run.code, run.stderr]).toEqual([0, '']);
  const verified = await verifyRepository({ repo: r.repo });
  expect(verified.problems).toEqual([]);
  expect(verified.targetCount).toBe(CONCURRENT + 1); // each installer (too small for a chunk map), the index
  const expected = Array.from({ length: CONCURRENT }, (_, i) => `1.${CONCURRENT - 1 - i}.0`);
  expect(await stableIndexVersions(r.repo, r.trustedRoot)).toEqual(expected);
  // Each add published exactly once: timestamp version = 1 (init) + one per add.
  const ts = parseDoc(await readFile(join(r.repo, 'metadata', 'timestamp.json'), 'utf8'));
  expect(ts.signed.version).toBe(CONCURRENT + 1);
}, 300_000); // dozens of node processes: minutes on a loaded 2-core machine

it(`kill -9 at random moments during add (${KILL_TRIALS} trials): the repository always verifies and the next add succeeds`, async () => {
  const r = await makeRepo({ bins: 16 });
  const installers = await tempDir('etuf-inst-');
  // How long an uninterrupted add takes here: in all, under the lock, and writing metadata.
  // Kills are spread over each of those spans in turn, most densely where files are written.
  const metadataDir = join(r.repo, 'metadata');
  const warmup = await measureWriteSpan(
    [...addArgs('0.1.0', await writeInstaller(installers, 'app-0.1.0.tar.gz', 2_000_000)), '--verbose'],
    r.dir,
    metadataDir,
  );
  expect(warmup.run.code).toBe(0);
  const lockedMs = Number(/publish (\d+) ms/.exec(warmup.run.stdout)![1]);
  const outcomes = { killed: 0, finished: 0, killedHoldingLock: 0 };
  const published = ['0.1.0'];
  const perKind = KILL_TRIALS / KILL_KINDS;
  for (let i = 0; i < KILL_TRIALS; i++) {
    const version = `0.2.${i}`;
    const file = await writeInstaller(installers, `app-${version}.tar.gz`, 2_000_000);
    // Stratified: the n-th trial of a kind kills at a random moment in the n-th of `perKind`
    // equal slices of its span (stretched by 1.2 to also land just after it), so few trials
    // still cover the whole span.
    const at = (span: number): number => ((Math.floor(i / KILL_KINDS) + Math.random()) / perKind) * span * 1.2;
    const kill: Kill = [
      { afterMs: at(warmup.run.ms) },
      { afterMs: at(lockedMs), afterEventIn: r.repo, eventName: '.publish.lock' },
      { afterMs: at(warmup.writeMs), afterEventIn: metadataDir },
      { afterMs: at(warmup.writeMs), afterEventIn: metadataDir },
    ][i % KILL_KINDS];
    const killed = await runCli(addArgs(version, file), r.dir, kill);
    outcomes[killed.signal === 'SIGKILL' ? 'killed' : 'finished']++;
    if (killed.signal === 'SIGKILL' && (await exists(join(r.repo, '.publish.lock')))) outcomes.killedHoldingLock++;
    const afterKill = await verifyRepository({ repo: r.repo });
    expect([i, afterKill.problems]).toEqual([i, []]);

    // The same add again completes whatever state the killed one left (its lock included).
    const retry = await runCli(addArgs(version, file), r.dir);
    expect([i, retry.code, retry.stderr]).toEqual([i, 0, '']);
    published.unshift(version);
    const afterRetry = await verifyRepository({ repo: r.repo });
    expect([i, afterRetry.problems]).toEqual([i, []]);
  }
  expect(outcomes.killed).toBeGreaterThan(KILL_TRIALS / 2);
  expect(outcomes.killedHoldingLock).toBeGreaterThan(0);
  expect(published.length).toBeGreaterThan(CHANNEL_INDEX_MAX_RELEASES);
  expect(await stableIndexVersions(r.repo, r.trustedRoot)).toEqual(published.slice(0, CHANNEL_INDEX_MAX_RELEASES));
  // Nothing the killed processes left behind survives a completed command.
  expect(await exists(join(r.repo, '.publish.lock'))).toBe(false);
  expect(await readdir(join(r.repo, '.incoming'))).toEqual([]);
  expect((await readdir(join(r.repo, 'metadata'))).filter((n) => n.startsWith('.'))).toEqual([]);
}, 300_000); // dozens of node processes: minutes on a loaded 2-core machine
