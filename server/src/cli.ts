#!/usr/bin/env node
/**
 * `electron-tuf server <command>` (also the `electron-tuf-server` bin):
 *   start --data DIR [--port N] [--host H]   embedded mode: API, worker and scheduler in one process
 *   api | worker | scheduler --data DIR --database-url URL --redis-url URL   distributed mode
 *   gc --data DIR --database-url URL [--dry-run]   garbage collection, once
 * A process stops gracefully on SIGTERM or SIGINT and exits 0 (a second signal exits at once, 1).
 */
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ValueError } from 'electron-tuf/core';
import { portOf, storageOf, wholeNumber } from './cli-values.js';
import type { Process } from './distributed.js';
import { DEFAULT_UPLOAD_GRACE_DAYS } from './gc-defaults.js';

const USAGE = `usage: electron-tuf server start --data DIR [--port 8080] [--host 127.0.0.1]
  Runs the repository service in one process (embedded database, storage on disk).
  The first admin token is written to DIR/admin-token, unless ELECTRON_TUF_ADMIN_TOKEN is set.
       electron-tuf server api|worker|scheduler --data DIR --database-url postgres://... --redis-url redis://...
  The distributed mode: any number of each process, sharing DIR, PostgreSQL and Redis
  (also from ELECTRON_TUF_DATABASE_URL and ELECTRON_TUF_REDIS_URL; ELECTRON_TUF_REDIS_PREFIX
  namespaces the queues, default etuf). api takes --port/--host and
  --serve (serve the repositories read-only too); worker takes --concurrency N; scheduler --interval-minutes N.
  Every process takes --metrics-port N: /livez, /readyz and /metrics on that port (on --host);
  without it the API and start serve them on their own port, workers and schedulers not at all.
  start and scheduler take --gc-interval-minutes N (default 1440; 0: no scheduled gc),
  --keep-snapshots K (default 10), --grace-days D (default 7) and --upload-grace-days U (default 1).
  start and api count unused uploads requested in the last U days against the cap (429): give
  api and scheduler the same --upload-grace-days.
       electron-tuf server gc --data DIR --database-url postgres://... [--repository NAME]
                              [--keep-snapshots 10] [--grace-days 7] [--upload-grace-days 1] [--dry-run]
  Deletes metadata versions no client can need (every root and the last K snapshots with what
  they list stay), old channel index files, the files of releases yanked more than D days ago and
  uploads no release used, requested more than U days ago; --dry-run lists them.
  Every command takes --storage s3://bucket/prefix (or ELECTRON_TUF_STORAGE): repositories and uploads on an
  S3-compatible store (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY); clients then read the bucket, not --serve. Default: on disk under DIR.`;

export const SERVER_OPTIONS = {
  data: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'database-url': { type: 'string' },
  'redis-url': { type: 'string' },
  serve: { type: 'boolean' },
  storage: { type: 'string' },
  concurrency: { type: 'string' },
  'interval-minutes': { type: 'string' },
  'metrics-port': { type: 'string' },
  'gc-interval-minutes': { type: 'string' },
  'keep-snapshots': { type: 'string' },
  'grace-days': { type: 'string' },
  'upload-grace-days': { type: 'string' },
  repository: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

export type ServerValues = {
  [K in keyof typeof SERVER_OPTIONS]?: (typeof SERVER_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

export interface ServerIO {
  stdout(line: string): void;
  stderr(line: string): void;
}

const COMMANDS = ['start', 'api', 'worker', 'scheduler', 'gc'];

export async function runServerCommand(argv: string[], io: ServerIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) io.stderr(USAGE);
    else io.stdout(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (!COMMANDS.includes(command)) {
    io.stderr(`error: unknown server command ${JSON.stringify(command)}; expected ${COMMANDS.join(', ')}`);
    return 1;
  }
  let server: Process;
  let signals: SignalTrap | undefined;
  try {
    const { values } = parseArgs({ args: rest, options: SERVER_OPTIONS, strict: true });
    if (!values.data)
      throw new ValueError('--data DIR is required (where the database, repositories and uploads live)');
    // Each command loads its own modules (import() below): --help and usage errors load none of
    // them, a worker no HTTP framework, the disk storage no AWS SDK (each load costs CPU-seconds).
    if (command === 'gc') {
      const { databaseUrl } = distributedUrls(values);
      const { runGcCommand } = await import('./cli-gc.js');
      return await runGcCommand(values, databaseUrl, io);
    }
    // Trapped before starting: a SIGTERM that arrives while the process starts (or just after
    // it said it started) closes it once started, instead of killing it mid-way.
    signals = new SignalTrap(io);
    server = await startProcess(command, values, io);
  } catch (e) {
    signals?.release();
    // Usage errors (and parseArgs' own) are one line; anything else is a failure with its stack.
    if (!(e instanceof ValueError) && !String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw e;
    io.stderr(`error: ${(e as Error).message}`);
    return 1;
  }
  return signals.closeOnSignal(server);
}

async function startProcess(command: string, values: ServerValues, io: ServerIO): Promise<Process> {
  const data = values.data!;
  const port = portOf(values.port, 'port') ?? 8080;
  const metricsPort = portOf(values['metrics-port'], 'metrics-port');
  const gc = {
    intervalMs: wholeNumber(values['gc-interval-minutes'], 'gc-interval-minutes', 1440, 0) * 60_000,
    keepSnapshots: wholeNumber(values['keep-snapshots'], 'keep-snapshots', 10, 1),
    graceDays: wholeNumber(values['grace-days'], 'grace-days', 7, 0),
    // gc's for start and scheduler; for start and api also the window of the cap on unused uploads.
    uploadGraceDays: wholeNumber(values['upload-grace-days'], 'upload-grace-days', DEFAULT_UPLOAD_GRACE_DAYS, 0),
  };
  const storage = storageOf(values);
  if (command === 'start') {
    const { startEmbedded } = await import('./embedded.js');
    const s = await startEmbedded({ data, port, host: values.host, metricsPort, gc, storage });
    io.stdout(
      `electron-tuf server listening on ${s.url} (API ${s.url}/api/v1, repositories ${s.url}/repositories/<name>/)`,
    );
    return s;
  }
  const common = {
    data,
    ...distributedUrls(values, true),
    prefix: process.env.ELECTRON_TUF_REDIS_PREFIX || undefined,
    metricsPort,
    host: values.host,
    storage,
  };
  const { startApiProcess, startSchedulerProcess, startWorkerProcess } = await import('./distributed.js');
  if (command === 'api') {
    const s = await startApiProcess({
      ...common,
      port,
      serveRepositories: values.serve === true,
      uploadGraceDays: gc.uploadGraceDays,
    });
    io.stdout(`electron-tuf server api listening on ${s.url}${s.opsUrl ? ` (metrics on ${s.opsUrl})` : ''}`);
    return s;
  }
  if (command === 'worker') {
    const s = await startWorkerProcess({
      ...common,
      concurrency: wholeNumber(values.concurrency, 'concurrency', 2, 1),
    });
    io.stdout(`electron-tuf server worker started${s.opsUrl ? ` (metrics on ${s.opsUrl})` : ''}`);
    return s;
  }
  const s = await startSchedulerProcess({
    ...common,
    intervalMs: wholeNumber(values['interval-minutes'], 'interval-minutes', 60, 1) * 60_000,
    gc,
  });
  io.stdout(`electron-tuf server scheduler started${s.opsUrl ? ` (metrics on ${s.opsUrl})` : ''}`);
  return s;
}

function distributedUrls(values: ServerValues, redis = false): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = values['database-url'] ?? process.env.ELECTRON_TUF_DATABASE_URL;
  const redisUrl = values['redis-url'] ?? process.env.ELECTRON_TUF_REDIS_URL;
  if (!databaseUrl || (redis && !redisUrl))
    throw new ValueError(
      redis
        ? 'the distributed mode needs --database-url and --redis-url (or ELECTRON_TUF_DATABASE_URL and ELECTRON_TUF_REDIS_URL)'
        : 'gc needs --database-url (or ELECTRON_TUF_DATABASE_URL); the embedded mode (start) collects on its own schedule',
    );
  return { databaseUrl, redisUrl: redisUrl ?? '' };
}

/**
 * SIGTERM and SIGINT close the process gracefully (it turns unready, finishes what is under way,
 * hands queued work back) and the command resolves 0; a second signal exits at once with 1.
 */
class SignalTrap {
  private signalled = false;
  private closing = false;
  private onSignal: (() => void) | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.closing) {
      this.io.stderr(`electron-tuf server: ${signal} again, exiting without waiting`);
      process.exit(1);
    }
    this.signalled = true;
    this.onSignal?.();
  };

  constructor(private readonly io: ServerIO) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  release(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  /** Resolves once a signal came (maybe already) and `server` closed: 0, or 1 when closing failed. */
  closeOnSignal(server: Process): Promise<number> {
    return new Promise((resolve) => {
      this.onSignal = () => {
        if (this.closing) return;
        this.closing = true;
        server.close().then(
          () => resolve(0),
          (e: unknown) => {
            this.io.stderr(`electron-tuf server: shutdown failed: ${(e as Error).stack ?? String(e)}`);
            resolve(1);
          },
        );
      };
      if (this.signalled) this.onSignal();
    });
  }
}

async function isEntryPoint(): Promise<boolean> {
  const started = process.argv[1];
  if (!started) return false;
  // An argv[1] that names no file (a REPL, `node -e`) is compared as given: it is not this file.
  const [a, b] = await Promise.all([realpath(started).catch(() => started), realpath(fileURLToPath(import.meta.url))]);
  return a === b;
}

if (await isEntryPoint()) {
  const code = await runServerCommand(process.argv.slice(2), {
    stdout: (l) => console.log(l),
    stderr: (l) => console.error(l),
  }).catch((e: unknown) => {
    // A start refused (object store without conditional writes, database unreachable): one clear line.
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  });
  // Closed clients may still hold timers (retry backoffs); the process is done.
  process.exit(code);
}
