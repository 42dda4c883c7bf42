/**
 * Distributed mode: a worker process killed with SIGKILL while publishing, a new worker started:
 * every accepted change is published, the tree verifies. Real PostgreSQL and Redis, the worker
 * as its own process (the built CLI: `npm run build` first, as `npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { cleanupTemp, makeRepo, ourClient, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { addRelease, bootstrapBody, call, installerBytes, settled, sha256 } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const ADMIN_URL = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.ETUF_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const database = `etuf_${suffix}`;
const prefix = `etuf-test-${suffix}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${database}`);
const children: ChildProcess[] = [];
const processes: Process[] = [];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function startWorker(data: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--data', data, '--database-url', databaseUrl, '--redis-url', REDIS_URL],
    {
      env: { ...process.env, ELECTRON_TUF_REDIS_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('worker started') && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before starting: ${stderr}`)));
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of processes.reverse()) await p.close().catch((e: unknown) => console.error('close failed', e));
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await cleanupTemp();
}, 60_000);

describe('distributed mode, kill -9', () => {
  it('a worker killed mid-publish and replaced loses no accepted release', async () => {
    await admin(`CREATE DATABASE ${database}`);
    const data = await tempDir('etuf-dist-crash-');
    const adminToken = newToken();
    const common = {
      databaseUrl,
      redisUrl: REDIS_URL,
      data,
      prefix,
      env: { ELECTRON_TUF_ADMIN_TOKEN: adminToken },
      logger: false as const,
    };
    const api = await startApiProcess({ ...common, port: 0, serveRepositories: true });
    processes.push(api);
    // A short interval: the scheduler's sweep re-enqueues the work of the killed worker's jobs.
    processes.push(await startSchedulerProcess({ ...common, intervalMs: 1000 }));
    const repo = await makeRepo({ bins: 4 });
    expect(
      (await call(api, 'POST', '/api/v1/repositories', { token: adminToken, json: await bootstrapBody('app', repo) }))
        .status,
    ).toBe(201);

    const first = await startWorker(data);
    const versions = Array.from({ length: 8 }, (_, i) => `4.${i}.0`);
    const files = versions.map((v) => installerBytes(`dist-crash-${v}`));
    const tasks: string[] = [];
    for (const [i, v] of versions.entries()) {
      const a = await addRelease(api, adminToken, 'app', { version: v, files: { [`App-${v}.zip`]: files[i] } });
      expect(a.status).toBe(202);
      tasks.push(a.body.task);
    }
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;
    await startWorker(data);

    const states = await Promise.all(tasks.map(async (t) => (await settled(api, adminToken, t)).body.state));
    expect(states).toEqual(versions.map(() => 'succeeded'));
    expect((await verifyRepository({ repo: join(data, 'repositories', 'app') })).problems).toEqual([]);
    const paths = versions.map((v) => `${v}/App-${v}.zip`);
    const view = await ourClient(
      { metadataUrl: `${api.url}/repositories/app/metadata/`, targetsUrl: `${api.url}/repositories/app/targets/` },
      repo.trustedRoot,
      paths,
    );
    expect(paths.map((p, i) => sha256(view.files.get(p)!) === sha256(files[i]))).toEqual(paths.map(() => true));
  }, 120_000);
});
