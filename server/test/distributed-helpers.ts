/**
 * Test helpers for the distributed mode on the machine's real PostgreSQL and Redis: a fresh
 * database and Redis key prefix per test file (other test runs share both services), and
 * service processes started from the built CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { DistributedOptions, Process } from '../src/distributed.js';
import { cleanupTemp } from '../../test/publisher/helpers.js';

export const ADMIN_URL = process.env.ETUF_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.ETUF_TEST_REDIS ?? 'redis://127.0.0.1:6379';
/** The server's built CLI (`npm run build` first, as `npm test` does). */
export const SERVER_CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

export interface Isolated {
  /** The database's name, created by `create`. */
  database: string;
  databaseUrl: string;
  /** Redis key prefix of this file's queues. */
  prefix: string;
  create(): Promise<void>;
  /** Drops the database and deletes the prefix's Redis keys. */
  drop(): Promise<void>;
  /** What every service process of this file is started with: this database and prefix, `data`, no logger. */
  options(data: string, env?: NodeJS.ProcessEnv): DistributedOptions & { prefix: string; logger: false };
}

/** Runs one statement on `url` (default: the admin connection to `test`, for CREATE / DROP DATABASE). */
export async function adminSql(sql: string, url = ADMIN_URL): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<pg.QueryResultRow>(sql)).rows;
  } finally {
    await client.end();
  }
}

export function isolated(tag = 'etuf'): Isolated {
  const suffix = randomBytes(4).toString('hex');
  const database = `${tag}_${suffix}`;
  const prefix = `${tag}-test-${suffix}`;
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${database}`);
  return {
    database,
    prefix,
    databaseUrl,
    options: (data, env = {}) => ({ databaseUrl, redisUrl: REDIS_URL, data, prefix, env, logger: false }),
    async create() {
      await adminSql(`CREATE DATABASE ${database}`);
    },
    async drop() {
      await adminSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      const redis = new Redis(REDIS_URL);
      try {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
      } finally {
        await redis.quit();
      }
    },
  };
}

/** Child processes a test started, killed (SIGKILL) by `killAll` in its afterAll. */
export class Children {
  private readonly all: ChildProcess[] = [];

  /** Starts `node args...`; resolves once its stdout says `ready`, rejects if it exits first. */
  start(args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.all.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes(ready) && resolve(child));
      child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before "${ready}": ${stderr}`)));
    });
  }

  /** Runs `node args...` to its end: exit code and output. */
  run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.all.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  killAll(): void {
    for (const c of this.all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** Closes service processes in the reverse of their start order (afterAll); a failed close is printed, the rest still closed. */
export async function closeAll(processes: Process[]): Promise<void> {
  for (const p of processes.reverse()) await p.close().catch((e: unknown) => console.error('close failed', e));
}

/**
 * The afterAll of a distributed test file: kills its child processes, closes its service
 * processes, drops its database and Redis keys, removes its temporary directories.
 */
export async function stopAll(services: Isolated, processes: Process[], children?: Children): Promise<void> {
  children?.killAll();
  await closeAll(processes);
  await services.drop();
  await cleanupTemp();
}

/** SIGKILL, and wait until the process is gone. */
export async function killNine(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A port free now (an API restarted on the same one, as behind a fixed address). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
