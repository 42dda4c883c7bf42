/**
 * HTTP servers for tests, most of them misbehaving on purpose: resets and stalls mid-body,
 * endless bodies, lies about Content-Length, slow drips, redirects, 5xx before success.
 * Everything listens on 127.0.0.1 port 0; `close()` ends every connection it made.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  url(path: string): string;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export interface TlsIdentity {
  key: string;
  cert: string;
}

/** Starts a server routing by exact path (query ignored); unknown paths get 404. */
export async function startServer(
  routes: Record<string, Handler> = {},
  options: { tls?: TlsIdentity } = {},
): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.on('error', () => {});
    const handler = table.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler) handler(req, res);
    else res.writeHead(404).end('not found');
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : http.createServer(onRequest);
  trackSockets(server, sockets, options.tls ? 'secureConnection' : 'connection');
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listen(server);
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    origin,
    port,
    requests,
    url: (path) => origin + path,
    route: (path, handler) => void table.set(path, handler),
    close: () => closeServer(server, sockets),
  };
}

function trackSockets(server: net.Server, sockets: Set<Socket>, event: string): void {
  server.on(event, (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: net.Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------
// Behaviours

/** `bytes=N-` or `bytes=N-M` → first byte asked for, or undefined without a Range header. */
export function requestedStart(req: IncomingMessage): number | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Writes the head for `body` from `start` on: 206 with Content-Range when start > 0. */
function writeHeadFrom(res: ServerResponse, body: Uint8Array, start: number): void {
  const headers: http.OutgoingHttpHeaders = {
    'content-length': body.length - start,
    'content-type': 'application/octet-stream',
  };
  if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  res.writeHead(start > 0 ? 206 : 200, headers);
}

/** Serves `body`, honouring `Range: bytes=N-` unless told not to (then always 200, whole body). */
export function serveBytes(body: Uint8Array, options: { honourRange?: boolean } = {}): Handler {
  return (req, res) => {
    const start = options.honourRange === false ? 0 : (requestedStart(req) ?? 0);
    if (start > 0 && start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    writeHeadFrom(res, body, start);
    res.end(body.subarray(start));
  };
}

/**
 * The first `times` requests get `afterBytes` bytes (from the requested Range start) and then
 * a TCP reset (`how: 'reset'`) or a plain close (`'close'`) mid-body; later requests are served
 * normally, Range honoured.
 */
export function interruptMidBody(
  body: Uint8Array,
  options: { afterBytes: number; times?: number; how?: 'reset' | 'close' },
): Handler {
  let interrupted = 0;
  const serveRest = serveBytes(body);
  return (req, res) => {
    if (interrupted >= (options.times ?? 1)) return serveRest(req, res);
    interrupted++;
    const start = requestedStart(req) ?? 0;
    writeHeadFrom(res, body, start);
    res.write(body.subarray(start, start + options.afterBytes), () => {
      // Give the client time to read what was sent before the connection dies.
      setTimeout(() => (options.how === 'close' ? res.socket?.destroy() : res.socket?.resetAndDestroy()), 30);
    });
  };
}

/** Announces all of `body`, sends `afterBytes` of it, then goes silent (connection stays open). */
export function stallMidBody(body: Uint8Array, afterBytes: number): Handler {
  return (req, res) => {
    const start = requestedStart(req) ?? 0;
    writeHeadFrom(res, body, start);
    res.write(body.subarray(start, start + afterBytes));
  };
}

/** Accepts the request and never answers. */
export function neverRespond(): Handler {
  return () => {};
}

export interface EndlessStats {
  bytesSent: number;
  /** Resolves when the client went away. */
  closed: Promise<void>;
}

/** A chunked body that never ends, written with backpressure; `stats` shows what was sent. */
export function endless(chunkSize = 64 * 1024): { handler: Handler; stats: EndlessStats } {
  let markClosed!: () => void;
  const stats: EndlessStats = { bytesSent: 0, closed: new Promise((resolve) => (markClosed = resolve)) };
  const chunk = Buffer.alloc(chunkSize, 0x41);
  const handler: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.on('close', markClosed);
    const pump = (): void => {
      while (!res.destroyed) {
        stats.bytesSent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
  return { handler, stats };
}

/** Sends `body` in `chunkSize` pieces every `intervalMs`. */
export function drip(body: Uint8Array, options: { chunkSize: number; intervalMs: number }): Handler {
  return (req, res) => {
    const start = requestedStart(req) ?? 0;
    writeHeadFrom(res, body, start);
    let at = start;
    const timer = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(at, at + options.chunkSize));
      at += options.chunkSize;
    }, options.intervalMs);
    res.on('close', () => clearInterval(timer));
  };
}

export function redirect(location: string, status = 302): Handler {
  return (_req, res) => void res.writeHead(status, { location }).end();
}

/** Answers `status` to the first `times` requests, then hands over to `next`. */
export function failThen(status: number, times: number, next: Handler): Handler {
  let failed = 0;
  return (req, res) => {
    if (failed++ < times) res.writeHead(status).end('try again');
    else next(req, res);
  };
}

/**
 * Writes `bytes` verbatim to the socket (a hand-made response: wrong Content-Length,
 * bad Content-Range, garbage) and then closes it.
 */
export function raw(bytes: string | Uint8Array): Handler {
  return (_req, res) => {
    const socket = res.socket;
    if (!socket) return;
    socket.write(bytes, () => socket.end());
  };
}

// ---------------------------------------------------------------------------------------
// Proxy

export interface TestProxy {
  url: string;
  port: number;
  /** Absolute-URI requests forwarded (http:// targets). */
  requests: RecordedRequest[];
  /** CONNECT requests (https:// targets); `url` is the authority. */
  connects: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A tiny forwarding proxy: absolute-URI GETs are forwarded, CONNECT opens a raw TCP tunnel.
 * With `requireAuth` set, requests without that exact Proxy-Authorization get 407.
 * With `stallConnect`, CONNECT requests are never answered.
 */
export async function startProxy(options: { requireAuth?: string; stallConnect?: boolean } = {}): Promise<TestProxy> {
  const requests: RecordedRequest[] = [];
  const connects: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const authorized = (req: IncomingMessage): boolean =>
    options.requireAuth === undefined || req.headers['proxy-authorization'] === options.requireAuth;

  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.on('error', () => {});
    if (!authorized(req)) return void res.writeHead(407, { 'proxy-authenticate': 'Basic' }).end();
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end('absolute URI expected');
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (answer) => {
        answer.on('error', () => res.destroy());
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    upstream.end();
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    connects.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    sockets.add(client);
    client.on('error', () => {});
    if (options.stallConnect) return;
    if (!authorized(req))
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    if (!match) return void client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    const upstream = net.connect(Number(match[2]), match[1], () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  trackSockets(server, sockets, 'connection');
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, requests, connects, close: () => closeServer(server, sockets) };
}

// ---------------------------------------------------------------------------------------
// python3 -m http.server

export interface PythonServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * `python3 -m http.server` serving `directory` on 127.0.0.1 (it closes the connection at the
 * end of every body and ignores Range). Resolves once it listens.
 */
export async function startPythonHttpServer(directory: string): Promise<PythonServer> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('python3 http.server did not start within 10 s')), 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${err.message}\n${stderr}`));
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`python3 http.server exited with ${code}`)));
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      const match = /port (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill();
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------
// TLS identity

/**
 * A throw-away self-signed ECDSA P-256 certificate for `localhost` and 127.0.0.1, built with
 * node:crypto alone (Node has no certificate API; the DER is small enough to write by hand),
 * valid from an hour ago for one day. Made fresh per test run; never stored.
 */
export function selfSignedCertificate(): TlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = der(0x30, hex('06082a8648ce3d040302'));
  const name = der(0x30, der(0x31, der(0x30, hex('0603550403'), der(0x0c, Buffer.from('localhost')))));
  const now = Date.now();
  const validity = der(0x30, utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000)));
  const serial = randomBytes(8);
  serial[0] &= 0x7f;
  const subjectAltName = der(0x30, der(0x82, Buffer.from('localhost')), der(0x87, Buffer.from([127, 0, 0, 1])));
  const basicConstraintsCa = der(0x30, der(0x01, Buffer.from([0xff])));
  const extensions = der(
    0xa3,
    der(
      0x30,
      der(0x30, hex('0603551d13'), der(0x04, basicConstraintsCa)),
      der(0x30, hex('0603551d11'), der(0x04, subjectAltName)),
    ),
  );
  const tbs = der(
    0x30,
    hex('a003020102'), // version v3
    der(0x02, serial),
    ecdsaWithSha256,
    name,
    validity,
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })));
  const certificate = der(0x30, tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  const base64 = certificate.toString('base64').replace(/(.{64})/g, '$1\n');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`,
  };
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function hex(value: string): Buffer {
  return Buffer.from(value, 'hex');
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'; // YYMMDDHHMMSSZ
  return der(0x17, Buffer.from(text));
}
