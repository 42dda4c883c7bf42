/**
 * Slow retrieval in the app updater (issue 12), through an app's own Fetcher (here the
 * simulator, as an app passing `fetcher`): a drip-fed check or download ends in an `error`
 * event and a settled promise, with the rate settings passed as `tufConfig`, and a partial
 * installer stays resumable.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlowRetrievalError } from '../../updater/core/errors.js';
import type { FetchRequest, FetchResponse } from '../../updater/client/fetcher.js';
import { appHarness, cleanupTempDirs, installerBytes, ReleaseRepo } from './fixtures.js';

const INSTALLER = 'MyApp-1.1.0.tar.gz';
const SIZE = 64 * 1024;
/** Drip: one byte per 40 ms (25 bytes/s), each well within the read timeout. */
const TUF_CONFIG = { readTimeoutMs: 2000, minBytesPerSecond: 1024, rateWindowMs: 300 };

let repo: ReleaseRepo;
let bytes: Uint8Array;
let installerOffsets: number[];
/** URL suffixes currently drip-fed. */
let dripping: string[];

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  bytes = installerBytes(SIZE, 3);
  repo.publish({ version: '1.1.0', bytes });
  installerOffsets = [];
  dripping = [];
  repo.sim.intercept(async (url, request) => {
    if (url.endsWith(INSTALLER)) installerOffsets.push(request.offset ?? 0);
    if (!dripping.some((suffix) => url.endsWith(suffix))) return undefined;
    const body = url.endsWith(INSTALLER) ? bytes : await repo.sim.metadataBytes('timestamp');
    return dripResponse(body, request);
  });
});
afterEach(cleanupTempDirs);

/** `body` from the requested offset, one byte every 40 ms, until the request is aborted. */
function dripResponse(body: Uint8Array, request: FetchRequest): FetchResponse {
  const start = request.offset && request.offset < body.length ? request.offset : 0;
  return {
    start,
    totalLength: body.length,
    body: (async function* () {
      for (let at = start; at < body.length; at++) {
        await sleep(40, undefined, { signal: request.signal });
        yield body.slice(at, at + 1);
      }
    })(),
  };
}

describe('slow retrieval in the app updater', () => {
  it(
    'a drip-fed timestamp: checkForUpdates rejects with SlowRetrievalError and emits error',
    { timeout: 20_000 },
    async () => {
      dripping = ['/timestamp.json'];
      const app = await appHarness(repo, { version: '1.0.0', tufConfig: TUF_CONFIG });
      await expect(app.updater.checkForUpdates()).rejects.toThrow(SlowRetrievalError);
      expect(app.names()).toEqual(['checking-for-update', 'error']);
      const [error] = app.of('error')[0];
      expect(error).toBeInstanceOf(SlowRetrievalError);
      expect(error.message).toMatch(
        /timestamp\.json: too slow: \d+ bytes in [\d.]+ s \([\d.]+ bytes\/s\), below the minimum of 1024 bytes\/s/,
      );
    },
  );

  it(
    'a drip-fed installer: downloadUpdate rejects, emits error, and a later download resumes the .part',
    { timeout: 30_000 },
    async () => {
      const app = await appHarness(repo, { version: '1.0.0', tufConfig: TUF_CONFIG });
      await app.updater.checkForUpdates();
      dripping = [INSTALLER];
      await expect(app.updater.downloadUpdate()).rejects.toThrow(SlowRetrievalError);
      expect(app.names()).toContain('error');
      expect(app.names()).not.toContain('update-downloaded');
      expect(app.of('error').at(-1)![0]).toBeInstanceOf(SlowRetrievalError);
      expect(installerOffsets.length).toBe(4); // the client's bounded retries, each resuming
      const part = await stat(join(app.cacheDir, 'pending', `${INSTALLER}.part`));
      expect(part.size).toBeGreaterThan(0);

      dripping = [];
      const [file] = await app.updater.downloadUpdate();
      expect(installerOffsets.at(-1)).toBe(part.size);
      expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
      expect(app.names().at(-1)).toBe('update-downloaded');
    },
  );
});
