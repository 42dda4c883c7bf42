/**
 * The operations endpoints: `/livez`, `/readyz` and `/metrics`. The API serves them on its own
 * port (Fastify routes); workers and the scheduler, which have no HTTP API, serve them on
 * `--metrics-port` with a minimal node:http server (GET and HEAD on these three paths only).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Health } from './health.js';
import type { Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';

export interface OpsDeps {
  health: Health;
  /** Undefined: /metrics is not served here (the API given --metrics-port serves it there only). */
  metrics?: ServiceMetrics;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** The answer for an operations path, or undefined for any other path. */
export async function opsAnswer(path: string, deps: OpsDeps): Promise<Answer | undefined> {
  if (path === '/livez') return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' };
  if (path === '/readyz') {
    const r = await deps.health.readiness();
    return { status: r.ready ? 200 : 503, contentType: 'application/json', body: JSON.stringify(r) };
  }
  if (path === '/metrics' && deps.metrics)
    return { status: 200, contentType: deps.metrics.contentType, body: await deps.metrics.text() };
  return undefined;
}

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks a free port) for the operations endpoints. */
export async function startOpsServer(deps: OpsDeps, port: number, host: string, log: Logger): Promise<OpsServer> {
  const server = createServer((req, res) => void handle(req, res, deps, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: OpsDeps, log: Logger): Promise<void> {
  try {
    const path = (req.url ?? '').split('?', 1)[0];
    const answer = req.method === 'GET' || req.method === 'HEAD' ? await opsAnswer(path, deps) : undefined;
    const { status, contentType, body } = answer ?? { status: 404, contentType: 'text/plain', body: 'not found\n' };
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    // Readiness checks are caught in health.ts; what lands here is a failing scrape.
    log.error({ err: e, url: req.url }, 'operations endpoint failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  }
}

/** Nothing here is worth waiting for (a probe, a scrape): kept-alive connections are closed too. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((e) => (e ? reject(e) : resolve()));
    server.closeAllConnections();
  });
}
