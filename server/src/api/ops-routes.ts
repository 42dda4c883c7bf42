/**
 * The API's operations routes (`/livez`, `/readyz`, `/metrics`, no token: put them behind the
 * network boundary, see docs/server.md) and its HTTP request metrics.
 */
import { opsAnswer, type OpsDeps } from '../ops/endpoints.js';
import type { ServiceMetrics } from '../ops/metrics.js';
import type { Api } from './app.js';

export function registerOpsRoutes(app: Api, deps: OpsDeps): void {
  for (const path of ['/livez', '/readyz', ...(deps.metrics ? ['/metrics'] : [])]) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      const answer = (await opsAnswer(path, deps))!;
      return reply.code(answer.status).type(answer.contentType).header('cache-control', 'no-store').send(answer.body);
    });
  }
}

/** Counts and times every answered request by its route pattern (never the raw URL: bounded labels). */
export function observeRequests(app: Api, metrics: ServiceMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeHttp(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
}
