/**
 * `repo serve`: the published tree (metadata/ and targets/ only) over HTTP on 127.0.0.1, read
 * only, for trying a repository locally or in tests. Any static host serves the same files in
 * production.
 *
 * Requests are mapped to files segment by segment: each segment is percent-decoded once and must
 * be a plain name (no `/`, `\`, NUL, `.`/`..`, leading dot), and the final path's real location
 * (symlinks resolved) must still lie inside the served directory. GET and HEAD only; single
 * byte ranges are honoured, as clients resume interrupted downloads with them.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join, sep } from 'node:path';
import { StorageError, ValueError } from '../updater/core/errors.js';
import { describeError, isAbsent } from '../updater/node-io/error-code.js';
import { repositoryPaths } from './layout.js';

export interface ServeOptions {
  repo: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Called once per request after it is answered (for logs). */
  onRequest?: (entry: { method: string; url: string; status: number }) => void;
}

export interface RepositoryServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  metadataUrl: string;
  targetsUrl: string;
  port: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const SERVED = ['metadata', 'targets'] as const;
const MAX_URL_LENGTH = 8192;

export async function serveRepository(options: ServeOptions): Promise<RepositoryServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValueError(`invalid port ${port}`);
  const paths = repositoryPaths(options.repo);
  const roots = { metadata: paths.metadata, targets: paths.targets };
  const server = createServer((req, res) => {
    handle(roots, req, res)
      .catch((error: unknown) => {
        // A developer's server: the failure goes to stderr (a process warning), the client gets a 500.
        process.emitWarning(`${req.method} ${req.url}: ${describeError(error)}`, { type: 'ElectronTufServeWarning' });
        respond(res, 500);
      })
      .finally(() => options.onRequest?.({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode }));
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new ValueError(`cannot listen on ${HOST}:${port}: ${e.code ?? e.message}`)),
    );
    server.listen(port, HOST, () => resolvePromise());
  });
  const actual = (server.address() as AddressInfo).port;
  const url = `http://${HOST}:${actual}`;
  return {
    url,
    metadataUrl: `${url}/metadata`,
    targetsUrl: `${url}/targets`,
    port: actual,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolvePromise) => {
    server.close(() => resolvePromise());
    server.closeAllConnections();
  });
}

function respond(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0', ...headers });
  res.end();
}

async function handle(
  roots: Record<(typeof SERVED)[number], string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return respond(res, 405, { Allow: 'GET, HEAD' });
  const file = await resolveFile(roots, req.url ?? '');
  if (!file) return respond(res, 404);
  const info = await stat(file).catch((error: unknown) => {
    if (isAbsent(error)) return undefined; // removed since it was resolved
    throw error;
  });
  if (!info?.isFile()) return respond(res, 404);
  const range = parseRange(req.headers.range, info.size);
  if (range === 'invalid') return respond(res, 416, { 'Content-Range': `bytes */${info.size}` });
  const headers: Record<string, string> = {
    'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Cache-Control': cacheControlFor(basename(file)),
  };
  const [start, end] = range ?? [0, info.size - 1];
  headers['Content-Length'] = String(Math.max(0, end - start + 1));
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || info.size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/**
 * Cache-Control for a served file, by its name (the advice for a CDN in docs/server.md):
 * timestamp.json changes in place and roots are probed for the next version (N+1.root.json),
 * so caches revalidate them; every other name is a version or a content hash (consistent
 * snapshots, 5.7.3) and never changes: cached for a year, immutable.
 */
export function cacheControlFor(fileName: string): string {
  return fileName === 'timestamp.json' || /^\d+\.root\.json$/.test(fileName)
    ? 'no-cache'
    : 'public, max-age=31536000, immutable';
}

/** The file a URL names inside metadata/ or targets/, or undefined for anything else. */
export async function resolveFile(
  roots: Record<(typeof SERVED)[number], string>,
  rawUrl: string,
): Promise<string | undefined> {
  if (rawUrl.length > MAX_URL_LENGTH || !rawUrl.startsWith('/')) return undefined;
  const pathPart = rawUrl.split(/[?#]/, 1)[0];
  const encoded = pathPart.slice(1).split('/');
  const top = encoded.shift() as (typeof SERVED)[number];
  if (!(SERVED as readonly string[]).includes(top) || encoded.length === 0) return undefined;
  const segments: string[] = [];
  for (const raw of encoded) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined; // malformed escapes name no file: a 404 like any other bad path
    }
    // eslint-disable-next-line no-control-regex
    if (segment === '' || segment.startsWith('.') || /[/\\\u0000]/.test(segment)) return undefined;
    segments.push(segment);
  }
  const base = roots[top];
  const candidate = join(base, ...segments);
  try {
    const [realBase, realFile] = await Promise.all([realpath(base), realpath(candidate)]);
    return realFile.startsWith(realBase + sep) ? realFile : undefined;
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw new StorageError(`cannot resolve ${candidate}: ${describeError(error)}`, { cause: error });
  }
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined for none (or several: whole file). */
function parseRange(header: string | undefined, size: number): [number, number] | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'invalid';
  return [start, end];
}
