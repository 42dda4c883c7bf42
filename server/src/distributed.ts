/**
 * The distributed mode: state in PostgreSQL, jobs through BullMQ on Redis, and three kinds of
 * process, any number of each, sharing the data directory (repositories and uploads; one
 * machine, or a shared file system):
 *   api        HTTP API; records changes and enqueues "repository R has work"
 *   worker     publishes: per repository, under a PostgreSQL advisory lock, until nothing is pending
 *   scheduler  registers the refresh and gc job schedulers (BullMQ runs each once per interval,
 *              whatever the number of schedulers and workers) and re-enqueues forgotten pending work
 *
 * Each serves /livez, /readyz and /metrics (the API on its port, the others on --metrics-port),
 * logs JSON lines, and shuts down gracefully: it turns unready, the API finishes the requests
 * under way, a worker finishes the publish round under way and hands the rest of its job back
 * to the queue, then it exits.
 *
 * Every trigger is its own job (no deduplication: BullMQ drops a deduplicated add while the job
 * is active, which would strand a change), but an API process coalesces the triggers of a burst
 * (coalesce.ts): each change is answered after a job added once it was committed. A job waits for the repository's lock and drains; the
 * jobs behind it find nothing pending and finish at once.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { FastifyServerOptions } from 'fastify';
import type { Api } from './api/app.js';
import { pendingCounts, repositoriesWithPending } from './changes.js';
import { coalescing } from './coalesce.js';
import { openPostgres, type Db } from './db.js';
import { DEFAULT_MAX_UNUSED_UPLOADS } from './upload-records.js';
import { ServiceError } from './errors.js';
import { collectAll, DEFAULT_UPLOAD_GRACE_DAYS, type GcSettings } from './gc.js';
import { databaseCheck, queueCheck, storageCheck } from './ops/checks.js';
import { startOpsServer, type OpsServer } from './ops/endpoints.js';
import { timestampExpiries } from './ops/expiry.js';
import { Health } from './ops/health.js';
import { processLogger, type Logger } from './ops/log.js';
import { ServiceMetrics } from './ops/metrics.js';
import { shutDown } from './ops/shutdown.js';
import type { Repositories } from './repositories.js';
import { logRefresh, refreshAll } from './scheduler.js';
import { migrate } from './schema.js';
import { openServiceStorage, type ServiceStorage } from './storage/index.js';
import { PublishWorker } from './worker.js';

export const PUBLISH_QUEUE = 'etuf-publish';
export const REFRESH_QUEUE = 'etuf-refresh';
const REFRESH_SCHEDULER = 'refresh-all';
const GC_SCHEDULER = 'gc-all';

export interface DistributedOptions {
  /** postgres://... */
  databaseUrl: string;
  /** redis://host:port[/db] */
  redisUrl: string;
  /** The shared data directory (repositories/, uploads/). */
  data: string;
  /** Redis key prefix (several services, or tests, on one Redis). Default `etuf`. */
  prefix?: string;
  /** `s3://bucket/prefix` for the object store; default: disk under `data`. */
  storage?: string;
  env?: NodeJS.ProcessEnv;
  /** false: no logs; pino options (with `stream`); default JSON lines on stdout. */
  logger?: FastifyServerOptions['logger'];
  /** Serve /livez, /readyz and /metrics on this port (0: any free one). The API then serves /metrics only there. */
  metricsPort?: number;
  /** Interface of the API and of the metrics port; default 127.0.0.1. */
  host?: string;
}

export interface Process {
  /** The operations endpoints' base URL, when --metrics-port was given. */
  opsUrl?: string;
  close(): Promise<void>;
}

export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new Error(`expected a redis:// URL, got ${u.protocol}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  // maxRetriesPerRequest null: BullMQ workers block on Redis and must not give up on a slow reply.
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db,
    password: u.password || undefined,
    maxRetriesPerRequest: null,
  };
}

interface State {
  db: Db;
  repositories: Repositories;
  storage: ServiceStorage;
  blobs: ServiceStorage['uploads'];
  data: string;
  log: Logger;
  metrics: ServiceMetrics;
}

async function openState(o: DistributedOptions, component: string): Promise<State> {
  const data = resolve(o.data);
  const log = processLogger(component, o.logger);
  // As the embedded mode does: a fresh deployment's data directory exists (and is private) from the start.
  await mkdir(data, { recursive: true, mode: 0o700 });
  const db = await openPostgres(o.databaseUrl, (e) => log.error({ err: e }, 'idle PostgreSQL connection lost'));
  try {
    await migrate(db);
    const storage = await openServiceStorage(db, data, o.storage, o.env ?? process.env);
    const { repositories, uploads: blobs } = storage;
    return { db, data, log, repositories, storage, blobs, metrics: new ServiceMetrics(log) };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/** The health of a process and, with --metrics-port, its operations listener. */
async function startOps(o: DistributedOptions, state: State, health: Health): Promise<OpsServer | undefined> {
  if (o.metricsPort === undefined) return undefined;
  return startOpsServer({ health, metrics: state.metrics }, o.metricsPort, o.host ?? '127.0.0.1', state.log);
}

function healthOf(state: State, queue: Queue): Health {
  return new Health([databaseCheck(state.db), queueCheck(queue), storageCheck(state.storage)], (check, reason) =>
    state.log.warn({ check, reason }, 'readiness check failed'),
  );
}

const JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: 1000,
  removeOnFail: 5000,
} as const;

export async function startApiProcess(
  o: DistributedOptions & {
    port?: number;
    maxUploadBytes?: number;
    maxUnusedUploads?: number;
    /** The upload grace period of the cap's window, days: the scheduler's gc setting (default 1). */
    uploadGraceDays?: number;
    serveRepositories?: boolean;
  },
): Promise<Process & { url: string; app: Api; db: Db }> {
  // Only the API process loads the HTTP framework (Fastify, through app.js and embedded.js).
  const [{ buildApi }, { DEFAULT_MAX_UPLOAD_BYTES, ensureAdminToken }] = await Promise.all([
    import('./api/app.js'),
    import('./embedded.js'),
  ]);
  const state = await openState(o, 'api');
  const { db, repositories, log, metrics, storage } = state;
  await ensureAdminToken(db, undefined, (o.env ?? process.env).ELECTRON_TUF_ADMIN_TOKEN);
  const queue = new Queue(PUBLISH_QUEUE, { connection: redisConnection(o.redisUrl), prefix: o.prefix ?? 'etuf' });
  const health = healthOf(state, queue);
  const app = await buildApi({
    db,
    repositories,
    blobs: storage.uploads,
    trigger: coalescing(async (repository) => void (await queue.add('publish', { repository }, JOB_OPTIONS))),
    maxUploadBytes: o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    maxUnusedUploads: o.maxUnusedUploads ?? DEFAULT_MAX_UNUSED_UPLOADS,
    uploadGraceDays: o.uploadGraceDays ?? DEFAULT_UPLOAD_GRACE_DAYS,
    // With an object store, clients read the bucket (through a CDN): the API has no tree to serve.
    serveRepositories: (o.serveRepositories ?? false) && storage.kind === 'disk',
    log,
    ops: { health, metrics, serveMetrics: o.metricsPort === undefined },
  });
  const url = await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  const ops = await startOps(o, state, health);
  return {
    url,
    app,
    db,
    opsUrl: ops?.url,
    close: () =>
      // Stops accepting, answers the requests under way (Fastify's close), then lets go of the rest.
      shutDown(
        health,
        log,
        async () => {
          await app.close();
          await queue.close();
        },
        [() => ops?.close(), () => db.close(), () => Promise.resolve(storage.close())],
      ),
  };
}

export async function startWorkerProcess(
  o: DistributedOptions & {
    concurrency?: number;
    /** Told of each refresh job (tests). */ onRefresh?: (jobId: string) => void;
  },
): Promise<Process> {
  const state = await openState(o, 'worker');
  const { db, repositories, blobs, log, metrics, storage } = state;
  const env = o.env ?? process.env;
  const publisher = new PublishWorker(db, repositories, blobs, env, (settled) => metrics.observeSettled(settled));
  const connection = redisConnection(o.redisUrl);
  const prefix = o.prefix ?? 'etuf';
  let stopping = false;
  const publish = new Worker(
    PUBLISH_QUEUE,
    async (job, token) => {
      const repository = String((job.data as { repository?: unknown }).repository);
      const r = await db.withLock(`publish:${repository}`, () => publisher.drainUntil(repository, () => stopping));
      if (r.settled > 0) log.info({ repository, job: job.id, settled: r.settled }, 'published');
      if (!r.stopped) return r.settled;
      // Shutting down: the round under way is published and settled; the rest of the job goes back
      // to the queue now (not after the stall timeout) for another worker, without using an attempt.
      log.info({ repository, job: job.id }, 'shutting down: job handed back to the queue');
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    },
    { connection, prefix, concurrency: o.concurrency ?? 2 },
  );
  const refresh = new Worker(
    REFRESH_QUEUE,
    async (job) => {
      if (job.name === 'gc') return runGc(state, job);
      o.onRefresh?.(job.id ?? '');
      await refreshAll(repositories, env, logRefresh(log), (repository, fn) =>
        db.withLock(`publish:${repository}`, fn),
      );
    },
    { connection, prefix, concurrency: 1 },
  );
  for (const [queue, worker] of [
    [PUBLISH_QUEUE, publish],
    [REFRESH_QUEUE, refresh],
  ] as const) {
    worker.on('failed', (job, err) => {
      metrics.jobFailed(queue);
      log.error({ err, queue, job: job?.id, attempts: job?.attemptsMade, data: job?.data }, 'job failed');
    });
    worker.on('error', (err) => log.error({ err, queue }, 'queue worker error'));
  }
  const probe = new Queue(PUBLISH_QUEUE, { connection, prefix });
  const health = healthOf(state, probe);
  const ops = await startOps(o, state, health);
  return {
    opsUrl: ops?.url,
    close: () => {
      stopping = true;
      // Waits for the jobs under way: each finishes its round, then hands the rest back.
      return shutDown(
        health,
        log,
        async () => {
          await publish.close();
          await refresh.close();
          await probe.close();
        },
        [() => ops?.close(), () => db.close(), () => Promise.resolve(storage.close())],
      );
    },
  };
}

/** The scheduled gc (job data from the scheduler: keepSnapshots, graceDays, uploadGraceDays). */
async function runGc(state: State, job: Job): Promise<void> {
  const data = (job.data ?? {}) as { keepSnapshots?: unknown; graceDays?: unknown; uploadGraceDays?: unknown };
  const settings: GcSettings = {
    keepSnapshots: typeof data.keepSnapshots === 'number' ? data.keepSnapshots : undefined,
    graceDays: typeof data.graceDays === 'number' ? data.graceDays : undefined,
    uploadGraceDays: typeof data.uploadGraceDays === 'number' ? data.uploadGraceDays : undefined,
    uploads: state.blobs,
  };
  const failed: Array<{ repository: string; error: Error }> = [];
  await collectAll(state.db, state.repositories, settings, (repository, r) => {
    if (r instanceof Error) {
      failed.push({ repository, error: r });
      state.log.error({ err: r, repository }, 'garbage collection failed');
    } else
      state.log.info(
        { repository, metadata: r.metadata.length, targets: r.targets.length, uploads: r.uploads.length },
        'garbage collection done',
      );
  });
  // The job fails (and is retried) when a repository failed; each failure is logged above.
  if (failed.length > 0)
    throw new ServiceError(`garbage collection failed for ${failed.map((f) => f.repository).join(', ')}`, 500, {
      cause: failed[0].error,
    });
}

export interface SchedulerOptions extends DistributedOptions {
  intervalMs?: number;
  /** Garbage collection: every `intervalMs` (0 turns the schedule off), with these settings. */
  gc?: GcSettings & { intervalMs: number };
  onError?: (e: unknown) => void;
}

export async function startSchedulerProcess(o: SchedulerOptions): Promise<Process> {
  const state = await openState(o, 'scheduler');
  const { db, log, metrics, repositories, storage } = state;
  const connection = redisConnection(o.redisUrl);
  const prefix = o.prefix ?? 'etuf';
  const refreshQueue = new Queue(REFRESH_QUEUE, { connection, prefix });
  const publishQueue = new Queue(PUBLISH_QUEUE, { connection, prefix });
  const every = o.intervalMs ?? 3_600_000;
  // Upserting one scheduler id: any number of scheduler processes register the same schedule.
  await refreshQueue.upsertJobScheduler(
    REFRESH_SCHEDULER,
    { every },
    { name: 'refresh', opts: { removeOnComplete: 1000, removeOnFail: 1000 } },
  );
  await scheduleGc(refreshQueue, o.gc);
  // The backlog and expiry gauges are the cluster's, not one process's: the scheduler serves them.
  metrics.watchQueues([publishQueue, refreshQueue]);
  metrics.watchPending(() => pendingCounts(db));
  metrics.watchTimestampExpiry(() => timestampExpiries(repositories, log));
  // A trigger lost with a crashed API process (change committed, job not added) is re-enqueued here.
  const onError = o.onError ?? ((e: unknown) => log.error({ err: e }, 'could not re-enqueue pending work'));
  const sweep = setInterval(
    () => {
      void repositoriesWithPending(db)
        .then((repos) =>
          Promise.all(repos.map((repository) => publishQueue.add('publish', { repository }, JOB_OPTIONS))),
        )
        .catch(onError);
    },
    Math.min(every, 60_000),
  );
  sweep.unref();
  const health = healthOf(state, publishQueue);
  const ops = await startOps(o, state, health);
  return {
    opsUrl: ops?.url,
    close: () => {
      clearInterval(sweep);
      return shutDown(
        health,
        log,
        async () => {
          await refreshQueue.close();
          await publishQueue.close();
        },
        [() => ops?.close(), () => db.close(), () => Promise.resolve(storage.close())],
      );
    },
  };
}

/** Default: once a day with the default settings; `intervalMs: 0` removes the schedule. */
async function scheduleGc(queue: Queue, gc: SchedulerOptions['gc']): Promise<void> {
  const intervalMs = gc?.intervalMs ?? 86_400_000;
  if (intervalMs === 0) {
    await queue.removeJobScheduler(GC_SCHEDULER);
    return;
  }
  await queue.upsertJobScheduler(
    GC_SCHEDULER,
    { every: intervalMs },
    {
      name: 'gc',
      data: { keepSnapshots: gc?.keepSnapshots, graceDays: gc?.graceDays, uploadGraceDays: gc?.uploadGraceDays },
      opts: { removeOnComplete: 100, removeOnFail: 100 },
    },
  );
}
