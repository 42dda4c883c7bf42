/**
 * A small static file server for the benchmarks: plain node:http on 127.0.0.1, keep-alive,
 * files streamed from disk (never read whole into memory), no Range support (the clients under
 * test never need to resume here). It counts requests and body bytes so a benchmark can report
 * what a client fetched. `GET /__stats` answers the counters as JSON and is not counted, so a
 * child process can read them around the part it measures.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

export interface ServerStats {
  requests: number;
  /** Response body bytes sent (files only; 404 bodies are empty). */
  bytes: number;
  notFound: number;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  readonly origin: string;
  stats(): ServerStats;
  close(): Promise<void>;
}

/** Serves `root` (a directory) at `/`. */
export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = resolve(root);
  const counters: ServerStats = { requests: 0, bytes: 0, notFound: 0 };
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    if (req.url === '/__stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(counters));
      return;
    }
    counters.requests++;
    serveFile(base, req, res, counters).catch(() => res.destroy());
  });
  // Idle connections of a finished client must not hold close() up for long.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stats: () => ({ ...counters }),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

async function serveFile(
  base: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  counters: ServerStats,
): Promise<void> {
  const path = filePathFor(base, req.url ?? '/');
  const info = path && req.method === 'GET' ? await stat(path).catch(() => undefined) : undefined;
  if (!path || !info?.isFile()) {
    counters.notFound++;
    res.writeHead(req.method === 'GET' ? 404 : 405, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream' });
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  stream.on('data', (chunk) => (counters.bytes += chunk.length));
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** The file a URL path names inside `base`, or undefined when it would leave it. */
function filePathFor(base: string, url: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return undefined;
  }
  const path = resolve(base, `.${decoded}`);
  return path.startsWith(base + sep) ? path : undefined;
}
