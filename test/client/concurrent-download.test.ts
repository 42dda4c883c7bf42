/**
 * Issue 11, finding 3: concurrent `downloadTarget` calls for one destination, in separate
 * processes (app instances, `client download` runs), against a server that ignores Range. A
 * returned path must only ever hold verified bytes: every process succeeds and reads back the
 * signed file. Children import the built dist/ (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Updater } from '../../updater/client/updater.js';
import { installerBytes } from '../electron/fixtures.js';
import { METADATA_URL, RepositorySimulator, TARGETS_URL } from '../helpers/simulator.js';
import { ROOT } from '../helpers/vectors.js';

const CHILD = join(ROOT, 'test/helpers/download-child.mjs');
const CLIENT_MODULE = pathToFileURL(join(ROOT, 'dist/updater/client/index.js')).href;
const PROCESSES = 8;
const ROUNDS = 3;
const SIZE = 2 * 1024 * 1024;
/** Slow enough that the eight downloads overlap. */
const CHUNK = 64 * 1024;
const CHUNK_INTERVAL_MS = 5;

let sim: RepositorySimulator;
let server: http.Server;
let origin: string;
let dir: string;
let expectedSha256: string;
let targetRequests = 0;

/** Serves the simulator; targets always whole, with 200, whatever Range asks (as some CDNs and `python -m http.server` do). */
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.on('error', () => {});
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const isTarget = path.startsWith('/targets/');
  if (isTarget) targetRequests++;
  const url = isTarget ? TARGETS_URL + path.slice('/targets'.length) : METADATA_URL + path.slice('/metadata'.length);
  void (async () => {
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of (await sim.fetch(url)).body) chunks.push(chunk);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'content-length': body.length });
    if (!isTarget) return void res.end(body);
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(body.subarray(at, at + CHUNK));
      at += CHUNK;
      if (at >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, CHUNK_INTERVAL_MS);
    res.on('close', () => clearInterval(timer));
  })();
}

function runChild(): Promise<{ code: number | null; result: { path?: string; sha256?: string; error?: string } }> {
  const args = [
    CHILD,
    CLIENT_MODULE,
    join(dir, 'metadata'),
    `${origin}/metadata`,
    join(dir, 'targets'),
    `${origin}/targets`,
    'app.bin',
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 120_000 }, (error, stdout, stderr) => {
      let result: { path?: string; sha256?: string; error?: string };
      try {
        result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as typeof result;
      } catch {
        result = { error: `no result: ${stderr || error?.message}` };
      }
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, result });
    });
  });
}

beforeAll(async () => {
  expect(existsSync(new URL(CLIENT_MODULE)), 'dist/ is built (npm run build)').toBe(true);
  sim = await RepositorySimulator.create();
  const bytes = installerBytes(SIZE, 11);
  expectedSha256 = createHash('sha256').update(bytes).digest('hex');
  sim.addTarget('app.bin', bytes);
  sim.updateTargets();
  sim.updateSnapshot();
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'etuf-concurrent-'));
  // The shared metadata directory, initialised once as `client init` + a first refresh would.
  await new Updater({
    metadataDir: join(dir, 'metadata'),
    metadataBaseUrl: `${origin}/metadata`,
    bootstrapRoot: sim.initialRoot,
  }).refresh();
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('concurrent downloads of one target', () => {
  it(
    'in one process, a second call waits for the first and shares its verified file',
    { timeout: 60_000 },
    async () => {
      await rm(join(dir, 'targets'), { recursive: true, force: true });
      const updater = (): Updater =>
        new Updater({
          metadataDir: join(dir, 'metadata'),
          metadataBaseUrl: `${origin}/metadata`,
          targetDir: join(dir, 'targets'),
          targetBaseUrl: `${origin}/targets`,
        });
      const [a, b] = [updater(), updater()];
      const infos = await Promise.all([a.getTargetInfo('app.bin'), b.getTargetInfo('app.bin')]);
      const before = targetRequests;
      const paths = await Promise.all([a.downloadTarget(infos[0]!), b.downloadTarget(infos[1]!)]);
      const dest = join(dir, 'targets', 'app.bin');
      expect(paths).toEqual([dest, dest]);
      expect(targetRequests - before).toBe(1);
      expect(
        createHash('sha256')
          .update(await readFile(dest))
          .digest('hex'),
      ).toBe(expectedSha256);
    },
  );

  it(
    `${PROCESSES} processes, server ignoring Range: all succeed with the verified file, ${ROUNDS} rounds`,
    { timeout: 300_000 },
    async () => {
      const dest = join(dir, 'targets', 'app.bin');
      for (let round = 0; round < ROUNDS; round++) {
        await rm(join(dir, 'targets'), { recursive: true, force: true });
        const before = targetRequests;
        const runs = await Promise.all(Array.from({ length: PROCESSES }, () => runChild()));
        for (const { code, result } of runs) {
          expect(result, `round ${round}`).toEqual({ path: dest, sha256: expectedSha256 });
          expect(code).toBe(0);
        }
        expect(
          createHash('sha256')
            .update(await readFile(dest))
            .digest('hex'),
        ).toBe(expectedSha256);
        expect(await readdir(join(dir, 'targets'))).toEqual(['app.bin']); // no .part or .lock left behind
        expect(targetRequests - before).toBe(1); // the others waited for the lock and took the verified file
      }
    },
  );
});
