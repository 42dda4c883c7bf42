/**
 * FetchApiFetcher over Node's global fetch (the same adapter serves Electron's net.fetch):
 * ranges, statuses, broken and silent servers, cancellation, and a whole verified download
 * with resume through download.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, DownloadError, DownloadHTTPError, SlowRetrievalError } from '../../updater/core/errors.js';
import { downloadFile } from '../../updater/client/download.js';
import { FetchApiFetcher } from '../../updater/client/fetch-api-fetcher.js';
import {
  interruptMidBody,
  neverRespond,
  serveBytes,
  stallMidBody,
  startPythonHttpServer,
  startServer,
  type TestServer,
} from '../helpers/servers.js';

const body = randomBytes(300_000);
const sha256 = createHash('sha256').update(body).digest('hex');
let server: TestServer;
let dir: string;
const fetcher = new FetchApiFetcher(globalThis.fetch, { headers: { authorization: 'Bearer t' } });

async function drain(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of iterable) parts.push(c);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  server = await startServer({
    '/file': serveBytes(body),
    '/silent': neverRespond(),
    '/stall': stallMidBody(body, 1000),
  });
  dir = await mkdtemp(join(tmpdir(), 'etuf-fetchapi-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.requests.length = 0;
});

describe('FetchApiFetcher', () => {
  it('streams a body and sends the configured headers', async () => {
    const res = await fetcher.fetch(server.url('/file'));
    expect(res.start).toBe(0);
    expect(res.totalLength).toBe(body.length);
    expect((await drain(res.body)).equals(body)).toBe(true);
    expect(server.requests[0].headers.authorization).toBe('Bearer t');
  });

  it('asks for a range and reports where the body starts', async () => {
    const res = await fetcher.fetch(server.url('/file'), { offset: 1000 });
    expect(res.start).toBe(1000);
    expect((await drain(res.body)).equals(body.subarray(1000))).toBe(true);
    expect(server.requests[0].headers.range).toBe('bytes=1000-');
  });

  it('turns a non-success status into DownloadHTTPError with the status', async () => {
    await expect(fetcher.fetch(server.url('/missing'))).rejects.toMatchObject({
      name: 'DownloadHTTPError',
      status: 404,
    });
    await expect(fetcher.fetch(server.url('/missing'))).rejects.toBeInstanceOf(DownloadHTTPError);
  });

  it('gives up on a server that never answers', async () => {
    // A short connect timeout only here: on a loaded machine a live server may answer late.
    const impatient = new FetchApiFetcher(globalThis.fetch, { connectTimeoutMs: 300 });
    await expect(impatient.fetch(server.url('/silent'))).rejects.toThrow(SlowRetrievalError);
  });

  it('reports a connection reset mid-body as DownloadError', async () => {
    server.route('/reset', interruptMidBody(body, { afterBytes: 50_000, times: 100 }));
    const res = await fetcher.fetch(server.url('/reset'));
    await expect(drain(res.body)).rejects.toThrow(DownloadError);
  });

  it('is cancelled by the caller', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(fetcher.fetch(server.url('/file'), { signal: controller.signal })).rejects.toThrow(CancelledError);
  });

  it('serves download.ts: a verified file, a stall caught by the read timeout, a resume after a reset', async () => {
    const dest = join(dir, 'a.bin');
    await downloadFile(fetcher, server.url('/file'), dest, { length: body.length, hashes: { sha256 } });
    expect((await readFile(dest)).equals(body)).toBe(true);

    await expect(
      downloadFile(fetcher, server.url('/stall'), join(dir, 'b.bin'), {
        length: body.length,
        hashes: { sha256 },
        readTimeoutMs: 200,
        retries: 0,
      }),
    ).rejects.toThrow(SlowRetrievalError);

    server.route('/flaky', interruptMidBody(body, { afterBytes: 100_000, times: 1 }));
    const resumed = join(dir, 'c.bin');
    await downloadFile(fetcher, server.url('/flaky'), resumed, {
      length: body.length,
      hashes: { sha256 },
      resume: true,
    });
    expect((await readFile(resumed)).equals(body)).toBe(true);
    expect(server.requests.filter((r) => r.url === '/flaky').map((r) => r.headers.range)).toEqual([
      undefined,
      expect.stringMatching(/^bytes=\d+-$/),
    ]);
  });

  it('survives python3 -m http.server closing connections under backpressure', async () => {
    const root = await mkdtemp(join(tmpdir(), 'etuf-py-'));
    const big = randomBytes(4 << 20);
    await writeFile(join(root, 'big.bin'), big);
    const py = await startPythonHttpServer(root);
    try {
      const hashes = { sha256: createHash('sha256').update(big).digest('hex') };
      for (let i = 0; i < 5; i++) {
        await downloadFile(fetcher, `${py.origin}/big.bin`, join(dir, `py-${i}.bin`), { length: big.length, hashes });
      }
    } finally {
      await py.close();
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
