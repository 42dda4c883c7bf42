/**
 * Target downloads skip the defensive copy of each chunk only for bodies marked OWNED_CHUNKS
 * (HttpFetcher's), and one read-timeout timer serves a whole request however many chunks it has.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DownloadError, DownloadLengthMismatchError, SlowRetrievalError } from '../../updater/core/errors.js';
import { downloadBytes, downloadFile } from '../../updater/client/download.js';
import { OWNED_CHUNKS, type FetchResponse, type Fetcher } from '../../updater/client/fetcher.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';

const CHUNK = 64 * 1024;
const BODY = randomBytes(40 * CHUNK + 17);
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const HASHES = { sha256: sha256(BODY) };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'etuf-owned-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** Yields BODY in fresh CHUNK-sized buffers; `mark` decides what the body says about them. */
function freshChunksFetcher(mark: (body: AsyncIterable<Uint8Array>) => void): Fetcher {
  return {
    async fetch(): Promise<FetchResponse> {
      const body = (async function* () {
        for (let at = 0; at < BODY.length; at += CHUNK) yield Uint8Array.from(BODY.subarray(at, at + CHUNK));
      })();
      mark(body);
      return { start: 0, totalLength: BODY.length, body };
    },
  };
}

/** Calls of Buffer.from that copy a whole chunk (a Uint8Array argument of chunk size). */
function countChunkCopies(): () => number {
  const from = vi.spyOn(Buffer, 'from');
  return () =>
    from.mock.calls.filter(
      ([arg]) => arg instanceof Uint8Array && (arg.length === CHUNK || arg.length === BODY.length % CHUNK),
    ).length;
}

async function download(fetcher: Fetcher): Promise<string> {
  const dest = join(dir, 'target.bin');
  await downloadFile(fetcher, 'https://x/target.bin', dest, { length: BODY.length, hashes: HASHES });
  return dest;
}

describe('chunks handed over (OWNED_CHUNKS)', () => {
  it('are hashed and written without a copy', async () => {
    const copies = countChunkCopies();
    const dest = await download(freshChunksFetcher((body) => Object.assign(body, { [OWNED_CHUNKS]: true })));
    expect(copies()).toBe(0);
    expect(sha256(readFileSync(dest))).toBe(HASHES.sha256);
  });

  it('unmarked bodies, and marks that are not exactly true or cannot be read, are copied chunk by chunk', async () => {
    const marks: Array<(body: AsyncIterable<Uint8Array>) => void> = [
      () => {},
      (body) => Object.assign(body, { [OWNED_CHUNKS]: 'yes' }),
      (body) =>
        Object.defineProperty(body, OWNED_CHUNKS, {
          get() {
            throw new Error('hostile getter');
          },
        }),
    ];
    for (const mark of marks) {
      const copies = countChunkCopies();
      const dest = await download(freshChunksFetcher(mark));
      expect(copies()).toBe(41);
      expect(sha256(readFileSync(dest))).toBe(HASHES.sha256);
      vi.restoreAllMocks();
    }
  });

  it('HttpFetcher marks its bodies', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const fetcher = new HttpFetcher({ proxy: {} });
    try {
      const response = await fetcher.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(response.body[OWNED_CHUNKS]).toBe(true);
      for await (const chunk of response.body) expect(Buffer.from(chunk).toString()).toBe('ok');
    } finally {
      fetcher.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});

describe('one request', () => {
  it('is one timer for the whole body, re-armed per chunk, and still fires on a stall after many chunks', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const fetcher: Fetcher = {
      async fetch(): Promise<FetchResponse> {
        return {
          start: 0,
          totalLength: BODY.length,
          body: (async function* () {
            for (let at = 0; at < 30 * CHUNK; at += CHUNK) {
              await new Promise((ok) => setImmediate(ok));
              yield Uint8Array.from(BODY.subarray(at, at + CHUNK));
            }
            await new Promise(() => {}); // stalls for good
          })(),
        };
      },
    };
    const failure = downloadFile(fetcher, 'https://x/target.bin', join(dir, 't.bin'), {
      length: BODY.length,
      hashes: HASHES,
      readTimeoutMs: 150,
      retries: 0,
    });
    await expect(failure).rejects.toBeInstanceOf(SlowRetrievalError);
    expect(setTimeoutSpy.mock.calls.filter(([, ms]) => ms === 150)).toHaveLength(1);
  });

  it('leaves the fetcher signal alone once the fetcher finished by itself, aborts it otherwise', async () => {
    const signals: AbortSignal[] = [];
    const fetcher = (behaviour: 'ends' | 'fails' | 'too long'): Fetcher => ({
      async fetch(_url, request): Promise<FetchResponse> {
        signals.push(request!.signal!);
        if (behaviour === 'fails') throw new Error('connection refused');
        return {
          start: 0,
          body: (async function* () {
            yield new Uint8Array(10);
            if (behaviour === 'too long') for (;;) yield new Uint8Array(10);
          })(),
        };
      },
    });
    await downloadBytes(fetcher('ends'), 'https://x/a', 100);
    await expect(downloadBytes(fetcher('fails'), 'https://x/a', 100)).rejects.toBeInstanceOf(DownloadError);
    await expect(downloadBytes(fetcher('too long'), 'https://x/a', 100)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    const hanging: Fetcher = {
      fetch: (_url, request) => {
        signals.push(request!.signal!);
        return new Promise(() => {});
      },
    };
    await expect(downloadBytes(hanging, 'https://x/a', 100, { readTimeoutMs: 50 })).rejects.toBeInstanceOf(
      SlowRetrievalError,
    );
    expect(signals.map((s) => s.aborted)).toEqual([false, false, true, true]);
  });
});
