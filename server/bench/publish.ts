/**
 * Service publish figures (not a test): distributed mode (one API, two workers) on the local
 * PostgreSQL and Redis. Prints the add-to-published latency when idle (p50 of sequential adds)
 * and the time to publish a burst of concurrent adds. Usage:
 *   npx vite-node server/bench/publish.ts -- [burst=200] [idle=20]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Redis } from 'ioredis';
import { cleanupTemp, makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { addRelease, bootstrapBody, call, installerBytes, settled } from '../test/helpers.js';

const [burst = 200, idle = 20] = process.argv.slice(2).filter((a) => a !== '--').map(Number);
const ADMIN_URL = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const suffix = randomBytes(4).toString('hex');
const database = `etuf_bench_${suffix}`;
const prefix = `etuf-bench-${suffix}`;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

await admin(`CREATE DATABASE ${database}`);
const procs: Process[] = [];
try {
  const token = newToken();
  const common = { databaseUrl: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`), redisUrl: 'redis://127.0.0.1:6379', data: await tempDir('etuf-bench-'), prefix, env: { ELECTRON_TUF_ADMIN_TOKEN: token }, logger: false as const };
  const api = await startApiProcess({ ...common, port: 0 });
  procs.push(api, await startWorkerProcess(common), await startWorkerProcess(common), await startSchedulerProcess(common));
  const repo = await makeRepo({ bins: 16 });
  await call(api, 'POST', '/api/v1/repositories', { token, json: await bootstrapBody('app', repo) });

  const latencies: number[] = [];
  for (let i = 0; i < idle; i++) {
    const t = performance.now();
    const a = await addRelease(api, token, 'app', { version: `0.${i}.0`, files: { [`App-0.${i}.0.zip`]: installerBytes(`idle-${i}`, 1024) } });
    await settled(api, token, a.body.task);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  console.log(`idle: ${idle} sequential adds, add-to-published p50 ${latencies[Math.floor(idle / 2)].toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`);

  const t = performance.now();
  const answers = await Promise.all(Array.from({ length: burst }, (_, i) => addRelease(api, token, 'app', { version: `1.${i}.0`, files: { [`App-1.${i}.0.zip`]: installerBytes(`burst-${i}`, 1024) } })));
  const accepted = performance.now() - t;
  // One poller (not one per task: 200 pollers would measure the API's polling load instead).
  while ((await call(api, 'GET', '/api/v1/repositories/app/releases/pending', { token })).body.pending.length > 0) await new Promise((r) => setTimeout(r, 100));
  const states = await Promise.all(answers.map((a) => settled(api, token, a.body.task)));
  const total = performance.now() - t;
  console.log(`burst: ${burst} concurrent adds accepted in ${accepted.toFixed(0)} ms, all published in ${total.toFixed(0)} ms (${(total / burst).toFixed(1)} ms per add); ${states.filter((s) => s.body.state === 'succeeded').length} succeeded`);
} finally {
  for (const p of procs.reverse()) await p.close().catch(() => undefined);
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await cleanupTemp();
}
