import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  CancelledError,
  DownloadError,
  DownloadLengthMismatchError,
  LengthOrHashMismatchError,
  SlowRetrievalError,
  StorageError,
} from '../../updater/core/errors.js';
import { downloadBytes, downloadFile, type DownloadProgress } from '../../updater/client/download.js';
import type { FetchRequest, FetchResponse, Fetcher } from '../../updater/client/fetcher.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';
import {
  drip,
  endless,
  interruptMidBody,
  serveBytes,
  stallMidBody,
  startPythonHttpServer,
  startServer,
  type TestServer,
} from '../helpers/servers.js';

const BODY = randomBytes(1024 * 1024 + 123);
const HASHES = { sha256: sha256(BODY) };

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

let dir: string;
const cleanups: Array<() => unknown> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'etuf-download-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function server(routes: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const started = await startServer(routes);
  cleanups.push(() => started.close());
  return started;
}

/** The real fetcher with generous timeouts of its own, so download.ts's guards are what fire. */
function http(): HttpFetcher {
  const fetcher = new HttpFetcher({ proxy: {}, readTimeoutMs: 10_000, retryDelayMs: 10 });
  cleanups.push(() => fetcher.close());
  return fetcher;
}

/** A fetcher an app might write badly: whatever `body` yields, after `delayMs` for the head. */
function fakeFetcher(
  body: () => AsyncIterable<unknown>,
  extra: Partial<FetchResponse> = {},
): Fetcher & { requests: FetchRequest[] } {
  const requests: FetchRequest[] = [];
  return {
    requests,
    fetch: async (_url, request = {}) => {
      requests.push(request);
      return { start: 0, body: body() as AsyncIterable<Uint8Array>, ...extra };
    },
  };
}

const dest = (): string => join(dir, 'app-1.0.0.tar.gz');
const partOf = (path: string): string => `${path}.part`;

describe('downloadBytes', () => {
  test('returns the body', async () => {
    const origin = await server({ '/root.json': serveBytes(BODY) });
    const bytes = await downloadBytes(http(), origin.url('/root.json'), BODY.length);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(sha256(bytes)).toBe(HASHES.sha256);
  });

  test('endless data is cut at maxLength and the connection dropped at once', async () => {
    const { handler, stats } = endless(16 * 1024);
    const origin = await server({ '/timestamp.json': handler });
    await expect(downloadBytes(http(), origin.url('/timestamp.json'), 100_000)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    await stats.closed;
    const sentAtError = stats.bytesSent;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stats.bytesSent).toBe(sentAtError);
  });

  test('a stall is SlowRetrievalError from our own timer, whatever the fetcher allows', async () => {
    const origin = await server({ '/snapshot.json': stallMidBody(BODY, 1000) });
    // Were the timer not ours, the body would arrive after the 1 s stall and the download succeed.
    await expect(
      downloadBytes(http(), origin.url('/snapshot.json'), BODY.length, { readTimeoutMs: 200 }),
    ).rejects.toBeInstanceOf(SlowRetrievalError);
  });

  test('an app fetcher that yields endlessly without ever waiting is cut too', async () => {
    let yielded = 0;
    let finalized = false;
    const fetcher = fakeFetcher(async function* () {
      try {
        for (;;) {
          yielded++;
          yield new Uint8Array(1000);
        }
      } finally {
        finalized = true;
      }
    });
    await expect(downloadBytes(fetcher, 'https://x/targets.json', 10_500)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    expect(yielded).toBe(11);
    await new Promise((resolve) => setImmediate(resolve));
    expect(finalized).toBe(true);
    expect(fetcher.requests[0]).toMatchObject({ offset: 0, maxLength: 10_500 });
  });

  test('an app fetcher that never answers, or never yields, is a SlowRetrievalError', async () => {
    const hangingHead: Fetcher = { fetch: () => new Promise(() => {}) };
    await expect(downloadBytes(hangingHead, 'https://x/a', 10, { readTimeoutMs: 100 })).rejects.toBeInstanceOf(
      SlowRetrievalError,
    );
    const hangingBody = fakeFetcher(async function* () {
      yield new Uint8Array(1);
      await new Promise(() => {});
    });
    await expect(downloadBytes(hangingBody, 'https://x/a', 10, { readTimeoutMs: 100 })).rejects.toBeInstanceOf(
      SlowRetrievalError,
    );
  });

  test('the fetcher is told to stop: its signal is aborted when we give up', async () => {
    let seenSignal: AbortSignal | undefined;
    const fetcher: Fetcher = {
      fetch: async (_url, request) => {
        seenSignal = request?.signal;
        return {
          start: 0,
          body: (async function* () {
            for (;;) yield new Uint8Array(100);
          })(),
        };
      },
    };
    await expect(downloadBytes(fetcher, 'https://x/a', 1000)).rejects.toBeInstanceOf(DownloadLengthMismatchError);
    expect(seenSignal?.aborted).toBe(true);
  });

  test('an app fetcher yielding non-bytes, throwing plain errors or lying about the start is a DownloadError', async () => {
    const strings = fakeFetcher(async function* () {
      yield 'not bytes';
    });
    await expect(downloadBytes(strings, 'https://x/a', 100)).rejects.toThrow(/yielded string/);
    const throwing: Fetcher = { fetch: () => Promise.reject(new TypeError('fetch failed')) };
    await expect(downloadBytes(throwing, 'https://x/a', 100)).rejects.toBeInstanceOf(DownloadError);
    const throwingSync: Fetcher = {
      fetch: () => {
        throw new TypeError('not async at all');
      },
    };
    await expect(downloadBytes(throwingSync, 'https://x/a', 100)).rejects.toBeInstanceOf(DownloadError);
    const notIterable = fakeFetcher(
      () => ({ [Symbol.asyncIterator]: () => ({ next: () => 42 }) }) as unknown as AsyncIterable<unknown>,
    );
    await expect(downloadBytes(notIterable, 'https://x/a', 100)).rejects.toThrow(/not an async iterator/);
    const offset = fakeFetcher(async function* () {}, { start: 50 });
    await expect(downloadBytes(offset, 'https://x/a', 100)).rejects.toThrow(/answered from 50/);
    const announcedTooLong = fakeFetcher(async function* () {}, { totalLength: 101 });
    await expect(downloadBytes(announcedTooLong, 'https://x/a', 100)).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
  });

  test('cancellation', async () => {
    const origin = await server({ '/drip': drip(BODY, { chunkSize: 1000, intervalMs: 10 }) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      downloadBytes(http(), origin.url('/drip'), BODY.length, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('downloadFile', () => {
  test('streams to disk, verifies, and renames into place', async () => {
    const origin = await server({ '/t': serveBytes(BODY) });
    const result = await downloadFile(http(), origin.url('/t'), dest(), { length: BODY.length, hashes: HASHES });
    expect(result).toEqual({ path: dest(), length: BODY.length });
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
    expect(existsSync(partOf(dest()))).toBe(false);
  });

  test('a hash mismatch leaves neither the file nor a .part', async () => {
    const tampered = Buffer.from(BODY);
    tampered[1000] ^= 1;
    const origin = await server({ '/t': serveBytes(tampered) });
    const failure = downloadFile(http(), origin.url('/t'), dest(), {
      length: BODY.length,
      hashes: HASHES,
      resume: true,
    });
    await expect(failure).rejects.toBeInstanceOf(LengthOrHashMismatchError);
    await expect(failure).rejects.toThrow(/sha256 mismatch/);
    expect(existsSync(dest())).toBe(false);
    expect(existsSync(partOf(dest()))).toBe(false);
  });

  test('more data than the trusted length: DownloadLengthMismatchError, nothing left on disk', async () => {
    const { handler, stats } = endless();
    const origin = await server({ '/t': handler });
    const failure = downloadFile(http(), origin.url('/t'), dest(), {
      length: BODY.length,
      hashes: HASHES,
      resume: true,
    });
    await expect(failure).rejects.toBeInstanceOf(DownloadLengthMismatchError);
    await stats.closed;
    expect(existsSync(dest())).toBe(false);
    expect(existsSync(partOf(dest()))).toBe(false);
  });

  test('a body that ends short is a length mismatch', async () => {
    const short = BODY.subarray(0, BODY.length - 1);
    const origin = await server({ '/t': serveBytes(short) });
    await expect(
      downloadFile(http(), origin.url('/t'), dest(), { length: BODY.length, hashes: HASHES }),
    ).rejects.toThrow(/expected length/);
    expect(existsSync(partOf(dest()))).toBe(false);
  });

  test('a reset mid-body is resumed with a Range request and ends with the right hash', async () => {
    const origin = await server({ '/t': interruptMidBody(BODY, { afterBytes: 300_000, times: 2 }) });
    await downloadFile(http(), origin.url('/t'), dest(), { length: BODY.length, hashes: HASHES, retries: 2 });
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
    expect(origin.requests).toHaveLength(3);
    expect(origin.requests[0].headers.range).toBeUndefined();
    const resumedFrom = origin.requests.slice(1).map((r) => Number(/^bytes=(\d+)-$/.exec(r.headers.range ?? '')?.[1]));
    expect(resumedFrom[0]).toBeGreaterThan(0);
    expect(resumedFrom[1]).toBeGreaterThan(resumedFrom[0]);
  });

  test('retries are bounded: a stalling server ends in SlowRetrievalError', async () => {
    const origin = await server({ '/t': stallMidBody(BODY, 1000) });
    const failure = downloadFile(http(), origin.url('/t'), dest(), {
      length: BODY.length,
      hashes: HASHES,
      retries: 2,
      readTimeoutMs: 150,
    });
    await expect(failure).rejects.toBeInstanceOf(SlowRetrievalError);
    expect(origin.requests).toHaveLength(3);
    expect(existsSync(partOf(dest()))).toBe(false); // resume not asked for: no leftovers
  });

  test('an interrupted download resumes later from its .part (existing bytes hashed first)', async () => {
    const origin = await server({ '/t': interruptMidBody(BODY, { afterBytes: 400_000, how: 'close' }) });
    const options = { length: BODY.length, hashes: HASHES, resume: true };
    await expect(downloadFile(http(), origin.url('/t'), dest(), { ...options, retries: 0 })).rejects.toBeInstanceOf(
      DownloadError,
    );
    const kept = readFileSync(partOf(dest()));
    expect(kept.length).toBe(400_000);
    expect(kept.equals(BODY.subarray(0, kept.length))).toBe(true);

    const events: DownloadProgress[] = [];
    await downloadFile(http(), origin.url('/t'), dest(), { ...options, onProgress: (p) => events.push(p) });
    expect(origin.requests[1].headers.range).toBe(`bytes=${kept.length}-`);
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
    expect(events.at(-1)).toMatchObject({ transferred: BODY.length, total: BODY.length });
    expect(events.reduce((sum, e) => sum + e.delta, 0)).toBe(BODY.length - kept.length); // resumed bytes are not "transferred"
  });

  test('a server that ignores Range restarts the file from byte 0', async () => {
    writeFileSync(partOf(dest()), BODY.subarray(0, 500_000));
    const origin = await server({ '/t': serveBytes(BODY, { honourRange: false }) });
    const events: DownloadProgress[] = [];
    await downloadFile(http(), origin.url('/t'), dest(), {
      length: BODY.length,
      hashes: HASHES,
      resume: true,
      onProgress: (p) => events.push(p),
    });
    expect(origin.requests[0].headers.range).toBe('bytes=500000-');
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
    expect(events.map((e) => e.transferred)).toEqual([...events.map((e) => e.transferred)].sort((a, b) => a - b));
    expect(events.every((e) => e.transferred > 500_000)).toBe(true); // no step backwards after the restart
  });

  test('a .part with wrong bytes fails the hash and is deleted; a complete .part needs no request', async () => {
    const corrupted = Buffer.from(BODY.subarray(0, 500_000));
    corrupted[10] ^= 0xff;
    writeFileSync(partOf(dest()), corrupted);
    const origin = await server({ '/t': serveBytes(BODY) });
    const options = { length: BODY.length, hashes: HASHES, resume: true };
    await expect(downloadFile(http(), origin.url('/t'), dest(), options)).rejects.toBeInstanceOf(
      LengthOrHashMismatchError,
    );
    expect(existsSync(partOf(dest()))).toBe(false);

    writeFileSync(partOf(dest()), BODY);
    const events: DownloadProgress[] = [];
    await downloadFile(http(), origin.url('/t'), dest(), { ...options, onProgress: (p) => events.push(p) });
    expect(origin.requests).toHaveLength(1); // only the first, failed attempt
    expect(events).toEqual([{ transferred: BODY.length, total: BODY.length, delta: 0 }]);
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
  });

  test('without resume an old .part is overwritten', async () => {
    writeFileSync(partOf(dest()), Buffer.alloc(2 * BODY.length, 1));
    const origin = await server({ '/t': serveBytes(BODY) });
    await downloadFile(http(), origin.url('/t'), dest(), { length: BODY.length, hashes: HASHES });
    expect(origin.requests[0].headers.range).toBeUndefined();
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
  });

  test('what is hashed is what is written, even if the fetcher reuses one buffer for every chunk', async () => {
    const shared = Buffer.alloc(64 * 1024);
    const fetcher = fakeFetcher(async function* () {
      for (let at = 0; at < BODY.length; at += shared.length) {
        const piece = BODY.subarray(at, at + shared.length);
        piece.copy(shared);
        yield shared.subarray(0, piece.length);
      }
    });
    await downloadFile(fetcher, 'https://x/t', dest(), { length: BODY.length, hashes: HASHES });
    expect(sha256(readFileSync(dest()))).toBe(HASHES.sha256);
  });

  test('disk trouble is a StorageError', async () => {
    const origin = await server({ '/t': serveBytes(BODY) });
    const failure = downloadFile(http(), origin.url('/t'), join(dir, 'missing-dir', 'x'), {
      length: BODY.length,
      hashes: HASHES,
    });
    await expect(failure).rejects.toBeInstanceOf(StorageError);
  });

  test('progress: throttled, monotonic, deltas add up, last event at total', async () => {
    const origin = await server({ '/t': drip(BODY, { chunkSize: 16 * 1024, intervalMs: 2 }) });
    const events: Array<DownloadProgress & { at: number }> = [];
    const started = performance.now();
    await downloadFile(http(), origin.url('/t'), dest(), {
      length: BODY.length,
      hashes: HASHES,
      onProgress: (p) => events.push({ ...p, at: performance.now() }),
    });
    const elapsed = performance.now() - started;
    expect(events.length).toBeGreaterThan(1);
    expect(events.length).toBeLessThanOrEqual(elapsed / 50 + 2);
    for (let i = 1; i < events.length - 1; i++) expect(events[i].at - events[i - 1].at).toBeGreaterThanOrEqual(49);
    for (let i = 1; i < events.length; i++) expect(events[i].transferred).toBeGreaterThan(events[i - 1].transferred);
    expect(events.reduce((sum, e) => sum + e.delta, 0)).toBe(BODY.length);
    expect(events.at(-1)).toMatchObject({ transferred: BODY.length, total: BODY.length });
    expect(events.every((e) => e.total === BODY.length)).toBe(true);
  });

  test('cancellation: CancelledError; the .part is kept only when resuming', async () => {
    const origin = await server({ '/t': drip(BODY, { chunkSize: 16 * 1024, intervalMs: 5 }) });
    for (const resume of [false, true]) {
      const controller = new AbortController();
      const failure = downloadFile(http(), origin.url('/t'), dest(), {
        length: BODY.length,
        hashes: HASHES,
        resume,
        signal: controller.signal,
        onProgress: (p) => p.transferred > 100_000 && controller.abort(),
      });
      await expect(failure).rejects.toBeInstanceOf(CancelledError);
      expect(existsSync(dest())).toBe(false);
      expect(existsSync(partOf(dest()))).toBe(resume);
    }
    await expect(
      downloadFile(http(), origin.url('/t'), dest(), { length: 1, hashes: HASHES, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  test('python3 -m http.server (closes at end of body, ignores Range): 20 multi-MiB downloads with backpressure', async () => {
    const served = join(dir, 'www');
    const payload = randomBytes(6 * 1024 * 1024);
    const hashes = { sha256: sha256(payload), sha512: createHash('sha512').update(payload).digest('hex') };
    mkdirSync(served);
    writeFileSync(join(served, 'installer.bin'), payload);
    const python = await startPythonHttpServer(served);
    cleanups.push(() => python.close());
    const fetcher = http();
    for (let i = 0; i < 20; i++) {
      const target = join(dir, `installer-${i}.bin`);
      await downloadFile(fetcher, `${python.origin}/installer.bin`, target, { length: payload.length, hashes });
      expect(sha256(readFileSync(target))).toBe(hashes.sha256);
      rmSync(target);
    }
    // Resuming against it: it answers 200 to the Range request, so the file starts over.
    writeFileSync(partOf(dest()), payload.subarray(0, 1_000_000));
    await downloadFile(fetcher, `${python.origin}/installer.bin`, dest(), {
      length: payload.length,
      hashes,
      resume: true,
    });
    expect(sha256(readFileSync(dest()))).toBe(hashes.sha256);
  }, 120_000);
});
