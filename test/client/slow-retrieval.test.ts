/**
 * Slow retrieval (spec 1.5.2, issue 12): a mirror that drip-feeds bytes, each one well within
 * the read timeout, must end in SlowRetrievalError for every metadata role and for targets,
 * through both built-in fetchers over real HTTP on 127.0.0.1 (Node's global fetch stands in
 * for Electron's net.fetch). The trusted state stays as it was, a partial target stays
 * resumable, and a slow but honest server above the floor completes. Small window and floor
 * here; the defaults are argued in updater/client/transfer-rate.ts.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, it as base } from 'vitest';
import { SlowRetrievalError, ValueError } from '../../updater/core/errors.js';
import type { Fetcher } from '../../updater/client/fetcher.js';
import { FetchApiFetcher } from '../../updater/client/fetch-api-fetcher.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';
import { Updater } from '../../updater/client/updater.js';
import { runClientCommand } from '../../publisher/cli/client-commands.js';
import type { CliIO } from '../../publisher/cli/io.js';
import { requestedStart } from '../helpers/servers.js';
import { installerBytes } from '../electron/fixtures.js';
import { METADATA_URL, RepositorySimulator, TARGETS_URL } from '../helpers/simulator.js';

const MIN_BYTES_PER_SECOND = 4096;
const WINDOW_MS = 800;
/** Well above the drip interval: only the rate floor can stop a drip. */
const READ_TIMEOUT_MS = 3000;
/** The attacker: 8 bytes/s, one byte every 125 ms (without the floor, a 1 kB timestamp takes two minutes). */
const DRIP = 8;
/** Slow but honest: twice the floor. */
const HONEST = 2 * MIN_BYTES_PER_SECOND;
const TARGET_SIZE = 32 * 1024;
const TEST_TIMEOUT_MS = 30_000;

interface PacedRepo {
  origin: string;
  /** Path and Range header of every request. */
  requests: Array<{ path: string; range?: string }>;
  /** Bytes per second for a path, or undefined to send it at once. */
  pace: (path: string) => number | undefined;
  close(): Promise<void>;
}

/** Serves the simulator over HTTP (`/metadata/...`, `/targets/...`), Range honoured, each path at its pace. */
async function servePaced(sim: RepositorySimulator): Promise<PacedRepo> {
  const sockets = new Set<Socket>();
  const repo: PacedRepo = { origin: '', requests: [], pace: () => undefined, close: async () => {} };
  const server = http.createServer((req, res) => void answer(sim, repo, req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  repo.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  repo.close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return repo;
}

async function answer(
  sim: RepositorySimulator,
  repo: PacedRepo,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  res.on('error', () => {});
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  repo.requests.push({ path, range: req.headers.range });
  let body: Buffer;
  try {
    const url = path.startsWith('/metadata/')
      ? METADATA_URL + path.slice('/metadata'.length)
      : TARGETS_URL + path.slice('/targets'.length);
    const response = await sim.fetch(url);
    const chunks: Uint8Array[] = [];
    for await (const chunk of response.body) chunks.push(chunk);
    body = Buffer.concat(chunks);
  } catch {
    res.writeHead(404).end();
    return;
  }
  const start = Math.min(requestedStart(req) ?? 0, body.length);
  const headers: http.OutgoingHttpHeaders = { 'content-length': body.length - start };
  if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  res.writeHead(start > 0 ? 206 : 200, headers);
  const rate = repo.pace(path);
  if (rate === undefined) res.end(body.subarray(start));
  else sendAtRate(res, body.subarray(start), rate);
}

/** Writes `body` at `bytesPerSecond` on average, catching up after a late timer. */
function sendAtRate(res: ServerResponse, body: Buffer, bytesPerSecond: number): void {
  const began = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.min(body.length, Math.floor(((performance.now() - began) * bytesPerSecond) / 1000));
    if (due > sent) res.write(body.subarray(sent, due));
    sent = Math.max(sent, due);
    if (sent === body.length) {
      clearInterval(timer);
      res.end();
    }
  }, 50);
  res.on('close', () => clearInterval(timer));
}

const FETCHERS: Array<[string, () => Fetcher]> = [
  ['HttpFetcher (node:http)', () => new HttpFetcher({ proxy: {} })],
  ['FetchApiFetcher (global fetch as net.fetch)', () => new FetchApiFetcher((url, init) => fetch(url, init))],
];

/** One test's world: a simulated repository served at its pace, a client folder, and checks on both. */
interface Paced {
  sim: RepositorySimulator;
  repo: PacedRepo;
  dir: string;
  target: Buffer;
  updater(rateWindowMs?: number): Updater;
  /** name -> content of every file in the metadata directory. */
  disk(): Promise<Map<string, string>>;
  /** Drips `pathPattern`, runs `action`, expects SlowRetrievalError naming the URL and the rate. */
  expectSlowRetrieval(pathPattern: RegExp, action: () => Promise<unknown>): Promise<SlowRetrievalError>;
  /** A refresh that must fail with slow retrieval, leaving every file but `mayChange` as it was. */
  expectRefreshRefused(pathPattern: RegExp, mayChange?: string[]): Promise<void>;
}

/** A served repository with a target and a delegated role, and a client that refreshed from it once. */
async function pacedWorld(makeFetcher: () => Fetcher): Promise<Paced & { close(): Promise<void> }> {
  const sim = await RepositorySimulator.create();
  const target = Buffer.from(installerBytes(TARGET_SIZE, 7));
  sim.addTarget('app.bin', target);
  sim.addDelegation('targets', { name: 'releases', paths: ['rel/*'] });
  sim.addTarget('rel/x.bin', 'delegated target', 'releases');
  sim.updateTargets('releases');
  sim.updateTargets();
  sim.updateSnapshot();
  const repo = await servePaced(sim);
  const dir = await mkdtemp(join(tmpdir(), 'etuf-slow-'));

  const updater = (rateWindowMs = WINDOW_MS): Updater =>
    new Updater({
      metadataDir: join(dir, 'metadata'),
      metadataBaseUrl: `${repo.origin}/metadata`,
      targetDir: join(dir, 'targets'),
      targetBaseUrl: `${repo.origin}/targets`,
      bootstrapRoot: sim.initialRoot,
      fetcher: makeFetcher(),
      config: { readTimeoutMs: READ_TIMEOUT_MS, minBytesPerSecond: MIN_BYTES_PER_SECOND, rateWindowMs },
    });

  async function disk(): Promise<Map<string, string>> {
    const metadataDir = join(dir, 'metadata');
    const out = new Map<string, string>();
    for (const name of (await readdir(metadataDir)).sort()) {
      if (!name.startsWith('.')) out.set(name, (await readFile(join(metadataDir, name))).toString('base64'));
    }
    return out;
  }

  async function expectSlowRetrieval(pathPattern: RegExp, action: () => Promise<unknown>): Promise<SlowRetrievalError> {
    repo.pace = (path) => (pathPattern.test(path) ? DRIP : undefined);
    const error = await action().then(
      () => undefined,
      (e: unknown) => e,
    );
    repo.pace = () => undefined;
    expect(error).toBeInstanceOf(SlowRetrievalError);
    const message = (error as Error).message;
    expect(message).toContain(repo.origin);
    expect(message).toMatch(pathPattern);
    expect(message).toMatch(/\(\d+(\.\d)? bytes\/s\), below the minimum of 4096 bytes\/s/);
    return error as SlowRetrievalError;
  }

  async function expectRefreshRefused(pathPattern: RegExp, mayChange: string[] = []): Promise<void> {
    const before = await disk();
    await expectSlowRetrieval(pathPattern, () => updater().refresh());
    const after = await disk();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, bytes] of before) if (!mayChange.includes(name)) expect(after.get(name), name).toBe(bytes);
  }

  const close = async (): Promise<void> => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await updater().refresh(); // the trusted state every test starts from
  } catch (error) {
    await close();
    throw error;
  }
  return { sim, repo, dir, target, updater, disk, expectSlowRetrieval, expectRefreshRefused, close };
}

// The tests wait on drip-fed servers, not on the CPU: each has a world of its own (server, folder),
// so they run concurrently (vitest.config.ts: maxConcurrency), the two fetchers' too.
describe.concurrent.each(FETCHERS)('slow retrieval through %s', (_name, makeFetcher) => {
  const it = base.extend<{ w: Paced }>({
    // eslint-disable-next-line no-empty-pattern -- vitest reads the fixtures a function destructures
    w: async ({}, use) => {
      const world = await pacedWorld(makeFetcher);
      try {
        await use(world);
      } finally {
        await world.close();
      }
    },
  });

  it(
    'a drip-fed timestamp ends in SlowRetrievalError; nothing stored changes',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      w.sim.updateTimestamp();
      await w.expectRefreshRefused(/\/timestamp\.json/);
    },
  );

  it(
    'a drip-fed snapshot ends in SlowRetrievalError; only the new timestamp was stored',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      w.sim.updateSnapshot();
      await w.expectRefreshRefused(/\/\d+\.snapshot\.json/, ['timestamp.json']);
    },
  );

  it('a drip-fed targets role ends in SlowRetrievalError', { timeout: TEST_TIMEOUT_MS }, async ({ w }) => {
    w.sim.updateTargets();
    w.sim.updateSnapshot();
    await w.expectRefreshRefused(/\/\d+\.targets\.json/, ['timestamp.json', 'snapshot.json']);
  });

  it(
    'a drip-fed delegated role ends in SlowRetrievalError and is not stored',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      const before = await w.disk();
      const up = w.updater();
      await up.refresh();
      await w.expectSlowRetrieval(/\/\d+\.releases\.json/, () => up.getTargetInfo('rel/x.bin'));
      expect(await w.disk()).toEqual(before);
      expect(await w.updater().getTargetInfo('rel/x.bin')).toBeDefined(); // served normally, it is found
    },
  );

  it(
    'a drip-fed target fails after the bounded retries, keeps its .part, and resumes later',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      const up = w.updater();
      const info = (await up.getTargetInfo('app.bin'))!;
      const dest = join(w.dir, 'targets', 'app.bin');
      await w.expectSlowRetrieval(/\/targets\/.*app\.bin/, () => up.downloadTarget(info));
      expect(w.repo.requests.filter((r) => r.path.endsWith('app.bin'))).toHaveLength(4); // first try + 3 retries
      await expect(stat(dest)).rejects.toThrow();
      const part = await stat(`${dest}.part`);
      expect(part.size).toBeLessThan(TARGET_SIZE);

      expect(await up.downloadTarget(info)).toBe(dest);
      expect((await readFile(dest)).equals(w.target)).toBe(true);
      const last = w.repo.requests.at(-1)!;
      expect(last.range).toBe(part.size > 0 ? `bytes=${part.size}-` : undefined);
    },
  );

  it(
    'a resumed download that is drip-fed fails without losing what it had',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      const up = w.updater();
      const info = (await up.getTargetInfo('app.bin'))!;
      const dest = join(w.dir, 'targets', 'app.bin');
      const half = TARGET_SIZE / 2;
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(`${dest}.part`, w.target.subarray(0, half)); // left by an interrupted download
      await w.expectSlowRetrieval(/\/targets\/.*app\.bin/, () => up.downloadTarget(info));
      expect(w.repo.requests.find((r) => r.path.endsWith('app.bin'))!.range).toBe(`bytes=${half}-`);
      const part = await stat(`${dest}.part`);
      expect(part.size).toBeGreaterThanOrEqual(half);
      expect((await readFile(`${dest}.part`)).equals(w.target.subarray(0, part.size))).toBe(true);

      await up.downloadTarget(info);
      expect(w.repo.requests.at(-1)!.range).toBe(`bytes=${part.size}-`);
      expect((await readFile(dest)).equals(w.target)).toBe(true);
    },
  );

  it(
    'a slow but honest server, twice the floor, completes metadata and target downloads',
    { timeout: TEST_TIMEOUT_MS },
    async ({ w }) => {
      w.sim.updateTargets();
      w.sim.updateSnapshot();
      w.repo.pace = () => HONEST;
      // A longer window than the drip tests need: on a loaded machine, a pause of the event loop
      // (shared by this server and the client) counts against the server; here up to half a window.
      const up = w.updater(2 * WINDOW_MS);
      await up.refresh();
      const info = (await up.getTargetInfo('app.bin'))!;
      const file = await up.downloadTarget(info);
      expect((await readFile(file)).equals(w.target)).toBe(true);
      // One request for the target: it never tripped the floor and was never retried.
      expect(w.repo.requests.filter((r) => r.path.endsWith('app.bin'))).toHaveLength(1);
    },
  );
});

describe('slow retrieval settings', () => {
  it('refuses a rate or window that is not a positive number', () => {
    const base = { metadataDir: '/nonexistent', metadataBaseUrl: 'http://127.0.0.1:9/metadata' };
    expect(() => new Updater({ ...base, config: { minBytesPerSecond: 0 } })).toThrow(ValueError);
    expect(() => new Updater({ ...base, config: { minBytesPerSecond: Number.NaN } })).toThrow(ValueError);
    expect(() => new Updater({ ...base, config: { rateWindowMs: 2.5 } })).toThrow(ValueError);
    expect(() => new Updater({ ...base, config: { rateWindowMs: -1 } })).toThrow(ValueError);
  });
});

describe('electron-tuf client on a drip-fed mirror', () => {
  it(
    'refresh exits 1 with one line naming SlowRetrievalError; bad settings are one line too',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const sim = await RepositorySimulator.create();
      const repo = await servePaced(sim);
      const dir = await mkdtemp(join(tmpdir(), 'etuf-slow-cli-'));
      try {
        const out: string[] = [];
        const err: string[] = [];
        const io: CliIO = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: dir };
        await writeFile(join(dir, 'root.json'), sim.initialRoot);
        expect(await runClientCommand(['init', 'root.json', '--metadata-dir', 'md'], io)).toBe(0);
        const refresh = ['refresh', '--metadata-dir', 'md', '--metadata-url', `${repo.origin}/metadata`];
        const settings = [
          '--min-bytes-per-second',
          String(MIN_BYTES_PER_SECOND),
          '--rate-window-ms',
          String(WINDOW_MS),
        ];
        repo.pace = (path) => (path.endsWith('/timestamp.json') ? DRIP : undefined);
        expect(await runClientCommand([...refresh, ...settings], io)).toBe(1);
        expect(err).toHaveLength(1);
        expect(err[0]).toMatch(/^error: http:\/\/127\.0\.0\.1:\d+\/metadata\/timestamp\.json: too slow: .* bytes\/s\)/);
        expect(err[0]).not.toContain('\n');

        expect(await runClientCommand([...refresh, '--min-bytes-per-second', 'fast'], io)).toBe(1);
        expect(err[1]).toBe('error: --min-bytes-per-second must be a number, got "fast"');
        expect(await runClientCommand([...refresh, '--rate-window-ms', '0'], io)).toBe(1);
        expect(err[2]).toMatch(/^error: rateWindowMs must be an integer/);
        expect(err).toHaveLength(3);
      } finally {
        await repo.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
