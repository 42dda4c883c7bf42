/**
 * HttpFetcher keeps its keep-alive connection after an error answer whose body has already
 * arrived in full (the 404 of the next-root probe precedes every refresh's timestamp), and
 * still never drains a body that has not: that one costs the connection, not a wait.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadHTTPError } from '../../updater/core/errors.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server counting TCP connections; `/empty-404`, `/endless-404` (never ends) and `/ok`. */
async function server(): Promise<{ url: (path: string) => string; connections: () => number }> {
  let connections = 0;
  const srv = http.createServer((req, res) => {
    if (req.url === '/empty-404') {
      res.writeHead(404, { 'content-length': 0 });
      res.end();
    } else if (req.url === '/endless-404') {
      res.writeHead(404, { 'content-type': 'text/html' });
      const timer = setInterval(() => res.write('not found '.repeat(100)), 5);
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    }
  });
  srv.on('connection', () => connections++);
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  cleanups.push(
    () =>
      new Promise<void>((ok) => {
        srv.close(() => ok());
        srv.closeAllConnections();
      }),
  );
  const { port } = srv.address() as AddressInfo;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, connections: () => connections };
}

function fetcher(): HttpFetcher {
  const created = new HttpFetcher({ proxy: {}, readTimeoutMs: 2000, retries: 0 });
  cleanups.push(() => created.close());
  return created;
}

async function text(client: HttpFetcher, url: string): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of (await client.fetch(url)).body) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

const settle = (): Promise<void> => new Promise((ok) => setTimeout(ok, 20));

describe('HttpFetcher after an error status', () => {
  it('reuses the connection when the error body was complete (Content-Length: 0)', async () => {
    const origin = await server();
    const client = fetcher();
    for (let i = 0; i < 3; i++) {
      await expect(client.fetch(origin.url('/empty-404'))).rejects.toMatchObject({ status: 404 });
      await settle(); // the refresh reads local metadata in between
      expect(await text(client, origin.url('/ok'))).toBe('ok');
    }
    expect(origin.connections()).toBe(1);
  });

  it('drops the connection, at once, when the error body is still arriving', async () => {
    const origin = await server();
    const client = fetcher();
    // The body never ends: reading it before rejecting would hang until the test times out.
    await expect(client.fetch(origin.url('/endless-404'))).rejects.toBeInstanceOf(DownloadHTTPError);
    await settle();
    expect(await text(client, origin.url('/ok'))).toBe('ok');
    expect(origin.connections()).toBe(2);
  });
});
