/**
 * Service publish figures (not a test): distributed mode (one API, two workers, a scheduler, each
 * its own process of the built CLI) on
 * the local PostgreSQL and Redis, each run on its own database and key prefix.
 *
 *  1. idle: add-to-published latency of sequential adds (p50, max). Goal p50 < 1 s.
 *  2. burst: RSTUF's performance test, `requests` concurrent clients x `artifacts` adds each
 *     (50 x 50 = 2,500 artifacts, one installer per add), upload + add until all published.
 *     Goal < 20 s (RSTUF's test allows 600 s).
 *  3. scale: a repository already holding N targets in 256 hashed bins (N = 1,000 and 100,000):
 *     p50 of sequential adds and the time per add of a burst. Goal: flat in N.
 *
 * `runServiceBench` is the `service` section of `npm run bench` (test/bench/service.bench.ts);
 * alone: `npm run bench -- service` (BENCH_QUICK=1: 10 x 10 artifacts, 1,000 targets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { addTargets } from 'electron-tuf/publisher';
import { cpuOf, cpuSpent, ownCpuMs, sum } from './proc-cpu.js';
import { cleanupTemp, makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { newToken } from '../src/tokens.js';
import { addRelease, bootstrapBody, call, installerBytes, settled } from '../test/helpers.js';

export interface ServiceBenchOptions {
  requests: number;
  artifacts: number;
  idle: number;
  /** Target counts of the scale section. */
  sizes: number[];
  record(name: string, value: number, unit: string, note?: string): void;
  /** Another storage than the disk (bench/s3.ts); default: disk under the data directory. */
  storage?: BenchStorage;
}

export interface FillerTarget {
  path: string;
  length: number;
  hashes: { sha256: string };
}

export interface BenchStorage {
  /** Prefixes the figures' names. */
  label: string;
  /** The processes' environment for it (ELECTRON_TUF_STORAGE, credentials). */
  env: Record<string, string>;
  /** Fills repository `name` with `targets` as this storage holds them (metadata and objects). */
  fill(name: string, keys: string, targets: FillerTarget[], databaseUrl: string): Promise<string>;
  /** The storage's own processes on this machine (name -> pid), whose CPU the burst reports. */
  processes?(): Promise<Map<string, number>>;
}

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const ADMIN_URL = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (): string => `load ${loadavg()[0].toFixed(1)} on ${process.env.BENCH_CORES ?? '2'} cores`;

interface Bench {
  api: { url: string };
  token: string;
  data: string;
}

async function bootstrap(b: Bench, name: string, bins: number): Promise<{ keys: string }> {
  const repo = await makeRepo({ bins });
  const r = await call(b.api, 'POST', '/api/v1/repositories', {
    token: b.token,
    json: await bootstrapBody(name, repo),
  });
  if (r.status !== 201) throw new Error(`bootstrap ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return repo;
}

async function add(b: Bench, repo: string, version: string): Promise<string> {
  const a = await addRelease(b.api, b.token, repo, {
    version,
    files: { [`App-${version}.zip`]: installerBytes(`${repo}-${version}`, 1024) },
  });
  if (a.status !== 202) throw new Error(`add ${version}: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body.task;
}

/** Sequential adds, each waited for until published: the latencies in ms. */
async function sequential(b: Bench, repo: string, prefix: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const s = await settled(b.api, b.token, await add(b, repo, `${prefix}.${i}.0`));
    if (s.body.state !== 'succeeded') throw new Error(`add failed: ${JSON.stringify(s.body)}`);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

/** `clients` concurrent clients, `each` adds apiece; ms until every one is published. */
async function burst(
  b: Bench,
  repo: string,
  prefix: string,
  clients: number,
  each: number,
): Promise<{ ms: number; acceptedMs: number; succeeded: number }> {
  const t = performance.now();
  const tasks = (
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const mine: string[] = [];
        for (let i = 0; i < each; i++) mine.push(await add(b, repo, `${prefix}.${c}.${i}`));
        return mine;
      }),
    )
  ).flat();
  const acceptedMs = performance.now() - t;
  // One poller (not one per task: thousands of pollers would measure the API's polling load).
  while (
    (await call(b.api, 'GET', `/api/v1/repositories/${repo}/releases/pending`, { token: b.token })).body.pending
      .length > 0
  )
    await new Promise((r) => setTimeout(r, 200));
  const ms = performance.now() - t;
  let succeeded = 0;
  for (const task of tasks) if ((await settled(b.api, b.token, task)).body.state === 'succeeded') succeeded++;
  return { ms, acceptedMs, succeeded };
}

/** Starts `electron-tuf-server <command>` as its own process (built CLI); resolves with its ready line. */
function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  children: ChildProcess[],
): Promise<string> {
  // BENCH_PROFILE_DIR=dir: each process writes a V8 CPU profile there (node --cpu-prof) when it exits.
  const profile = process.env.BENCH_PROFILE_DIR
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`,
        `--cpu-prof-name=${command}-${children.length}.cpuprofile`,
      ]
    : [];
  const child = spawn(process.execPath, [...profile, CLI, command, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let ready = false;
    // BENCH_LOG_DIR=dir: each process's JSON log lines go to <dir>/<command>-<n>.log (request times, rounds).
    const log = process.env.BENCH_LOG_DIR
      ? createWriteStream(join(process.env.BENCH_LOG_DIR, `${command}-${children.length - 1}.log`))
      : undefined;
    // Keep reading (the API logs each request): a full pipe would stall the process. Only the
    // output before the ready line is kept and searched (searching all of it again on every
    // chunk cost the bench, which is also the clients, quadratic CPU).
    child.stdout.on('data', (d: Buffer) => {
      log?.write(d);
      if (ready) return;
      out += d.toString();
      const line = /electron-tuf server \w+ (listening on \S+|started)/.exec(out);
      if (line) {
        ready = true;
        resolve(line[0]);
      }
    });
    child.once('exit', () => log?.end());
    child.stderr.on('data', () => undefined);
    child.on('exit', (code) => reject(new Error(`electron-tuf-server ${command} exited (${code}): ${out}`)));
  });
}

export async function runServiceBench(o: ServiceBenchOptions): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const database = `etuf_bench_${suffix}`;
  const prefix = `etuf-bench-${suffix}`;
  await admin(`CREATE DATABASE ${database}`);
  const children: ChildProcess[] = [];
  try {
    const token = newToken();
    const data = await tempDir('etuf-bench-');
    const env = {
      ...o.storage?.env,
      ELECTRON_TUF_ADMIN_TOKEN: token,
      ELECTRON_TUF_DATABASE_URL: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`),
      ELECTRON_TUF_REDIS_URL: 'redis://127.0.0.1:6379',
      ELECTRON_TUF_REDIS_PREFIX: prefix,
    };
    // One API, two workers and a scheduler, each its own process (as deployed).
    const first = await startProcess('api', ['--data', data, '--port', '0'], env, children);
    const url = /listening on (http:\/\/\S+)/.exec(first)?.[1];
    if (!url) throw new Error(`no URL in the api's output: ${first}`);
    for (const command of ['worker', 'worker', 'scheduler'])
      await startProcess(command, ['--data', data], env, children);
    const b: Bench = { api: { url }, token, data };
    const label = o.storage ? `${o.storage.label}: ` : '';

    await bootstrap(b, 'app', 16);
    const idle = await sequential(b, 'app', '0', o.idle);
    o.record(
      `${label}idle add-to-published p50`,
      Math.round(p50(idle)),
      'ms',
      `${o.idle} sequential adds, max ${Math.round(Math.max(...idle))} ms; ${load()}`,
    );

    const total = o.requests * o.artifacts;
    // CPU of the burst: the service's processes, this process (the clients), the storage's own.
    const service = new Map(children.map((c, i) => [`${['api', 'worker', 'worker', 'scheduler'][i]}-${i}`, c.pid!]));
    const storage = (await o.storage?.processes?.()) ?? new Map<string, number>();
    const cpuBefore = { service: await cpuOf(service), storage: await cpuOf(storage), clients: ownCpuMs() };
    const r = await burst(b, 'app', '1', o.requests, o.artifacts);
    const serviceMs = cpuSpent(cpuBefore.service, await cpuOf(service));
    const storageMs = cpuSpent(cpuBefore.storage, await cpuOf(storage));
    const clientsMs = ownCpuMs() - cpuBefore.clients;
    o.record(
      `${label}burst ${o.requests} clients x ${o.artifacts} adds, all published`,
      Math.round(r.ms),
      'ms',
      `${r.succeeded}/${total} succeeded, all accepted after ${Math.round(r.acceptedMs)} ms, ${(r.ms / total).toFixed(1)} ms per artifact; ${load()}`,
    );
    const seconds = (ms: Record<string, number>): string =>
      Object.entries(ms)
        .map(([name, v]) => `${name} ${(v / 1000).toFixed(1)}`)
        .join(', ');
    o.record(
      `${label}burst: CPU of the service's processes and the clients`,
      Number(((sum(serviceMs) + clientsMs) / 1000).toFixed(1)),
      's',
      `${seconds(serviceMs)}, clients (the bench) ${(clientsMs / 1000).toFixed(1)}`,
    );
    if (storage.size > 0)
      o.record(
        `${label}burst: CPU of the storage's processes`,
        Number((sum(storageMs) / 1000).toFixed(1)),
        's',
        seconds(storageMs),
      );

    for (const size of o.sizes) {
      const name = `scale-${size}`;
      const repo = await bootstrap(b, name, 256);
      // Filled through the publisher library under its repository lock (the service's own files).
      const targets = Array.from({ length: size }, (_, i) => ({
        path: `filler/${i}.bin`,
        length: 1,
        hashes: { sha256: randomBytes(32).toString('hex') },
      }));
      const held = o.storage
        ? await o.storage.fill(name, repo.keys, targets, env.ELECTRON_TUF_DATABASE_URL)
        : (await addTargets({ repo: join(data, 'repositories', name), keys: repo.keys, targets }), '');
      const seq = await sequential(b, name, '0', Math.max(5, Math.floor(o.idle / 2)));
      o.record(
        `${label}${size} targets (256 bins): add-to-published p50`,
        Math.round(p50(seq)),
        'ms',
        `${held}${load()}`,
      );
      const n = Math.min(200, total);
      const burstAt = await burst(b, name, '1', Math.min(20, n), Math.ceil(n / Math.min(20, n)));
      o.record(
        `${label}${size} targets (256 bins): burst of ${n}, per add`,
        Number((burstAt.ms / n).toFixed(1)),
        'ms',
        `${burstAt.succeeded}/${n} succeeded; ${load()}`,
      );
    }
  } finally {
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(running.map((c) => new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')))));
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await cleanupTemp();
  }
}
