/**
 * Distributed mode: the API process killed with SIGKILL while ten `electron-tuf repo add
 * --server` processes upload and record releases, then restarted on the same port. Every add a
 * client saw acknowledged (exit 0 with its task) is published; every other one printed one
 * `error:` line; the served tree verifies. Real PostgreSQL and Redis, the API and the clients as
 * processes of the built CLIs (`npm run build` first, as `npm test` does).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startSchedulerProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import {
  adminSql,
  Children,
  freePort,
  isolated,
  killNine,
  REDIS_URL,
  SERVER_CLI,
  stopAll,
} from './distributed-helpers.js';
import { bootstrapRepository, installerBytes, settled } from './helpers.js';
import { expectServed } from './release-assertions.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'publisher', 'cli', 'main.js');
const services = isolated('etuf_api');
const children = new Children();
const processes: Process[] = [];

function startApi(data: string, port: number, adminToken: string) {
  const args = ['api', '--data', data, '--port', String(port), '--serve'];
  return children.start(
    [SERVER_CLI, ...args, '--database-url', services.databaseUrl, '--redis-url', REDIS_URL],
    { ELECTRON_TUF_REDIS_PREFIX: services.prefix, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
    'listening on',
  );
}

/** `electron-tuf repo add --server` as its own process. */
async function add(url: string, token: string, file: string, version: string, wait: boolean) {
  const args = [CLI, 'repo', 'add', 'app', file, '--server', url, '--version', version];
  const more = ['--platform', 'linux', '--arch', 'x64', ...(wait ? [] : ['--no-wait'])];
  return { version, ...(await children.run([...args, ...more], { ELECTRON_TUF_TOKEN: token })) };
}

async function recordedChanges(): Promise<number> {
  return Number((await adminSql('SELECT count(*) AS n FROM changes', services.databaseUrl))[0].n);
}

async function taskIds(): Promise<string[]> {
  return (await adminSql('SELECT id FROM tasks', services.databaseUrl)).map((r) => String(r.id));
}

afterAll(() => stopAll(services, processes, children), 60_000);

describe('distributed mode, API process kill -9', () => {
  it('every acknowledged add is published; the others report an error; the tree verifies', async () => {
    await services.create();
    const data = await tempDir('etuf-api-crash-');
    const adminToken = newToken();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = await startApi(data, port, adminToken);
    const common = services.options(data);
    processes.push(await startWorkerProcess(common));
    // A short interval: the sweep re-enqueues changes whose API process died before enqueueing them.
    processes.push(await startSchedulerProcess({ ...common, intervalMs: 1000 }));
    const repo = await makeRepo({ bins: 4 });
    await bootstrapRepository({ url }, adminToken, 'app', repo);

    const work = await tempDir('etuf-api-crash-files-');
    const versions = Array.from({ length: 10 }, (_, i) => `5.${i}.0`);
    const bytes = versions.map((v, i) => installerBytes(`api-crash-${v}`, (1 + i) * 512 * 1024));
    const files = versions.map((v) => join(work, `App-${v}.zip`));
    for (const [i, f] of files.entries()) await writeFile(f, bytes[i]);
    // Half wait for publication (they must ride out the restart), half take the task id and go.
    const running = versions.map((v, i) => add(url, adminToken, files[i], v, i % 2 === 0));

    // Kill as soon as the API has recorded a few adds: the rest are mid-upload or not yet sent.
    const deadline = Date.now() + 60_000;
    while ((await recordedChanges()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await killNine(api);
    await new Promise((r) => setTimeout(r, 500));
    await startApi(data, port, adminToken); // killed in afterAll

    const outcomes = await Promise.all(running);
    const acknowledged = outcomes.filter((o) => o.code === 0);
    // At least the adds recorded before the kill whose answers arrived; one recorded in the very
    // moment of the kill may have lost its answer (its client reports an error, see below).
    expect(acknowledged.length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) {
      if (o.code === 0) expect(o.stdout, o.version).toMatch(/^(task \S+|published \(task \S+\))$/m);
      else expect(o.stderr.trim().split('\n').at(-1), o.version).toMatch(/^error: /);
    }
    for (const o of acknowledged) {
      const task = /task (\S+?)\)?$/m.exec(o.stdout)![1];
      expect((await settled({ url }, adminToken, task)).body.state, o.version).toBe('succeeded');
    }

    // Every recorded change, acknowledged or not (its answer lost with the process), is settled published.
    for (const id of await taskIds()) expect((await settled({ url }, adminToken, id)).body.state).toBe('succeeded');
    const served = acknowledged.map((o) => o.version);
    await expectServed(
      { url },
      data,
      repo,
      served,
      served.map((v) => bytes[versions.indexOf(v)]),
    );
  }, 180_000);
});
