/**
 * Graceful shutdown (cli.ts untilSignal, distributed.ts close) with real processes of the built
 * CLI on real PostgreSQL and Redis: a worker sent SIGTERM while it publishes exits 0 and loses
 * nothing (its round finishes, the rest of its job goes back to the queue); an API process sent
 * SIGTERM finishes the upload under way, turns unready, and exits 0. Also: the scheduler's
 * backlog gauges and the worker's metrics over --metrics-port, and JSON log lines without tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { isolated, REDIS_URL, SERVER_CLI, stopAll } from './distributed-helpers.js';
import { bootstrapRepository, call, installerBytes, settled, sha256 } from './helpers.js';
import { addReleases, expectServed } from './release-assertions.js';

const services = isolated('etuf_shutdown');
const { databaseUrl, prefix } = services;
const adminToken = newToken();
const children: ChildProcess[] = [];
const processes: Process[] = [];

interface Spawned {
  child: ChildProcess;
  /** The CLI's start line (plain text; every other line is JSON). */
  ready: string;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[], data: string): Promise<Spawned> {
  const child = spawn(
    process.execPath,
    [
      SERVER_CLI,
      ...args,
      '--data',
      data,
      '--database-url',
      databaseUrl,
      '--redis-url',
      REDIS_URL,
      '--metrics-port',
      '0',
    ],
    {
      env: { ...process.env, ELECTRON_TUF_REDIS_PREFIX: prefix, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      // What a process that did not exit cleanly said, for the failure's report.
      if (code !== 0) console.error(`${args[0]} exited ${code ?? signal}: ${stderr}\n${lines.slice(-5).join('\n')}`);
      resolve({ code, signal });
    }),
  );
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      const ready = lines.find((l) => /^electron-tuf server \w+ (listening|started)/.test(l));
      if (ready) resolve({ child, ready, lines, exited });
    });
    void exited.then(({ code }) => reject(new Error(`${args[0]} exited (${code}) before starting: ${stderr}`)));
  });
}

const metricsUrlOf = (ready: string): string => /\(metrics on (http:\/\/\S+)\)/.exec(ready)![1];

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every log line but the start line is one JSON object; no token appears anywhere. */
function expectJsonLogs(s: Spawned): void {
  for (const line of s.lines.filter((l) => l !== '' && l !== s.ready)) {
    expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(line).not.toContain(adminToken);
  }
}

beforeAll(async () => {
  await services.create();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stopAll(services, processes);
}, 60_000);

describe('graceful shutdown', () => {
  it('a worker sent SIGTERM while publishing exits 0 and loses no accepted release', async () => {
    const data = await tempDir('etuf-shutdown-');
    const common = services.options(data, { ELECTRON_TUF_ADMIN_TOKEN: adminToken });
    const api = await startApiProcess({ ...common, port: 0, serveRepositories: true });
    processes.push(api);
    const scheduler = await startSchedulerProcess({
      ...common,
      intervalMs: 1000,
      metricsPort: 0,
      gc: { intervalMs: 0 },
    });
    processes.push(scheduler);
    const repo = await makeRepo({ bins: 4 });
    await bootstrapRepository(api, adminToken, 'app', repo);

    // Accepted while no worker runs: the backlog gauges of the scheduler show them.
    const versions = Array.from({ length: 12 }, (_, i) => `5.${i}.0`);
    const { files, tasks } = await addReleases(api, adminToken, versions, 'shutdown');
    const backlog = await scrape(scheduler.opsUrl!);
    expect(value(backlog, 'electron_tuf_changes_pending{repository="app"}')).toBe(12);
    expect(value(backlog, 'electron_tuf_queue_jobs{queue="etuf-publish",state="waiting"}')).toBeGreaterThan(0);
    expect(value(backlog, 'electron_tuf_timestamp_expires_in_seconds{repository="app"}')).toBeGreaterThan(0);

    // The worker takes the jobs as it starts; SIGTERM arrives while it publishes them.
    const first = await startCli(['worker'], data);
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expectJsonLogs(first);
    expect(first.lines.some((l) => l.includes('shutting down'))).toBe(true);
    const states = await Promise.all(
      tasks.map(async (t) => (await call(api, 'GET', `/api/v1/tasks/${t}`, { token: adminToken })).body.state),
    );
    expect(states.filter((s) => s === 'failed')).toEqual([]);

    const second = await startCli(['worker'], data);
    const done = await Promise.all(tasks.map(async (t) => (await settled(api, adminToken, t)).body.state));
    expect(done).toEqual(versions.map(() => 'succeeded'));
    await expectServed(api, data, repo, versions, files);
    // Whichever worker published them, the scheduler now sees no backlog.
    expect(value(await scrape(scheduler.opsUrl!), 'electron_tuf_changes_pending{repository="app"}')).toBeUndefined();
    const published = [first, second].map((w) => w.lines.filter((l) => l.includes('"msg":"published"')).length);
    expect(published[0] + published[1]).toBeGreaterThan(0);
    if (published[1] > 0) {
      const workerMetrics = await scrape(metricsUrlOf(second.ready));
      expect(value(workerMetrics, 'electron_tuf_publish_latency_seconds_count{kind="add"}')).toBeGreaterThan(0);
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expectJsonLogs(second);
  }, 180_000);

  it('an API process sent SIGTERM finishes the upload under way, is unready meanwhile, and exits 0', async () => {
    const data = await tempDir('etuf-shutdown-api-');
    const api = await startCli(['api', '--port', '0'], data);
    const url = /listening on (http:\/\/\S+?) /.exec(api.ready)![1];
    const opsUrl = metricsUrlOf(api.ready);
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    const repo = await makeRepo();
    await bootstrapRepository({ url }, adminToken, 'two', repo);

    const bytes = installerBytes('slow-upload', 64 * 1024);
    const answer = new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/v1/repositories/two/uploads/${sha256(bytes)}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${adminToken}`,
          'content-type': 'application/octet-stream',
          'content-length': bytes.length,
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(bytes.subarray(0, 1024));
      // The rest only once the process is shutting down.
      void (async () => {
        await new Promise((r) => setTimeout(r, 500));
        api.child.kill('SIGTERM');
        for (let i = 0; i < 100 && (await fetch(`${opsUrl}/readyz`)).status !== 503; i++)
          await new Promise((r) => setTimeout(r, 50));
        expect((await fetch(`${opsUrl}/readyz`)).status).toBe(503);
        req.end(bytes.subarray(1024));
      })().catch(reject);
    });
    expect(await answer).toBe(201);
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expectJsonLogs(api);
  }, 120_000);
});
