/**
 * The embedded mode: API, publish worker and scheduler in one process, state in PGlite and
 * files on disk under one data directory, the repositories served read-only for clients.
 *
 *   <data>/db/            PGlite database
 *   <data>/repositories/  one publisher repository per name (metadata/, targets/, electron-tuf.json)
 *   <data>/uploads/       uploaded installers by SHA-256, per repository
 *   <data>/admin-token    the first admin token (mode 0600), when none was given
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { cleanupAfterFailure } from 'electron-tuf/publisher';
import { buildApi, type Api } from './api/app.js';
import { pendingCounts, repositoriesWithPending } from './changes.js';
import { openPglite, type Db } from './db.js';
import { collectAll, DEFAULT_UPLOAD_GRACE_DAYS, type GcSettings } from './gc.js';
import { databaseCheck, storageCheck } from './ops/checks.js';
import { startOpsServer } from './ops/endpoints.js';
import { timestampExpiries } from './ops/expiry.js';
import { Health } from './ops/health.js';
import { processLogger } from './ops/log.js';
import { ServiceMetrics } from './ops/metrics.js';
import { shutDown } from './ops/shutdown.js';
import { IntervalScheduler, logRefresh, refreshAll } from './scheduler.js';
import { migrate } from './schema.js';
import { createToken, hasActiveAdmin } from './tokens.js';
import { openServiceStorage } from './storage/index.js';
import { DEFAULT_MAX_UNUSED_UPLOADS } from './upload-records.js';
import { LocalTrigger, PublishWorker } from './worker.js';

export interface EmbeddedOptions {
  data: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  host?: string;
  /** pino options, or false for no logs. Default: info level, credentials redacted. */
  logger?: FastifyServerOptions['logger'];
  /** How often the scheduler checks expiries; default one hour. */
  refreshIntervalMs?: number;
  maxUploadBytes?: number;
  /** Unused upload records a repository may hold within the upload grace period (default 1000; beyond: 429). */
  maxUnusedUploads?: number;
  /** Where key environment variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** An admin token to accept (ELECTRON_TUF_ADMIN_TOKEN); otherwise one is made on first start. */
  adminToken?: string;
  /** `s3://bucket/prefix` for the object store; default: disk under `data`. */
  storage?: string;
  /** Serve /livez, /readyz and /metrics on this port too (then /metrics only there). */
  metricsPort?: number;
  /** Garbage collection every `intervalMs` (default daily; 0: never), with these settings. */
  gc?: GcSettings & { intervalMs?: number };
}

export interface RunningServer {
  url: string;
  app: Api;
  db: Db;
  /** The file holding a generated admin token, when one was generated on this start. */
  adminTokenFile?: string;
  /** The operations endpoints' base URL, when `metricsPort` was given. */
  opsUrl?: string;
  /** Resolves when no publish is running (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export async function ensureAdminToken(
  db: Db,
  dataDir: string | undefined,
  token: string | undefined,
): Promise<string | undefined> {
  if (token) {
    await createToken(db, { scope: 'admin', token, id: 'env-admin', label: 'ELECTRON_TUF_ADMIN_TOKEN' });
    return undefined;
  }
  if (!dataDir || (await hasActiveAdmin(db))) return undefined;
  const created = await createToken(db, { scope: 'admin', label: 'first admin token' });
  const file = join(dataDir, 'admin-token');
  await writeFile(file, created.token + '\n', { mode: 0o600 });
  return file;
}

export async function startEmbedded(options: EmbeddedOptions): Promise<RunningServer> {
  const data = resolve(options.data);
  const env = options.env ?? process.env;
  await mkdir(data, { recursive: true, mode: 0o700 });
  const log = processLogger('server', options.logger);
  const db = await openPglite(join(data, 'db'));
  let closeStorage = (): void => undefined;
  try {
    await migrate(db);
    const adminTokenFile = await ensureAdminToken(db, data, options.adminToken ?? env.ELECTRON_TUF_ADMIN_TOKEN);
    const storage = await openServiceStorage(db, data, options.storage, env);
    closeStorage = () => storage.close();
    const { repositories } = storage;
    // Publishes and refreshes of one repository never overlap (on S3 they would fail each other's swap).
    const lock = <T>(repository: string, fn: () => Promise<T>): Promise<T> => db.withLock(`publish:${repository}`, fn);
    const metrics = new ServiceMetrics(log);
    const health = new Health([databaseCheck(db), storageCheck(storage)], (check, reason) =>
      log.warn({ check, reason }, 'readiness check failed'),
    );
    metrics.watchPending(() => pendingCounts(db));
    metrics.watchTimestampExpiry(() => timestampExpiries(repositories, log));
    const app = await buildApi({
      db,
      repositories,
      blobs: storage.uploads,
      trigger: (repo) => trigger.trigger(repo),
      maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
      maxUnusedUploads: options.maxUnusedUploads ?? DEFAULT_MAX_UNUSED_UPLOADS,
      uploadGraceDays: options.gc?.uploadGraceDays ?? DEFAULT_UPLOAD_GRACE_DAYS,
      // With an object store, clients read the bucket (through a CDN): there is no tree to serve.
      serveRepositories: storage.kind === 'disk',
      log,
      ops: { health, metrics, serveMetrics: options.metricsPort === undefined },
    });
    const trigger = new LocalTrigger(
      new PublishWorker(db, repositories, storage.uploads, env, (settled) => metrics.observeSettled(settled)),
      (repo, e) => log.error({ err: e, repository: repo }, 'publish failed; will retry'),
      undefined,
      lock,
    );
    for (const repo of await repositoriesWithPending(db)) trigger.trigger(repo);
    const scheduler = new IntervalScheduler(
      () => refreshAll(repositories, env, logRefresh(log), lock),
      options.refreshIntervalMs ?? HOUR_MS,
    );
    scheduler.start();
    const gcEvery = options.gc?.intervalMs ?? DAY_MS;
    const gc = new IntervalScheduler(
      () =>
        collectAll(db, repositories, { ...options.gc, uploads: storage.uploads }, (repository, r) =>
          r instanceof Error
            ? log.error({ err: r, repository }, 'garbage collection failed')
            : log.info(
                { repository, metadata: r.metadata.length, targets: r.targets.length, uploads: r.uploads.length },
                'garbage collected',
              ),
        ),
      gcEvery,
    );
    if (gcEvery > 0) gc.start();
    const url = await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' });
    const ops =
      options.metricsPort === undefined
        ? undefined
        : await startOpsServer({ health, metrics }, options.metricsPort, options.host ?? '127.0.0.1', log);
    if (adminTokenFile)
      log.info({ file: adminTokenFile }, 'created the first admin token: it is in this file (mode 0600)');
    return {
      url,
      app,
      db,
      adminTokenFile,
      opsUrl: ops?.url,
      idle: () => trigger.idle(),
      close: () =>
        // Stops accepting, answers the requests under way, then lets the publish under way finish.
        shutDown(
          health,
          log,
          async () => {
            await app.close();
            await scheduler.stop();
            await gc.stop();
            await trigger.close();
          },
          [() => ops?.close(), () => db.close(), () => Promise.resolve(storage.close())],
        ),
    };
  } catch (e) {
    closeStorage();
    await cleanupAfterFailure(e, () => db.close()); // the start's error is thrown; a failed close is a warning
    throw e;
  }
}
