/**
 * The distributed mode on the real PostgreSQL (a fresh database per run) and Redis (a fresh
 * key prefix): one API, two workers, a scheduler; 16 concurrent adds all published; the refresh
 * schedule runs once per tick with three workers and two schedulers.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { isolated, REDIS_URL, stopAll } from './distributed-helpers.js';
import { addRelease, bootstrapRepository, installerBytes, publishToken, settled } from './helpers.js';
import { expectServed } from './release-assertions.js';

const services = isolated();
const { prefix } = services;
const adminToken = newToken();
const processes: Process[] = [];
let data: string;
let api: Awaited<ReturnType<typeof startApiProcess>>;
let repo: TestRepo;

beforeAll(async () => {
  await services.create();
  data = await tempDir('etuf-dist-');
  const common = services.options(data, { ELECTRON_TUF_ADMIN_TOKEN: adminToken });
  api = await startApiProcess({ ...common, port: 0, serveRepositories: true });
  processes.push(api);
  processes.push(await startWorkerProcess(common), await startWorkerProcess(common));
  processes.push(await startSchedulerProcess({ ...common, intervalMs: 3_600_000 }));
  repo = await makeRepo({ bins: 8 });
}, 120_000);

afterAll(() => stopAll(services, processes), 60_000);

describe('distributed mode', () => {
  it('publishes 16 concurrent adds of different versions, each acknowledged release in the metadata', async () => {
    await bootstrapRepository(api, adminToken, 'app', repo);
    const ci = await publishToken(api, adminToken, 'app');
    const versions = Array.from({ length: 16 }, (_, i) => `1.${i}.0`);
    const files = versions.map((v) => installerBytes(`dist-${v}`, 4096 + versions.indexOf(v)));
    const answers = await Promise.all(
      versions.map((v, i) => addRelease(api, ci, 'app', { version: v, files: { [`App-${v}.zip`]: files[i] } })),
    );
    expect(answers.map((a) => a.status)).toEqual(versions.map(() => 202));
    const tasks = await Promise.all(answers.map((a) => settled(api, ci, a.body.task)));
    expect(tasks.map((t) => t.body.state)).toEqual(versions.map(() => 'succeeded'));
    await expectServed(api, data, repo, versions, files);
  });
});

describe('scheduler', () => {
  it('runs the refresh once per tick with three workers and two schedulers', async () => {
    const sched = `${prefix}-sched`;
    const runs: string[] = [];
    const common = { ...services.options(data), prefix: sched };
    const started: Process[] = [];
    try {
      for (let i = 0; i < 3; i++)
        started.push(await startWorkerProcess({ ...common, onRefresh: (id) => runs.push(id) }));
      started.push(
        await startSchedulerProcess({ ...common, intervalMs: 300 }),
        await startSchedulerProcess({ ...common, intervalMs: 300 }),
      );
      while (runs.length < 6) await new Promise((r) => setTimeout(r, 100));
    } finally {
      for (const p of started) await p.close();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${sched}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
    // Each run is one tick of the one schedule: its job id names the tick; no tick ran twice.
    expect(new Set(runs).size).toBe(runs.length);
    const ticks = runs.map((id) => Number(/(\d+)$/.exec(id)?.[1]));
    expect(ticks.every((t) => Number.isFinite(t))).toBe(true);
    expect(new Set(ticks).size).toBe(ticks.length);
  }, 60_000);
});
