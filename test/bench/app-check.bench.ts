/**
 * `npm run bench -- app-check`: what an update check costs an app (the performance
 * section), measured in app processes (test/bench/children/app-check.mjs, importing dist/)
 * against repositories made with the publisher and served by it on 127.0.0.1.
 *
 *  1. No-change check at app start: an install of 1.0.0 whose userData holds the metadata of an
 *     earlier run starts and checks; 1.0.0 is still the newest release. Requests, bytes and the
 *     process's CPU time around checkForUpdates() (a fresh process each time, cold JIT, as at
 *     start; and warm, as the periodic checks). Goal: the root probe and the timestamp only,
 *     under 20 ms of CPU.
 *  2. A check that finds a new release in a repository of 100,000 targets in 256 hashed bins
 *     (TAP 15): the install ran its last check before 1.1.0 was published. Requests and bytes,
 *     next to the size of the whole targets metadata. Goal: a few small requests, not the whole
 *     targets metadata. Also a fresh install's first check, for comparison.
 *
 * BENCH_QUICK=1: fewer processes and 10,000 targets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  addRelease,
  addTargets,
  initRepository,
  serveRepository,
  type RepositoryServer,
  type TargetEntry,
} from '../../publisher/index.js';
import type { BenchContext } from './run.js';
import { CHILDREN_DIR, killChildren, median, round, runChild } from './lib/measure.js';

const CHILD = join(CHILDREN_DIR, 'app-check.mjs');
const CPU_GOAL_MS = 20;
const INSTALLER_BYTES = 256 * 1024;

interface Sizes {
  /** App processes for the no-change check; each checks once cold, then `warmChecks` times. */
  processes: number;
  warmChecks: number;
  binTargets: number;
  binRuns: number;
}

const FULL: Sizes = { processes: 15, warmChecks: 9, binTargets: 100_000, binRuns: 5 };
const QUICK: Sizes = { processes: 3, warmChecks: 3, binTargets: 10_000, binRuns: 2 };

interface Fetch {
  url: string;
  bytes: number;
  ok: boolean;
}

interface Check {
  cpuMs: number;
  wallMs: number;
  available: boolean | null;
  version: string | null;
  fetches: Fetch[];
}

interface Repo {
  repo: string;
  keys: string;
  trustedRoot: string;
  server: RepositoryServer;
}

export async function run({ record, quick }: BenchContext): Promise<void> {
  const sizes = quick ? QUICK : FULL;
  const dir = await mkdtemp(join(tmpdir(), 'electron-tuf-bench-app-check-'));
  const servers: RepositoryServer[] = [];
  try {
    await noChangeCheck(dir, sizes, record, servers);
    await newReleaseInBins(dir, sizes, record, servers);
  } finally {
    killChildren();
    await Promise.all(servers.map((server) => server.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function noChangeCheck(
  dir: string,
  sizes: Sizes,
  record: BenchContext['record'],
  servers: RepositoryServer[],
): Promise<void> {
  const repo = await createRepo(join(dir, 'plain'), {}, servers);
  await publish(repo, '1.0.0', join(dir, 'plain'));
  const userDataPath = join(dir, 'plain', 'userdata');
  await check(repo, userDataPath, '1.0.0', 1); // an earlier run: the metadata is on disk

  const cold: Check[] = [];
  const warm: Check[] = [];
  for (let i = 0; i < sizes.processes; i++) {
    const [first, ...rest] = await check(repo, userDataPath, '1.0.0', 1 + sizes.warmChecks);
    cold.push(first);
    warm.push(...rest);
  }
  const all = [...cold, ...warm];
  if (all.some((c) => c.available !== false)) throw new Error('a no-change check found an update');
  const files = describeFetches(cold[0].fetches, repo.server);
  const onlyProbeAndTimestamp = all.every((c) =>
    sameNames(c.fetches, repo.server, ['metadata/2.root.json', 'metadata/timestamp.json']),
  );
  const cpuCold = median(cold.map((c) => c.cpuMs));
  record('no-change check at start: requests', median(all.map((c) => c.fetches.length)), 'requests', files);
  record('no-change check at start: bytes received', median(all.map((c) => totalBytes(c.fetches))), 'B');
  record(
    'no-change check at start: only root probe + timestamp',
    onlyProbeAndTimestamp ? 'yes' : 'no',
    '',
    `${all.length} checks`,
  );
  record(
    'no-change check at start: CPU, fresh process (median)',
    round(cpuCold),
    'ms',
    `${cold.length} processes; goal < ${CPU_GOAL_MS} ms`,
  );
  record('no-change check at start: CPU, fresh process (max)', round(Math.max(...cold.map((c) => c.cpuMs))), 'ms');
  record('no-change check at start: wall, fresh process (median)', round(median(cold.map((c) => c.wallMs))), 'ms');
  record(
    'no-change check, warm process: CPU (median)',
    round(median(warm.map((c) => c.cpuMs))),
    'ms',
    `${warm.length} checks`,
  );
  record('no-change check at start: CPU goal met', cpuCold < CPU_GOAL_MS ? 'yes' : 'no', '');
  const floor: Check[] = [];
  for (let i = 0; i < sizes.processes; i++)
    floor.push(...(await check(repo, userDataPath, '1.0.0', 1, { httpFloor: true })));
  record(
    'for scale: first plain node:http GET in a fresh process: CPU',
    round(median(floor.map((c) => c.cpuMs))),
    'ms',
    'Node loading its HTTP client; part of any cold check',
  );
}

async function newReleaseInBins(
  dir: string,
  sizes: Sizes,
  record: BenchContext['record'],
  servers: RepositoryServer[],
): Promise<void> {
  const base = join(dir, 'bins');
  const repo = await createRepo(base, { bins: 256 }, servers);
  const started = performance.now();
  await addTargets({ repo: repo.repo, keys: repo.keys, targets: fillerTargets(sizes.binTargets) });
  await publish(repo, '1.0.0', base);
  const setupMs = performance.now() - started;
  const primed = join(base, 'userdata-primed');
  const [before] = await check(repo, primed, '1.0.0', 1); // the install's last check before 1.1.0
  if (before.available !== false) throw new Error('1.0.0 found an update before 1.1.0 was published');
  await publish(repo, '1.1.0', base);

  const runs: Check[] = [];
  for (let i = 0; i < sizes.binRuns; i++) {
    const userDataPath = join(base, `userdata-${i}`);
    await cp(primed, userDataPath, { recursive: true });
    runs.push(...(await check(repo, userDataPath, '1.0.0', 1)));
  }
  if (runs.some((c) => c.available !== true || c.version !== '1.1.0')) throw new Error('the check did not find 1.1.0');
  const [fresh] = await check(repo, join(base, 'userdata-fresh'), '1.0.0', 1);
  const targetsMetadata = await newestTargetsMetadataBytes(join(repo.repo, 'metadata'));

  const label = `${sizes.binTargets.toLocaleString('en')} targets in 256 bins`;
  record(
    `new release, ${label}: repository set-up`,
    round(setupMs / 1000, 1),
    's',
    'publisher addTargets + addRelease',
  );
  record(
    `new release, ${label}: all targets metadata`,
    targetsMetadata,
    'B',
    'targets.json + every bin, newest versions',
  );
  record(
    `new release, ${label}: requests`,
    median(runs.map((c) => c.fetches.length)),
    'requests',
    describeFetches(runs[0].fetches, repo.server),
  );
  record(
    `new release, ${label}: bytes received`,
    median(runs.map((c) => totalBytes(c.fetches))),
    'B',
    `${round((100 * totalBytes(runs[0].fetches)) / targetsMetadata, 2)} % of the targets metadata`,
  );
  record(
    `new release, ${label}: CPU, fresh process (median)`,
    round(median(runs.map((c) => c.cpuMs))),
    'ms',
    `${runs.length} processes`,
  );
  record(`new release, ${label}: wall (median)`, round(median(runs.map((c) => c.wallMs))), 'ms');
  record(
    `first check of a fresh install, ${label}: requests`,
    fresh.fetches.length,
    'requests',
    describeFetches(fresh.fetches, repo.server),
  );
  record(`first check of a fresh install, ${label}: bytes received`, totalBytes(fresh.fetches), 'B');
}

// ---------------------------------------------------------------------------------------------

async function createRepo(base: string, options: { bins?: number }, servers: RepositoryServer[]): Promise<Repo> {
  await mkdir(base, { recursive: true });
  const repo = join(base, 'repo');
  const keys = join(base, 'keys');
  const init = await initRepository({ repo, keys, bins: options.bins });
  const server = await serveRepository({ repo });
  servers.push(server);
  return { repo, keys, trustedRoot: init.trustedRoot, server };
}

/** Publishes `version` with a random installer, as the demo app's Linux tar.gz. */
async function publish(repo: Repo, version: string, base: string): Promise<void> {
  const file = join(base, `electron-tuf-demo-${version}-linux-x64.tar.gz`);
  await writeFile(file, randomBytes(INSTALLER_BYTES));
  await addRelease({
    repo: repo.repo,
    keys: repo.keys,
    files: [file],
    version,
    platform: 'linux',
    arch: 'x64',
    notes: `Release ${version}.`,
  });
}

/** Listed targets with made-up hashes: a refresh or lookup reads only their metadata. */
function fillerTargets(count: number): TargetEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `files/${Math.floor(i / 1000)}/file-${i}.bin`,
    length: 1_000_000 + i,
    hashes: { sha256: createHash('sha256').update(`filler ${i}`).digest('hex') },
  }));
}

/** Runs one app process doing `iterations` checks on `userDataPath` (shared with earlier runs). */
async function check(
  repo: Repo,
  userDataPath: string,
  version: string,
  iterations: number,
  extra: { httpFloor?: boolean } = {},
): Promise<Check[]> {
  const options = {
    metadataUrl: repo.server.metadataUrl,
    targetsUrl: repo.server.targetsUrl,
    trustedRoot: repo.trustedRoot,
    userDataPath,
    version,
    iterations,
    ...extra,
  };
  const outcome = await runChild<Check[]>(CHILD, [JSON.stringify(options)], { timeoutMs: 60_000 });
  if (!outcome.finished) throw new Error('an app-check child did not finish in 60 s');
  return outcome.result;
}

function totalBytes(fetches: Fetch[]): number {
  return fetches.reduce((sum, f) => sum + f.bytes, 0);
}

/** `metadata/2.root.json`, `targets/channels/stable/<hash>.linux-x64.json`: paths on the server. */
function serverPath(url: string, server: RepositoryServer): string {
  return url.startsWith(`${server.url}/`) ? url.slice(server.url.length + 1) : url;
}

function sameNames(fetches: Fetch[], server: RepositoryServer, expected: string[]): boolean {
  const names = fetches.map((f) => serverPath(f.url, server));
  return names.length === expected.length && names.every((name, i) => name === expected[i]);
}

/** "timestamp.json 424 B, 3.snapshot.json 20.5 kB, …" with hashes in target names shortened. */
function describeFetches(fetches: Fetch[], server: RepositoryServer): string {
  return fetches
    .map((f) => {
      const name = basename(serverPath(f.url, server)).replace(/^[0-9a-f]{64,128}\./, '<hash>.');
      return `${name} ${f.ok ? formatBytes(f.bytes) : '404'}`;
    })
    .join(', ');
}

function formatBytes(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : `${(bytes / 1000).toFixed(1)} kB`;
}

/** Bytes of the newest version of targets.json and of every bin on disk. */
async function newestTargetsMetadataBytes(metadataDir: string): Promise<number> {
  const newest = new Map<string, { version: number; name: string }>();
  for (const name of await readdir(metadataDir)) {
    const match = /^(\d+)\.(targets|bins-[0-9a-f]+)\.json$/.exec(name);
    if (!match) continue;
    const version = Number(match[1]);
    if ((newest.get(match[2])?.version ?? 0) < version) newest.set(match[2], { version, name });
  }
  let total = 0;
  for (const { name } of newest.values()) total += (await stat(join(metadataDir, name))).size;
  return total;
}
