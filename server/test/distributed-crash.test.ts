/**
 * Distributed mode: a worker process killed with SIGKILL while publishing, a new worker started:
 * every accepted change is published, the tree verifies. Real PostgreSQL and Redis, the worker
 * as its own process (the built CLI: `npm run build` first, as `npm test` does).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { Children, isolated, killNine, REDIS_URL, SERVER_CLI, stopAll } from './distributed-helpers.js';
import { bootstrapRepository, settled } from './helpers.js';
import { addReleases, expectServed } from './release-assertions.js';

const services = isolated();
const { databaseUrl, prefix } = services;
const children = new Children();
const processes: Process[] = [];

function startWorker(data: string) {
  return children.start(
    [SERVER_CLI, 'worker', '--data', data, '--database-url', databaseUrl, '--redis-url', REDIS_URL],
    { ELECTRON_TUF_REDIS_PREFIX: prefix },
    'worker started',
  );
}

afterAll(() => stopAll(services, processes, children), 60_000);

describe('distributed mode, kill -9', () => {
  it('a worker killed mid-publish and replaced loses no accepted release', async () => {
    await services.create();
    const data = await tempDir('etuf-dist-crash-');
    const adminToken = newToken();
    const common = services.options(data, { ELECTRON_TUF_ADMIN_TOKEN: adminToken });
    const api = await startApiProcess({ ...common, port: 0, serveRepositories: true });
    processes.push(api);
    // A short interval: the scheduler's sweep re-enqueues the work of the killed worker's jobs.
    processes.push(await startSchedulerProcess({ ...common, intervalMs: 1000 }));
    const repo = await makeRepo({ bins: 4 });
    await bootstrapRepository(api, adminToken, 'app', repo);

    const first = await startWorker(data);
    const versions = Array.from({ length: 8 }, (_, i) => `4.${i}.0`);
    const { files, tasks } = await addReleases(api, adminToken, versions, 'dist-crash');
    await killNine(first);
    await startWorker(data);

    const states = await Promise.all(tasks.map(async (t) => (await settled(api, adminToken, t)).body.state));
    expect(states).toEqual(versions.map(() => 'succeeded'));
    await expectServed(api, data, repo, versions, files);
  }, 120_000);
});
