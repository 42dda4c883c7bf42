/**
 * The TUF client against its peers, in one run (the performance section):
 *
 *  1. no-change refresh (a new Updater per refresh, as an app does at start): requests and
 *     time, ours vs tuf-js. Goal: no more requests, at most half the time.
 *  2. download + verify of a large target (256 MiB, and 64 MiB to show memory does not grow
 *     with size): throughput as a fraction of a plain undici request() to disk (goal >= 0.9)
 *     and peak RSS per process (goal < 100 MiB).
 *  3. refresh + getTargetInfo with 100,000 targets in one targets.json and in 256 succinct
 *     bins (TAP 15): bytes fetched, time, peak RSS, ours vs tuf-js (tuf-js is bounded: it is
 *     quadratic on one big file). Goal for one file: linear, well under python-tuf's 2.7 s.
 *  4. a cold refresh + lookup + 64 MiB download on 1,000 targets as a whole process, median of
 *     5: ours vs tuf-js. Goal: at most half of tuf-js, under python-tuf's 0.75 s.
 *
 * Every measured client runs in its own node process (test/bench/children, importing dist/),
 * against a static server in this process on 127.0.0.1. python-tuf cannot be installed here;
 * its figures are the ones in docs/architecture.md ("Peer speed"), measured on this kind of machine.
 * BENCH_QUICK=1 shrinks the sizes. BENCH_PROFILE=<dir> writes CPU profiles of our children.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext } from './run.js';
import { buildRepo, fillerPath, type BenchRepo } from './lib/repo.js';
import { CHILDREN_DIR, kibToMib, killChildren, median, MIB, round, runChild } from './lib/measure.js';
import { startStaticServer, type StaticServer } from './lib/static-server.js';

type Client = 'ours' | 'tufjs';
const CLIENTS: Client[] = ['ours', 'tufjs'];
const LABEL: Record<Client | 'undici', string> = { ours: 'ours', tufjs: 'tuf-js', undici: 'undici' };

/** python-tuf on this machine (docs/architecture.md, "Peer speed"): it cannot be installed here. */
const PYTHON_TUF = { coldSeconds: 0.75, oneFile100kSeconds: 2.7, oneFile100kRssMib: 228 };

const REPO_ROOT = resolve(CHILDREN_DIR, '..', '..', '..');
const CLI_MAIN = join(REPO_ROOT, 'dist', 'publisher', 'cli', 'main.js');
const FETCH_TARGET = join(CHILDREN_DIR, 'fetch-target.mjs');

interface Sizes {
  refreshIterations: number;
  downloadMib: [small: number, large: number];
  downloadRuns: number;
  bigTargets: number;
  /** A tenth of bigTargets: with it, one-file cost per target shows whether growth is linear. */
  scalingTargets: number;
  bigRuns: number;
  tufjsBoundMs: number;
  coldTargets: number;
  coldDownloadMib: number;
  coldRuns: number;
}

const FULL: Sizes = {
  refreshIterations: 30,
  downloadMib: [64, 256],
  downloadRuns: 5,
  bigTargets: 100_000,
  scalingTargets: 10_000,
  bigRuns: 3,
  tufjsBoundMs: 60_000,
  coldTargets: 1_000,
  coldDownloadMib: 64,
  coldRuns: 5,
};

const QUICK: Sizes = {
  refreshIterations: 10,
  downloadMib: [4, 16],
  downloadRuns: 1,
  bigTargets: 10_000,
  scalingTargets: 1_000,
  bigRuns: 1,
  tufjsBoundMs: 20_000,
  coldTargets: 1_000,
  coldDownloadMib: 16,
  coldRuns: 2,
};

/** The result line of fetch-target.mjs. */
interface FetchTargetResult {
  loadMs: number;
  refreshMs: number;
  lookupMs: number;
  downloadMs?: number;
  found: boolean;
  length?: number;
  sinceStartMs: number;
  maxRssKib: number;
}

/** Everything one run needs: the server, repositories under it, and a scratch area. */
class Workspace {
  private scratchCount = 0;

  constructor(
    readonly root: string,
    readonly server: StaticServer,
    readonly profileDir: string | undefined,
  ) {}

  metadataUrl(repo: BenchRepo): string {
    return `${this.server.origin}/${repoName(this, repo)}/metadata/`;
  }

  targetsUrl(repo: BenchRepo): string {
    return `${this.server.origin}/${repoName(this, repo)}/targets/`;
  }

  /** A fresh client state: a metadata directory holding only the trusted root, and a target directory. */
  async freshClientDirs(repo: BenchRepo): Promise<{ metadataDir: string; targetDir: string; dir: string }> {
    const dir = join(this.root, 'clients', String(this.scratchCount++));
    const metadataDir = join(dir, 'metadata');
    const targetDir = join(dir, 'targets');
    await mkdir(metadataDir, { recursive: true });
    await mkdir(targetDir, { recursive: true });
    await writeFile(join(metadataDir, 'root.json'), repo.rootBytes);
    return { metadataDir, targetDir, dir };
  }

  nodeArgs(client: Client | 'undici'): string[] {
    return this.profileDir && client === 'ours' ? ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`] : [];
  }
}

function repoName(ws: Workspace, repo: BenchRepo): string {
  return repo.dir.slice(ws.root.length + 1);
}

export async function run({ record, quick }: BenchContext): Promise<void> {
  const sizes = quick ? QUICK : FULL;
  const root = await mkdtemp(join(tmpdir(), 'electron-tuf-bench-'));
  let server: StaticServer | undefined;
  // Ctrl-C mid-run: no child left running, no 300 MiB of repositories left in the temp dir.
  const onInterrupt = (): void => {
    killChildren();
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    server = await startStaticServer(root);
    const profileDir = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined;
    const ws = new Workspace(root, server, profileDir);
    // Every figure is wall time on a shared machine: say how busy it was.
    record('machine: 1-min load average at start', round(loadavg()[0], 2), '', `${availableParallelism()} cores`);
    const [smallMib, largeMib] = sizes.downloadMib;
    console.log('  generating repositories ...');
    const small = await buildRepo({
      dir: join(root, 'small'),
      fillerCount: sizes.coldTargets - 3,
      layout: 'single',
      files: [
        { path: `releases/app-${smallMib}m.bin`, size: smallMib * MIB },
        { path: `releases/app-${largeMib}m.bin`, size: largeMib * MIB },
        ...(sizes.downloadMib.includes(sizes.coldDownloadMib)
          ? []
          : [{ path: `releases/app-${sizes.coldDownloadMib}m.bin`, size: sizes.coldDownloadMib * MIB }]),
      ],
    });
    await noChangeRefresh(ws, small, sizes, record);
    await downloads(ws, small, sizes, record);
    await coldRuns(ws, small, sizes, record);
    await bigRepositories(ws, sizes, record);
    record('machine: 1-min load average at end', round(loadavg()[0], 2), '');
  } finally {
    process.off('SIGINT', onInterrupt);
    killChildren();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  }
}

type RecordFn = BenchContext['record'];

/** 1. Requests and time of a refresh when nothing changed, a new Updater each time. */
async function noChangeRefresh(ws: Workspace, repo: BenchRepo, sizes: Sizes, record: RecordFn): Promise<void> {
  console.log(`  no-change refresh, ${repo.fillerPaths.length + 3} targets, median of ${sizes.refreshIterations} ...`);
  const medians = {} as { [c in Client]: number };
  for (const client of CLIENTS) {
    const { metadataDir } = await ws.freshClientDirs(repo);
    const args = [
      client,
      metadataDir,
      ws.metadataUrl(repo),
      `${ws.server.origin}/__stats`,
      String(sizes.refreshIterations),
    ];
    const outcome = await runChild<{ times: number[]; requests: number; bytes: number }>(
      join(CHILDREN_DIR, 'refresh.mjs'),
      args,
      {
        timeoutMs: 300_000,
        nodeArgs: ws.nodeArgs(client),
      },
    );
    if (!outcome.finished) throw new Error(`no-change refresh of ${client} did not finish`);
    const { times, requests, bytes } = outcome.result;
    medians[client] = median(times);
    record(`no-change refresh: requests, ${LABEL[client]}`, requests, 'req', `${round(bytes, 0)} bytes`);
    record(
      `no-change refresh: time, ${LABEL[client]}`,
      round(medians[client]),
      'ms',
      `min ${round(Math.min(...times))}`,
    );
  }
  record('no-change refresh: time ours / tuf-js', round(medians.ours / medians.tufjs, 3), 'x', 'goal <= 0.5');
}

/** 2. Download + verify vs a plain undici download, and peak RSS, at two sizes. */
async function downloads(ws: Workspace, repo: BenchRepo, sizes: Sizes, record: RecordFn): Promise<void> {
  for (const mib of sizes.downloadMib) {
    console.log(`  download ${mib} MiB, ${sizes.downloadRuns} run(s) each ...`);
    const targetPath = `releases/app-${mib}m.bin`;
    const url = await hashedTargetUrl(ws, repo, targetPath);
    const ms: { [c in Client | 'undici']: number[] } = { ours: [], tufjs: [], undici: [] };
    const rss: { [c in Client | 'undici']: number[] } = { ours: [], tufjs: [], undici: [] };
    const undiciFsyncMs: number[] = [];
    for (let run = 0; run < sizes.downloadRuns; run++) {
      // Interleaved, so drift in the machine's speed hits every client alike.
      for (const client of ['undici', ...CLIENTS] as const) {
        const dirs = await ws.freshClientDirs(repo);
        const result =
          client === 'undici'
            ? await undiciDownload(url, join(dirs.targetDir, 'download.bin'))
            : await fetchTarget(ws, client, repo, dirs, targetPath, true);
        if (result?.downloadMs === undefined) throw new Error(`${client}: download did not finish`);
        if ('fsyncMs' in result) undiciFsyncMs.push(result.fsyncMs);
        ms[client].push(result.downloadMs);
        rss[client].push(kibToMib(result.maxRssKib));
        await rm(dirs.dir, { recursive: true, force: true });
      }
    }
    const throughput = (c: Client | 'undici'): number => mib / (median(ms[c]) / 1000);
    for (const client of ['undici', ...CLIENTS] as const) {
      record(
        `download ${mib} MiB: throughput, ${LABEL[client]}`,
        round(throughput(client), 1),
        'MiB/s',
        `median ${round(median(ms[client]), 0)} ms`,
      );
    }
    record(
      `download ${mib} MiB: throughput ours / undici`,
      round(throughput('ours') / throughput('undici'), 3),
      'x',
      'goal >= 0.9',
    );
    // Ours fsyncs before the atomic rename (a crash never leaves a torn file); the floor does not.
    const withFsync = mib / ((median(ms.undici) + median(undiciFsyncMs)) / 1000);
    record(
      `download ${mib} MiB: throughput ours / (undici + fsync)`,
      round(throughput('ours') / withFsync, 3),
      'x',
      `fsync ${round(median(undiciFsyncMs), 0)} ms`,
    );
    record(
      `download ${mib} MiB: throughput tuf-js / undici`,
      round(throughput('tufjs') / throughput('undici'), 3),
      'x',
    );
    for (const client of ['undici', ...CLIENTS] as const) {
      const note = `max of ${rss[client].length} runs, median ${round(median(rss[client]), 1)}${client === 'ours' ? '; goal < 100' : ''}`;
      record(`download ${mib} MiB: peak RSS, ${LABEL[client]}`, round(Math.max(...rss[client]), 1), 'MiB', note);
    }
  }
}

/** The URL a consistent-snapshot client downloads `targetPath` from (the file name carries the hash). */
async function hashedTargetUrl(ws: Workspace, repo: BenchRepo, targetPath: string): Promise<string> {
  const slash = targetPath.lastIndexOf('/');
  const dir = targetPath.slice(0, slash);
  const base = targetPath.slice(slash + 1);
  const name = (await readdir(join(repo.targetsDir, dir))).find((f) => f.endsWith(`.${base}`));
  if (!name) throw new Error(`no file for ${targetPath}`);
  return `${ws.targetsUrl(repo)}${dir}/${name}`;
}

async function undiciDownload(
  url: string,
  destPath: string,
): Promise<{ downloadMs: number; fsyncMs: number; maxRssKib: number }> {
  const outcome = await runChild<{ downloadMs: number; fsyncMs: number; maxRssKib: number }>(
    join(CHILDREN_DIR, 'undici-download.mjs'),
    [url, destPath],
    {
      timeoutMs: 300_000,
    },
  );
  if (!outcome.finished) throw new Error('undici download did not finish');
  return outcome.result;
}

async function fetchTarget(
  ws: Workspace,
  client: Client,
  repo: BenchRepo,
  dirs: { metadataDir: string; targetDir: string },
  targetPath: string,
  download: boolean,
  timeoutMs = 300_000,
): Promise<(FetchTargetResult & { wallMs: number }) | undefined> {
  const job = {
    client,
    metadataDir: dirs.metadataDir,
    metadataBaseUrl: ws.metadataUrl(repo),
    targetBaseUrl: ws.targetsUrl(repo),
    targetDir: dirs.targetDir,
    targetPath,
    download,
  };
  const outcome = await runChild<FetchTargetResult>(FETCH_TARGET, [JSON.stringify(job)], {
    timeoutMs,
    nodeArgs: ws.nodeArgs(client),
  });
  if (!outcome.finished) return undefined;
  if (!outcome.result.found) throw new Error(`${client} did not find ${targetPath}`);
  return { ...outcome.result, wallMs: outcome.wallMs };
}

/** 3. 100,000 targets in one file and in 256 bins: bytes, time and memory of refresh + lookup. */
async function bigRepositories(ws: Workspace, sizes: Sizes, record: RecordFn): Promise<void> {
  const n = sizes.bigTargets;
  const scaling = await bigRepo(ws, sizes.scalingTargets, 'single');
  const scalingMs = median(await oursLookupTimes(ws, scaling, sizes.bigRuns));
  await rm(scaling.dir, { recursive: true, force: true });
  for (const layout of ['single', 'bins'] as const) {
    const repo = await bigRepo(ws, n, layout);
    const what = `${n.toLocaleString('en')} targets ${layout === 'single' ? 'in one file' : 'in 256 bins'}`;
    console.log(`  refresh + lookup, ${what} ...`);
    const targetPath = fillerPath(Math.floor(n / 2));
    const times: { [c in Client]?: number } = {};
    for (const client of CLIENTS) {
      const runs = client === 'tufjs' && layout === 'single' ? 1 : sizes.bigRuns;
      const wall: number[] = [];
      const inProcess: number[] = [];
      const rss: number[] = [];
      let bytes = 0;
      let requests = 0;
      let finished = true;
      for (let i = 0; i < runs && finished; i++) {
        const dirs = await ws.freshClientDirs(repo);
        const before = ws.server.stats();
        const outcome = await fetchTarget(ws, client, repo, dirs, targetPath, false, sizes.tufjsBoundMs);
        const after = ws.server.stats();
        bytes = after.bytes - before.bytes;
        requests = after.requests - before.requests;
        if (outcome) {
          wall.push(outcome.wallMs);
          inProcess.push(outcome.refreshMs + outcome.lookupMs);
          rss.push(kibToMib(outcome.maxRssKib));
        } else {
          finished = false;
        }
        await rm(dirs.dir, { recursive: true, force: true });
      }
      const label = `${what}: ${LABEL[client]}`;
      if (!finished) {
        record(
          `${label}, time`,
          'not finished',
          '',
          `killed after ${sizes.tufjsBoundMs / 1000} s; fetched ${round(bytes / MIB, 1)} MiB by then`,
        );
        continue;
      }
      times[client] = median(inProcess);
      record(`${label}, fetched`, round(bytes / MIB, 2), 'MiB', `${requests} requests`);
      record(
        `${label}, refresh + lookup`,
        round(median(inProcess), 0),
        'ms',
        `whole process ${round(median(wall), 0)} ms`,
      );
      record(`${label}, peak RSS`, round(Math.max(...rss), 1), 'MiB');
    }
    if (times.ours !== undefined && times.tufjs !== undefined) {
      record(`${what}: time ours / tuf-js`, round(times.ours / times.tufjs, 3), 'x');
    }
    if (layout === 'single' && times.ours !== undefined) {
      const ratio = times.ours / scalingMs;
      record(
        `${what}: ours, time vs ${sizes.scalingTargets.toLocaleString('en')} targets`,
        round(ratio, 2),
        'x',
        `linear = ${n / sizes.scalingTargets}`,
      );
      if (!ws.profileDir && n === FULL.bigTargets) {
        record(
          `${what}: ours / python-tuf (recorded ${PYTHON_TUF.oneFile100kSeconds} s)`,
          round(times.ours / 1000 / PYTHON_TUF.oneFile100kSeconds, 3),
          'x',
        );
      }
    }
    await rm(repo.dir, { recursive: true, force: true });
  }
}

async function bigRepo(ws: Workspace, count: number, layout: 'single' | 'bins'): Promise<BenchRepo> {
  return buildRepo({ dir: join(ws.root, `big-${layout}-${count}`), fillerCount: count, layout });
}

async function oursLookupTimes(ws: Workspace, repo: BenchRepo, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dirs = await ws.freshClientDirs(repo);
    const outcome = await fetchTarget(ws, 'ours', repo, dirs, repo.fillerPaths[repo.fillerPaths.length >> 1], false);
    if (!outcome) throw new Error('lookup did not finish');
    times.push(outcome.refreshMs + outcome.lookupMs);
    await rm(dirs.dir, { recursive: true, force: true });
  }
  return times;
}

/** 4. The whole process, as a user or an app start sees it: spawn, refresh, lookup, download, exit. */
async function coldRuns(ws: Workspace, repo: BenchRepo, sizes: Sizes, record: RecordFn): Promise<void> {
  const targetPath = `releases/app-${sizes.coldDownloadMib}m.bin`;
  const what = `cold process, ${sizes.coldTargets.toLocaleString('en')} targets + ${sizes.coldDownloadMib} MiB`;
  console.log(`  ${what}, median of ${sizes.coldRuns} ...`);
  const variants: Array<{ name: string; run: () => Promise<number> }> = [
    { name: 'ours', run: () => coldFetchTarget(ws, 'ours', repo, targetPath) },
    { name: 'tuf-js', run: () => coldFetchTarget(ws, 'tufjs', repo, targetPath) },
    { name: 'node startup alone', run: () => nodeStartupMs() },
  ];
  if (existsSync(CLI_MAIN)) variants.splice(1, 0, { name: 'ours, CLI', run: () => coldCli(ws, repo, targetPath) });
  const wall = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < sizes.coldRuns; i++) {
    for (const v of variants) wall.get(v.name)!.push(await v.run());
  }
  for (const v of variants) record(`${what}: ${v.name}`, round(median(wall.get(v.name)!), 0), 'ms');
  const ours = median(wall.get('ours')!);
  record(`${what}: ours / tuf-js`, round(ours / median(wall.get('tuf-js')!), 3), 'x', 'goal <= 0.5');
  if (sizes.coldDownloadMib === FULL.coldDownloadMib) {
    record(
      `${what}: ours / python-tuf (recorded ${PYTHON_TUF.coldSeconds} s)`,
      round(ours / 1000 / PYTHON_TUF.coldSeconds, 3),
      'x',
      'goal < 1',
    );
  }
}

async function coldFetchTarget(ws: Workspace, client: Client, repo: BenchRepo, targetPath: string): Promise<number> {
  const dirs = await ws.freshClientDirs(repo);
  const outcome = await fetchTarget(ws, client, repo, dirs, targetPath, true);
  await rm(dirs.dir, { recursive: true, force: true });
  if (!outcome) throw new Error(`${client}: cold run did not finish`);
  return outcome.wallMs;
}

/** Our CLI, `electron-tuf client download`, when it has been built. */
async function coldCli(ws: Workspace, repo: BenchRepo, targetPath: string): Promise<number> {
  const dirs = await ws.freshClientDirs(repo);
  const args = [
    'client',
    'download',
    targetPath,
    '--metadata-dir',
    dirs.metadataDir,
    '--metadata-url',
    ws.metadataUrl(repo),
  ];
  args.push('--target-base-url', ws.targetsUrl(repo), '--target-dir', dirs.targetDir);
  // The CLI prints prose, not a JSON line: success is exit 0.
  const outcome = await runChild<undefined>(CLI_MAIN, args, { timeoutMs: 300_000, json: false });
  await rm(dirs.dir, { recursive: true, force: true });
  return outcome.wallMs;
}

async function nodeStartupMs(): Promise<number> {
  const outcome = await runChild<undefined>(join(CHILDREN_DIR, 'noop.mjs'), [], { timeoutMs: 60_000, json: false });
  return outcome.wallMs;
}
