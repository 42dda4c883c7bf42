/**
 * Distributed mode: the API process killed with SIGKILL while ten `electron-tuf repo add
 * --server` processes upload and record releases, then restarted on the same port. Every add a
 * client saw acknowledged (exit 0 with its task) is published; every other one printed one
 * `error:` line; the served tree verifies. Real PostgreSQL and Redis, the API and the clients as
 * processes of the built CLIs (`npm run build` first, as `npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { cleanupTemp, makeRepo, ourClient, tempDir } from '../../test/publisher/helpers.js';
import { startSchedulerProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { bootstrapBody, call, installerBytes, settled, sha256 } from './helpers.js';

const SERVER_CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'publisher', 'cli', 'main.js');
const ADMIN_URL = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.ETUF_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const database = `etuf_api_${suffix}`;
const prefix = `etuf-test-api-${suffix}`;
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

/** A port free now (the API is restarted on the same one, as behind a fixed address). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startApi(data: string, port: number, adminToken: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      SERVER_CLI,
      'api',
      '--data',
      data,
      '--port',
      String(port),
      '--serve',
      '--database-url',
      databaseUrl,
      '--redis-url',
      REDIS_URL,
    ],
    {
      env: { ...process.env, ELECTRON_TUF_REDIS_PREFIX: prefix, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve(child));
    child.on('exit', (code) => reject(new Error(`api exited (${code}) before listening: ${stderr}`)));
  });
}

interface Outcome {
  version: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `electron-tuf repo add --server` as its own process. */
function add(url: string, token: string, file: string, version: string, wait: boolean): Promise<Outcome> {
  const args = [
    CLI,
    'repo',
    'add',
    'app',
    file,
    '--server',
    url,
    '--version',
    version,
    '--platform',
    'linux',
    '--arch',
    'x64',
  ];
  const child = spawn(process.execPath, wait ? args : [...args, '--no-wait'], {
    env: { ...process.env, ELECTRON_TUF_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ version, code, stdout, stderr })));
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function recordedChanges(): Promise<number> {
  return Number((await query<{ n: string }>('SELECT count(*) AS n FROM changes'))[0].n);
}

function taskIds(): Promise<Array<{ id: string }>> {
  return query<{ id: string }>('SELECT id FROM tasks');
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

describe('distributed mode, API process kill -9', () => {
  it('every acknowledged add is published; the others report an error; the tree verifies', async () => {
    await admin(`CREATE DATABASE ${database}`);
    const data = await tempDir('etuf-api-crash-');
    const adminToken = newToken();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let api = await startApi(data, port, adminToken);
    const common = { databaseUrl, redisUrl: REDIS_URL, data, prefix, env: {}, logger: false as const };
    processes.push(await startWorkerProcess(common));
    // A short interval: the sweep re-enqueues changes whose API process died before enqueueing them.
    processes.push(await startSchedulerProcess({ ...common, intervalMs: 1000 }));
    const repo = await makeRepo({ bins: 4 });
    const boot = { ...(await bootstrapBody('app', repo)), keys: { dir: repo.keys } };
    expect((await call({ url }, 'POST', '/api/v1/repositories', { token: adminToken, json: boot })).status).toBe(201);

    const work = await tempDir('etuf-api-crash-files-');
    const versions = Array.from({ length: 10 }, (_, i) => `5.${i}.0`);
    const bytes = versions.map((v, i) => installerBytes(`api-crash-${v}`, (1 + i) * 512 * 1024));
    const files = versions.map((v) => join(work, `App-${v}.zip`));
    for (const [i, f] of files.entries()) await writeFile(f, bytes[i]);
    // Half wait for publication (they must ride out the restart), half take the task id and go.
    const running = versions.map((v, i) => add(url, adminToken, files[i], v, i % 2 === 0));

    // Kill as soon as the API has recorded a few adds: the rest are mid-upload or not yet sent.
    const deadline = Date.now() + 60_000;
    while ((await recordedChanges()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise((r) => api.once('exit', r));
    api.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 500));
    api = await startApi(data, port, adminToken);

    const outcomes = await Promise.all(running);
    const acknowledged = outcomes.filter((o) => o.code === 0);
    // At least the adds recorded before the kill whose answers arrived; one recorded in the very
    // moment of the kill may have lost its answer (its client reports an error, see below).
    expect(acknowledged.length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) {
      if (o.code === 0) expect(o.stdout, o.version).toMatch(/^(task \S+|published \(task \S+\))$/m);
      else expect(o.stderr.trim().split('\n').at(-1), o.version).toMatch(/^error: /);
    }
    for (const o of acknowledged) {
      const task = /task (\S+?)\)?$/m.exec(o.stdout)![1];
      expect((await settled({ url }, adminToken, task)).body.state, o.version).toBe('succeeded');
    }

    // Every recorded change, acknowledged or not (its answer lost with the process), is settled published.
    for (const { id } of await taskIds()) expect((await settled({ url }, adminToken, id)).body.state).toBe('succeeded');
    expect((await verifyRepository({ repo: join(data, 'repositories', 'app') })).problems).toEqual([]);
    const paths = acknowledged.map((o) => `${o.version}/App-${o.version}.zip`);
    const view = await ourClient(
      { metadataUrl: `${url}/repositories/app/metadata/`, targetsUrl: `${url}/repositories/app/targets/` },
      repo.trustedRoot,
      paths,
    );
    for (const o of acknowledged) {
      const i = versions.indexOf(o.version);
      expect(sha256(view.files.get(`${o.version}/App-${o.version}.zip`)!), o.version).toBe(sha256(bytes[i]));
    }
  }, 180_000);
});
