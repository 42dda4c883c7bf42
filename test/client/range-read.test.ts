/**
 * download.ts `readRange` (the differential download's ranged reads) over real HTTP with
 * HttpFetcher and FetchApiFetcher: exact ranges on a reused connection, bodies cut at the
 * range's end whatever the server sends, resumes after interruptions, and the same guards as
 * every download (a server ignoring Range, slow retrieval, cancellation).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError, RangeNotHonouredError, SlowRetrievalError } from '../../updater/core/errors.js';
import { readRange } from '../../updater/client/download.js';
import { FetchApiFetcher } from '../../updater/client/fetch-api-fetcher.js';
import type { Fetcher, FetchRequest } from '../../updater/client/fetcher.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';
import { drip, interruptMidBody, serveBytes, startServer, type TestServer } from '../helpers/servers.js';

const BODY = randomBytes(512 * 1024);
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = await startServer({ '/file': handler });
  servers.push(server);
  return server;
}

/** Serves `bytes=a-b` exactly (206), recording the client port of each request. */
function exactRanges(ports: number[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    ports.push(req.socket.remotePort ?? 0);
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    const [first, last] = [Number(m[1]), Number(m[2])];
    res.writeHead(206, {
      'content-range': `bytes ${first}-${last}/${BODY.length}`,
      'content-length': last - first + 1,
    });
    res.end(BODY.subarray(first, last + 1));
  };
}

async function read(fetcher: Fetcher, url: string, start: number, length: number, extra = {}): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  await readRange(fetcher, url, { start, length, fileLength: BODY.length, ...extra }, (b) => void parts.push(b));
  return Buffer.concat(parts);
}

describe('readRange', () => {
  it('asks for exactly the range and keeps the connection for the next one', async () => {
    const ports: number[] = [];
    const server = await serve(exactRanges(ports));
    const fetcher = new HttpFetcher();
    expect((await read(fetcher, server.url('/file'), 1000, 5000)).equals(BODY.subarray(1000, 6000))).toBe(true);
    await sleep(20); // the socket returns to the pool once Node has ended the response, a tick later
    expect((await read(fetcher, server.url('/file'), 0, 10)).equals(BODY.subarray(0, 10))).toBe(true);
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=1000-5999', 'bytes=0-9']);
    expect(new Set(ports).size).toBe(1);
    fetcher.close();
  });

  it('with Fetch API fetchers (Electron net) too', async () => {
    const server = await serve(exactRanges([]));
    const bytes = await read(new FetchApiFetcher(globalThis.fetch), server.url('/file'), 4096, 100);
    expect(bytes.equals(BODY.subarray(4096, 4196))).toBe(true);
  });

  it('cuts a body that runs past the range (a fetcher that ignores its end) at the range’s end', async () => {
    const server = await serve(serveBytes(BODY)); // answers `bytes=N-…` from N to the end of the file
    const ignoringEnd: Fetcher = {
      fetch: (url: string, request?: FetchRequest) => new HttpFetcher().fetch(url, { ...request, end: undefined }),
    };
    expect((await read(ignoringEnd, server.url('/file'), 2000, 3000)).equals(BODY.subarray(2000, 5000))).toBe(true);
    expect(server.requests[0].headers.range).toBe('bytes=2000-');
  });

  it('a server answering 200 with the whole file for a range is RangeNotHonouredError, without retries', async () => {
    const server = await serve(serveBytes(BODY, { honourRange: false }));
    await expect(read(new HttpFetcher(), server.url('/file'), 100, 100)).rejects.toThrow(RangeNotHonouredError);
    expect(server.requests).toHaveLength(1);
  });

  it('a 206 from another offset, or without a Content-Range (multipart), is RangeNotHonouredError at once', async () => {
    let n = 0;
    const server = await serve((req, res) => {
      if (n++ === 0) res.writeHead(206, { 'content-range': `bytes 0-199/${BODY.length}`, 'content-length': 200 });
      else res.writeHead(206, { 'content-type': 'multipart/byteranges; boundary=x', 'content-length': 200 });
      res.end(BODY.subarray(0, 200));
    });
    await expect(read(new HttpFetcher(), server.url('/file'), 100, 100)).rejects.toThrow(RangeNotHonouredError);
    await expect(read(new HttpFetcher(), server.url('/file'), 100, 100)).rejects.toThrow(RangeNotHonouredError);
    expect(server.requests).toHaveLength(2);
  });

  it('resumes an interrupted range from where it stopped', async () => {
    const server = await serve(interruptMidBody(BODY, { afterBytes: 1000, how: 'reset' }));
    const bytes = await read(new HttpFetcher(), server.url('/file'), 10_000, 50_000);
    expect(bytes.equals(BODY.subarray(10_000, 60_000))).toBe(true);
    expect(server.requests.map((r) => r.headers.range)).toEqual(['bytes=10000-59999', 'bytes=11000-59999']);
  });

  it('slow retrieval: a range that trickles below the minimum rate is SlowRetrievalError', async () => {
    const server = await serve(drip(BODY, { chunkSize: 10, intervalMs: 20 }));
    const options = { minBytesPerSecond: 10_000, rateWindowMs: 200, retries: 0 };
    await expect(read(new HttpFetcher(), server.url('/file'), 0, 100_000, options)).rejects.toThrow(SlowRetrievalError);
  });

  it('cancellation ends the read with CancelledError', async () => {
    const server = await serve(drip(BODY, { chunkSize: 1000, intervalMs: 20 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      read(new HttpFetcher(), server.url('/file'), 0, 100_000, { signal: controller.signal }),
    ).rejects.toThrow(CancelledError);
  });
});
