/**
 * The HTTP API (`/api/v1`, Fastify with TypeBox schemas, OpenAPI at /api/v1/openapi.json) and,
 * in the embedded mode, the read-only repository tree for clients (`/repositories/<name>/...`).
 *
 * Every write needs a token; every write is audited (token id, action, repository, status) after
 * its response, whatever the result. Logs are structured (pino) with the Authorization header
 * redacted; a token never reaches a log line.
 */
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { ValueError } from 'electron-tuf/core';
import type { BlobStore } from '../blobs.js';
import type { S3Uploads } from '../storage/s3-uploads.js';
import type { Db } from '../db.js';
import { ServiceError } from '../errors.js';
import type { Health } from '../ops/health.js';
import { logOptions, type Logger } from '../ops/log.js';
import type { ServiceMetrics } from '../ops/metrics.js';
import { noRepository, type Repositories } from '../repositories.js';
import { authenticate, authenticateFor, requirePublish, type TokenInfo } from '../tokens.js';
import { observeRequests, registerOpsRoutes } from './ops-routes.js';
import { registerRepositoryRoutes } from './repository-routes.js';
import { registerRootRoutes } from './root-routes.js';
import { registerStaticRoutes } from './static-routes.js';
import { registerTokenRoutes } from './token-routes.js';

export interface ApiDeps {
  db: Db;
  repositories: Repositories;
  /** Uploads through the API to disk, or straight to the object store with presigned URLs. */
  blobs: BlobStore | S3Uploads;
  /** Tells a worker that `repository` has pending changes. */
  trigger(repository: string): void | Promise<void>;
  /** Largest installer upload, bytes. */
  maxUploadBytes: number;
  /** Unused upload records a repository may hold within the upload grace period (beyond: 429). */
  maxUnusedUploads: number;
  /** The upload grace period, days (gc's --upload-grace-days): records older than this are gc's and do not count. */
  uploadGraceDays: number;
  /** Serve the repositories read-only (embedded mode). */
  serveRepositories: boolean;
  /** Fastify's logger options (default: none), unless `log` gives the process logger itself. */
  logger?: FastifyServerOptions['logger'];
  /** The process logger (ops/log.ts): the API logs into the same JSON stream as the rest of the process. */
  log?: Logger;
  /** Health and metrics: /livez and /readyz here, /metrics too unless served on a port of its own. */
  ops?: { health: Health; metrics: ServiceMetrics; serveMetrics: boolean };
}

/** JSON bodies: small, except a bootstrap (root + bins metadata). */
export const BODY_LIMIT = 1024 * 1024;
export const BOOTSTRAP_BODY_LIMIT = 64 * 1024 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    token: TokenInfo | null;
  }
}

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export async function buildApi(deps: ApiDeps): Promise<Api> {
  // Typed as Fastify's logger interface, so the instance keeps the Api type whichever logger it gets.
  const loggerInstance: FastifyBaseLogger | undefined = deps.log;
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    ...(loggerInstance ? { loggerInstance } : { logger: deps.logger ?? false }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // One log line per request, when answered (below), not Fastify's two (incoming, completed):
    // under a burst of adds the API's log lines were about 6 % of its CPU (profiled, issue 14).
    disableRequestLogging: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorateRequest('token', null);
  app.addHook('onResponse', (request, reply, done) => {
    const req = { method: request.method, url: request.url, remoteAddress: request.ip };
    request.log.info(
      { req, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
      'request completed',
    );
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'electron-tuf repository service', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error.validation) return reply.code(400).send({ error: error.message });
    if (error instanceof ServiceError) return reply.code(error.status).send({ error: error.message });
    if (error instanceof ValueError) return reply.code(400).send({ error: error.message });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error (see the server log)' });
  });

  // Every write, answered or refused, leaves an audit row.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || !request.url.startsWith('/api/v1/')) return;
    const params = (request.params ?? {}) as Record<string, string>;
    const body = request.body as { name?: unknown } | undefined;
    const repository = params.repo ?? (typeof body?.name === 'string' ? body.name : null);
    try {
      await deps.db.query('INSERT INTO audit_log (token_id, action, repository, status) VALUES ($1, $2, $3, $4)', [
        request.token?.id ?? null,
        `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        repository,
        reply.statusCode,
      ]);
    } catch (e) {
      request.log.error({ err: e }, 'could not write the audit log');
    }
  });

  await app.register(
    async (api) => {
      api.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
      await registerRepositoryRoutes(api, deps);
      registerTokenRoutes(api, deps);
      registerRootRoutes(api, deps);
    },
    { prefix: '/api/v1' },
  );
  if (deps.serveRepositories) registerStaticRoutes(app, deps);
  if (deps.ops) {
    const { health, metrics, serveMetrics } = deps.ops;
    observeRequests(app, metrics);
    registerOpsRoutes(app, { health, metrics: serveMetrics ? metrics : undefined });
  }
  return app;
}

/** The caller's token (401 when missing, unknown, expired or revoked); remembered for the audit log. */
export async function tokenOf(request: FastifyRequest, db: Db): Promise<TokenInfo> {
  const token = await authenticate(db, request.headers.authorization);
  request.token = token;
  return token;
}

/**
 * The caller's token, allowed to publish to `repository` (and `channel`), and `repository`
 * known: 401, 403, 404 in that order, in one database round trip (the hot paths: upload, add).
 */
export async function publisherOf(
  request: FastifyRequest,
  db: Db,
  repository: string,
  channel?: string,
): Promise<TokenInfo> {
  const { token, repositoryExists } = await authenticateFor(db, request.headers.authorization, repository);
  request.token = token;
  requirePublish(token, repository, channel);
  if (!repositoryExists) throw noRepository(repository);
  return token;
}

/** Options for pino: structured logs without credentials (the same in every process kind). */
export function loggerOptions(level = 'info'): FastifyServerOptions['logger'] {
  return logOptions(level);
}
