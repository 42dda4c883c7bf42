/**
 * Distributed mode: a worker process killed with SIGKILL while publishing, a new worker started:
 * every accepted change is published, the tree verifies. Real PostgreSQL and Redis, the worker
 * as its own process (the built CLI: `npm run build` first, as `npm test` does).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { cleanupTemp, makeRepo, ourClient, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { Children, closeAll, isolated, killNine, REDIS_URL, SERVER_CLI } from './distributed-helpers.js';
import { addRelease, bootstrapRepository, installerBytes, settled, sha256 } from './helpers.js';

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

afterAll(async () => {
  children.killAll();
  await closeAll(processes);
  await services.drop();
  await cleanupTemp();
}, 60_000);

describe('distributed mode, kill -9', () => {
  it('a worker killed mid-publish and replaced loses no accepted release', async () => {
    await services.create();
    const data = await tempDir('etuf-dist-crash-');
    const adminToken = newToken();
    const common = {
      databaseUrl,
      redisUrl: REDIS_URL,
      data,
      prefix,
      env: { ELECTRON_TUF_ADMIN_TOKEN: adminToken },
      logger: false as const,
    };
    const api = await startApiProcess({ ...common, port: 0, serveRepositories: true });
    processes.push(api);
    // A short interval: the scheduler's sweep re-enqueues the work of the killed worker's jobs.
    processes.push(await startSchedulerProcess({ ...common, intervalMs: 1000 }));
    const repo = await makeRepo({ bins: 4 });
    await bootstrapRepository(api, adminToken, 'app', repo);

    const first = await startWorker(data);
    const versions = Array.from({ length: 8 }, (_, i) => `4.${i}.0`);
    const files = versions.map((v) => installerBytes(`dist-crash-${v}`));
    const tasks: string[] = [];
    for (const [i, v] of versions.entries()) {
      const a = await addRelease(api, adminToken, 'app', { version: v, files: { [`App-${v}.zip`]: files[i] } });
      expect(a.status).toBe(202);
      tasks.push(a.body.task);
    }
    await killNine(first);
    await startWorker(data);

    const states = await Promise.all(tasks.map(async (t) => (await settled(api, adminToken, t)).body.state));
    expect(states).toEqual(versions.map(() => 'succeeded'));
    expect((await verifyRepository({ repo: join(data, 'repositories', 'app') })).problems).toEqual([]);
    const paths = versions.map((v) => `${v}/App-${v}.zip`);
    const view = await ourClient(
      { metadataUrl: `${api.url}/repositories/app/metadata/`, targetsUrl: `${api.url}/repositories/app/targets/` },
      repo.trustedRoot,
      paths,
    );
    expect(paths.map((p, i) => sha256(view.files.get(p)!) === sha256(files[i]))).toEqual(paths.map(() => true));
  }, 120_000);
});
