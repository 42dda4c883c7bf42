/**
 * The distributed mode: state in PostgreSQL, jobs through BullMQ on Redis, and three kinds of
 * process, any number of each, sharing the data directory (repositories and uploads; one
 * machine, or a shared file system):
 *   api        HTTP API; records changes and enqueues "repository R has work"
 *   worker     publishes: per repository, under a PostgreSQL advisory lock, until nothing is pending
 *   scheduler  registers the refresh job scheduler (BullMQ runs it once per interval, whatever
 *              the number of schedulers and workers) and re-enqueues forgotten pending work
 *
 * Every trigger is its own job (no deduplication: BullMQ drops a deduplicated add while the job
 * is active, which would strand a change). A job waits for the repository's lock and drains; the
 * jobs behind it find nothing pending and finish at once.
 */
import { resolve } from 'node:path';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { FastifyServerOptions } from 'fastify';
import { buildApi, loggerOptions, type Api } from './api/app.js';
import { repositoriesWithPending } from './changes.js';
import { openPostgres, type Db } from './db.js';
import { DEFAULT_MAX_UPLOAD_BYTES, ensureAdminToken } from './embedded.js';
import type { Repositories } from './repositories.js';
import { refreshAll } from './scheduler.js';
import { migrate } from './schema.js';
import { openServiceStorage, type ServiceStorage } from './storage/index.js';
import { PublishWorker } from './worker.js';

export const PUBLISH_QUEUE = 'etuf-publish';
export const REFRESH_QUEUE = 'etuf-refresh';
const REFRESH_SCHEDULER = 'refresh-all';

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
  logger?: FastifyServerOptions['logger'];
}

export interface Process {
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

async function openState(
  o: DistributedOptions,
): Promise<{ db: Db; repositories: Repositories; storage: ServiceStorage; data: string }> {
  const data = resolve(o.data);
  const db = await openPostgres(o.databaseUrl);
  try {
    await migrate(db);
    const storage = await openServiceStorage(db, data, o.storage, o.env ?? process.env);
    return { db, data, repositories: storage.repositories, storage };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/** The service's per-repository lock: a PostgreSQL advisory lock held by this process's connection. */
function publishLock(db: Db): <T>(repository: string, fn: () => Promise<T>) => Promise<T> {
  return (repository, fn) => db.withLock(`publish:${repository}`, fn);
}

const JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: 1000,
  removeOnFail: 5000,
} as const;

export async function startApiProcess(
  o: DistributedOptions & { port?: number; host?: string; maxUploadBytes?: number; serveRepositories?: boolean },
): Promise<Process & { url: string; app: Api; db: Db }> {
  const { db, repositories, storage } = await openState(o);
  await ensureAdminToken(db, undefined, (o.env ?? process.env).ELECTRON_TUF_ADMIN_TOKEN);
  const queue = new Queue(PUBLISH_QUEUE, { connection: redisConnection(o.redisUrl), prefix: o.prefix ?? 'etuf' });
  const app = await buildApi({
    db,
    repositories,
    blobs: storage.uploads,
    trigger: async (repository) => void (await queue.add('publish', { repository }, JOB_OPTIONS)),
    maxUploadBytes: o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    // With an object store, clients read the bucket (through a CDN): the API has no tree to serve.
    serveRepositories: (o.serveRepositories ?? false) && storage.kind === 'disk',
    logger: o.logger ?? loggerOptions(),
  });
  const url = await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  return {
    url,
    app,
    db,
    async close() {
      await app.close();
      await queue.close();
      await db.close();
      storage.close();
    },
  };
}

export async function startWorkerProcess(
  o: DistributedOptions & { concurrency?: number; onRefresh?: (jobId: string) => void },
): Promise<Process> {
  const { db, repositories, storage } = await openState(o);
  const env = o.env ?? process.env;
  const publisher = new PublishWorker(db, repositories, storage.uploads, env);
  const lock = publishLock(db);
  const connection = redisConnection(o.redisUrl);
  const prefix = o.prefix ?? 'etuf';
  const publish = new Worker(
    PUBLISH_QUEUE,
    async (job) => {
      const repository = String((job.data as { repository?: unknown }).repository);
      return lock(repository, () => publisher.drain(repository));
    },
    { connection, prefix, concurrency: o.concurrency ?? 2 },
  );
  const refresh = new Worker(
    REFRESH_QUEUE,
    async (job) => {
      o.onRefresh?.(job.id ?? '');
      await refreshAll(repositories, env, () => undefined, lock);
    },
    { connection, prefix, concurrency: 1 },
  );
  return {
    async close() {
      await publish.close();
      await refresh.close();
      await db.close();
      storage.close();
    },
  };
}

export async function startSchedulerProcess(
  o: DistributedOptions & { intervalMs?: number; onError?: (e: unknown) => void },
): Promise<Process> {
  const { db, storage } = await openState(o);
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
  // A trigger lost with a crashed API process (change committed, job not added) is re-enqueued here.
  const sweep = setInterval(
    () => {
      void repositoriesWithPending(db)
        .then((repos) =>
          Promise.all(repos.map((repository) => publishQueue.add('publish', { repository }, JOB_OPTIONS))),
        )
        .catch(
          o.onError ?? ((e: unknown) => console.error('electron-tuf scheduler: could not re-enqueue pending work', e)),
        );
    },
    Math.min(every, 60_000),
  );
  sweep.unref();
  return {
    async close() {
      clearInterval(sweep);
      await refreshQueue.close();
      await publishQueue.close();
      await db.close();
      storage.close();
    },
  };
}
