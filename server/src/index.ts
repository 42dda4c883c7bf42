/** @electron-tuf/server: the repository service (see docs/server.md). */
export { startEmbedded, DEFAULT_MAX_UPLOAD_BYTES, type EmbeddedOptions, type RunningServer } from './embedded.js';
export { buildApi, loggerOptions, type ApiDeps } from './api/app.js';
export { openPglite, openPostgres, type Db, type Queryable } from './db.js';
export { migrate, SCHEMA_VERSION } from './schema.js';
export { createToken, tokenDigest, type Scope, type TokenInfo } from './tokens.js';
export {
  ServiceError,
  AuthenticationError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  BadRequestError,
} from './errors.js';
export { runServerCommand } from './cli.js';
export {
  startApiProcess,
  startWorkerProcess,
  startSchedulerProcess,
  PUBLISH_QUEUE,
  REFRESH_QUEUE,
  type DistributedOptions,
  type Process,
  type SchedulerOptions,
} from './distributed.js';
export { collectRepository, collectAll, DEFAULT_GRACE_DAYS, type GcSettings, type RepositoryGc } from './gc.js';
export { Health, type ReadinessCheck, type Readiness } from './ops/health.js';
export { ServiceMetrics } from './ops/metrics.js';
