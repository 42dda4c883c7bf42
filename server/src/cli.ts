#!/usr/bin/env node
/**
 * `electron-tuf server <command>` (also the `electron-tuf-server` bin):
 *   start --data DIR [--port N] [--host H]   embedded mode: API, worker and scheduler in one process
 *   api | worker | scheduler --data DIR --database-url URL --redis-url URL   distributed mode
 */
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApiProcess, startSchedulerProcess, startWorkerProcess, type Process } from './distributed.js';
import { startEmbedded } from './embedded.js';
import { STORAGE_ENV } from './storage/index.js';

const USAGE = `usage: electron-tuf server start --data DIR [--port 8080] [--host 127.0.0.1]
  Runs the repository service in one process (embedded database, storage on disk).
  The first admin token is written to DIR/admin-token, unless ELECTRON_TUF_ADMIN_TOKEN is set.
       electron-tuf server api|worker|scheduler --data DIR --database-url postgres://... --redis-url redis://...
  The distributed mode: any number of each process, sharing DIR, PostgreSQL and Redis
  (also from ELECTRON_TUF_DATABASE_URL and ELECTRON_TUF_REDIS_URL; ELECTRON_TUF_REDIS_PREFIX
  namespaces the queues, default etuf). api takes --port/--host and
  --serve (serve the repositories read-only too); worker takes --concurrency N; scheduler --interval-minutes N.
  Every command takes --storage s3://bucket/prefix (or ELECTRON_TUF_STORAGE): repositories and uploads on an
  S3-compatible store (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY); clients then read the bucket, not --serve. Default: on disk under DIR.`;

const OPTIONS = {
  data: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'database-url': { type: 'string' },
  'redis-url': { type: 'string' },
  serve: { type: 'boolean' },
  storage: { type: 'string' },
  concurrency: { type: 'string' },
  'interval-minutes': { type: 'string' },
} as const;

export interface ServerIO {
  stdout(line: string): void;
  stderr(line: string): void;
}

export async function runServerCommand(argv: string[], io: ServerIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) io.stderr(USAGE);
    else io.stdout(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (!['start', 'api', 'worker', 'scheduler'].includes(command)) {
    io.stderr(`error: unknown server command ${JSON.stringify(command)}; expected start, api, worker or scheduler`);
    return 1;
  }
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS, strict: true }));
  } catch (e) {
    io.stderr(`error: ${(e as Error).message}`);
    return 1;
  }
  if (!values.data) {
    io.stderr('error: --data DIR is required (where the database, repositories and uploads live)');
    return 1;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr(`error: --port must be a port number, got ${values.port}`);
    return 1;
  }
  const storage = values.storage ?? (process.env[STORAGE_ENV] || undefined);
  if (storage?.startsWith('s3://') && values.serve) {
    io.stderr(
      'error: --serve serves repositories from disk; with --storage s3://... clients read the bucket (or a CDN)',
    );
    return 1;
  }
  let server: Process;
  if (command === 'start') {
    const s = await startEmbedded({ data: values.data, port, host: values.host, storage });
    io.stdout(
      `electron-tuf server listening on ${s.url} (API ${s.url}/api/v1, repositories ${s.url}/repositories/<name>/)`,
    );
    server = s;
  } else {
    const databaseUrl = values['database-url'] ?? process.env.ELECTRON_TUF_DATABASE_URL;
    const redisUrl = values['redis-url'] ?? process.env.ELECTRON_TUF_REDIS_URL;
    if (!databaseUrl || !redisUrl) {
      io.stderr(
        'error: the distributed mode needs --database-url and --redis-url (or ELECTRON_TUF_DATABASE_URL and ELECTRON_TUF_REDIS_URL)',
      );
      return 1;
    }
    const common = {
      data: values.data,
      databaseUrl,
      redisUrl,
      prefix: process.env.ELECTRON_TUF_REDIS_PREFIX || undefined,
      storage,
    };
    const count = (v: string | undefined, name: string, fallback: number): number => {
      const n = v === undefined ? fallback : Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
      return n;
    };
    if (command === 'api') {
      const s = await startApiProcess({ ...common, port, host: values.host, serveRepositories: values.serve === true });
      io.stdout(`electron-tuf server api listening on ${s.url}`);
      server = s;
    } else if (command === 'worker') {
      server = await startWorkerProcess({ ...common, concurrency: count(values.concurrency, 'concurrency', 2) });
      io.stdout('electron-tuf server worker started');
    } else {
      server = await startSchedulerProcess({
        ...common,
        intervalMs: count(values['interval-minutes'], 'interval-minutes', 60) * 60_000,
      });
      io.stdout('electron-tuf server scheduler started');
    }
  }
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

async function isEntryPoint(): Promise<boolean> {
  const started = process.argv[1];
  if (!started) return false;
  const [a, b] = await Promise.all([realpath(started).catch(() => started), realpath(fileURLToPath(import.meta.url))]);
  return a === b;
}

if (await isEntryPoint()) {
  process.exitCode = await runServerCommand(process.argv.slice(2), {
    stdout: (l) => console.log(l),
    stderr: (l) => console.error(l),
  }).catch((e: unknown) => {
    // A start refused (object store without conditional writes, database unreachable): one clear line.
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  });
  // Clients (database pools, S3 sockets) opened before a failed start must not keep the process alive.
  if (process.exitCode === 1) process.exit(1);
}
