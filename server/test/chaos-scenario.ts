/**
 * The chaos scenario (issue 14), shared by server/test/chaos.test.ts and `npm run bench -- chaos`:
 * the service as separate processes (2 APIs, 3 workers, a scheduler) on PostgreSQL, BullMQ on
 * Redis and S3 (radosgw); `publishers` concurrent CI jobs adding `releases` releases each through
 * either API with the library the CLI's `repo add --server` uses; every `killEveryMs` a random API
 * or worker killed with SIGKILL and started again; a client refreshing from the bucket meanwhile.
 * It returns what happened; the caller judges it.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { serviceClient, submitRelease, waitForTask } from '../../publisher/cli/service-client.js';
import { makeRepo, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import { newToken } from '../src/tokens.js';
import { ChaosCluster } from './chaos-cluster.js';
import { Watcher, type WatchReport } from './chaos-watcher.js';
import { adminSql, REDIS_URL } from './distributed-helpers.js';
import { bootstrapBody, call, installerBytes } from './helpers.js';
import { freshDatabase, s3Fixture, type S3Fixture } from './s3-helpers.js';

export interface ChaosOptions {
  publishers: number;
  releases: number;
  killEveryMs: number;
}

/** One release a publisher added: acknowledged when its task was seen succeeded. */
export interface Added {
  version: string;
  path: string;
  bytes: Buffer;
  state: string;
  attempts: number;
  error?: string;
}

export interface ChaosRun {
  fx: S3Fixture;
  repo: TestRepo;
  added: Added[];
  kills: string[];
  watch: WatchReport;
  /** Tasks still pending once everything settled (bounded wait): must be none. */
  pending: number;
  seconds: number;
  close(): Promise<void>;
}

/** From the environment: ETUF_CHAOS_PUBLISHERS, ETUF_CHAOS_RELEASES, ETUF_CHAOS_KILL_MS. */
export function chaosOptions(fallback: ChaosOptions, env = process.env): ChaosOptions {
  const n = (v: string | undefined, d: number): number => {
    const x = v === undefined || v === '' ? d : Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`expected a positive whole number, got ${v}`);
    return x;
  };
  return {
    publishers: n(env.ETUF_CHAOS_PUBLISHERS, fallback.publishers),
    releases: n(env.ETUF_CHAOS_RELEASES, fallback.releases),
    killEveryMs: n(env.ETUF_CHAOS_KILL_MS, fallback.killEveryMs),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One CI job: its releases in turn, each through an API (the other one when it cannot be reached). */
async function publisher(apis: string[], token: string, p: number, o: ChaosOptions, work: string): Promise<Added[]> {
  const out: Added[] = [];
  for (let m = 0; m < o.releases; m++) {
    const version = `1.${p}.${m}`;
    const name = `App-${version}.zip`;
    const bytes = installerBytes(`chaos-${version}`, 1024 + p * o.releases + m);
    const file = join(work, name);
    await writeFile(file, bytes);
    out.push({ version, path: `${version}/${name}`, bytes, ...(await addOne(apis, token, p + m, file, version)) });
  }
  return out;
}

/**
 * Submits until an API takes it (an unreachable API was just killed; a retry of a release whose
 * answer was lost is identical, so it changes nothing), then waits for its task.
 */
async function addOne(apis: string[], token: string, turn: number, file: string, version: string) {
  let last: unknown;
  for (let attempt = 1; attempt <= 6; attempt++) {
    const client = serviceClient(apis[(turn + attempt) % apis.length], token);
    const release = { version, platform: 'linux', arch: 'x64' };
    let task: string;
    try {
      task = await submitRelease(client, 'app', [file], release, () => undefined);
    } catch (e) {
      last = e;
      await sleep(300 * attempt);
      continue;
    }
    try {
      const t = await waitForTask(client, task, () => undefined);
      return { state: t.state, attempts: attempt, error: t.error };
    } catch (e) {
      return { state: 'unknown', attempts: attempt, error: (e as Error).message };
    }
  }
  return { state: 'not-submitted', attempts: 6, error: (last as Error).message };
}

async function killLoop(cluster: ChaosCluster, everyMs: number, done: () => boolean, kills: string[]): Promise<void> {
  while (!done()) {
    await sleep(everyMs);
    if (done()) break;
    kills.push(await cluster.killOne());
  }
}

/** Waits (bounded) until no task is pending: an unacknowledged change may wait for the scheduler's sweep. */
async function settleAll(databaseUrl: string, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const rows = await adminSql(`SELECT count(*) AS n FROM tasks WHERE state = 'pending'`, databaseUrl);
    const n = Number(rows[0].n);
    if (n === 0 || Date.now() > deadline) return n;
    await sleep(500);
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosRun> {
  const started = Date.now();
  const fx = await s3Fixture();
  const db = await freshDatabase();
  const redisPrefix = `etuf-chaos-${randomBytes(4).toString('hex')}`;
  const adminToken = newToken();
  let cluster: ChaosCluster | undefined;
  let watcher: Watcher | undefined;
  const close = async (): Promise<void> => {
    await watcher?.stop();
    cluster?.killAll();
    await db.drop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    fx.client.destroy();
  };
  try {
    cluster = await ChaosCluster.start({ databaseUrl: db.url, redisPrefix, fx, adminToken });
    const repo = await makeRepo({ bins: 4 });
    const api = { url: cluster.apis[0] };
    const boot = await call(api, 'POST', '/api/v1/repositories', {
      token: adminToken,
      json: await bootstrapBody('app', repo),
    });
    if (boot.status !== 201) throw new Error(`bootstrap: ${boot.status} ${JSON.stringify(boot.body)}`);
    const ci = await call(api, 'POST', '/api/v1/tokens', {
      token: adminToken,
      json: { scope: 'publish', repository: 'app' },
    });
    const token = ci.body.token;

    watcher = new Watcher(fx.tree('app'), repo.trustedRoot);
    watcher.start();
    const work = await tempDir('etuf-chaos-ci-');
    let finished = false;
    const kills: string[] = [];
    const chaos = killLoop(cluster, o.killEveryMs, () => finished, kills);
    chaos.catch(() => undefined); // awaited below, after the publishers: a failed restart fails the run there
    const jobs = Array.from({ length: o.publishers }, (_, p) => publisher(cluster!.apis, token, p, o, work));
    const added = (await Promise.all(jobs)).flat();
    finished = true;
    await chaos;
    const pending = await settleAll(db.url, 90_000);
    // A last look after everything settled, then the watcher stops.
    await sleep(500);
    const watch = await watcher.stop();
    return { fx, repo, added, kills, watch, pending, seconds: (Date.now() - started) / 1000, close };
  } catch (e) {
    await close().catch((c: unknown) => console.error('chaos cleanup failed', c));
    throw e;
  }
}
