/**
 * `electron-tuf server gc` (cli-gc.ts) as a process of the built CLI on the distributed mode's
 * PostgreSQL: --dry-run lists and deletes nothing, a run deletes what it listed, the tree still
 * verifies; bad flags are usage errors. The scheduler's gc job does the same through a worker.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startSchedulerProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { isolated, SERVER_CLI, stopAll } from './distributed-helpers.js';
import { addRelease, bootstrapRepository, installerBytes, settled } from './helpers.js';

const services = isolated('etuf_cligc');
const { databaseUrl } = services;
const processes: Process[] = [];
const adminToken = newToken();
let data: string;
let api: Awaited<ReturnType<typeof startApiProcess>>;
const common = (): ReturnType<typeof services.options> => services.options(data);

/** Bootstraps repository `name` and publishes `count` releases through the API and the worker. */
async function publishSome(name: string, count: number): Promise<void> {
  await bootstrapRepository(api, adminToken, name, await makeRepo({ bins: 4 }));
  for (let i = 0; i < count; i++) {
    const a = await addRelease(api, adminToken, name, {
      version: `7.${i}.0`,
      files: { [`App-7.${i}.0.zip`]: installerBytes(`cligc-${name}-${i}`) },
    });
    expect((await settled(api, adminToken, a.body.task)).body.state).toBe('succeeded');
  }
}

const snapshotsOf = async (name: string): Promise<string[]> =>
  (await readdir(join(data, 'repositories', name, 'metadata'))).filter((f) => f.endsWith('.snapshot.json'));

async function gc(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SERVER_CLI, 'gc', ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    return { code: f.code ?? -1, stdout: f.stdout ?? '', stderr: f.stderr ?? '' };
  }
}

beforeAll(async () => {
  await services.create();
  data = await tempDir('etuf-cligc-');
  api = await startApiProcess({ ...services.options(data, { ELECTRON_TUF_ADMIN_TOKEN: adminToken }), port: 0 });
  processes.push(api);
  processes.push(await startWorkerProcess(common()));
}, 120_000);

afterAll(() => stopAll(services, processes), 60_000);

describe('server gc', () => {
  it('lists with --dry-run, then deletes what it listed; the tree verifies', async () => {
    await publishSome('app', 5);
    const metadata = join(data, 'repositories', 'app', 'metadata');
    const before = (await readdir(metadata)).sort();
    const flags = ['--data', data, '--database-url', databaseUrl, '--keep-snapshots', '2'];

    const dry = await gc([...flags, '--dry-run']);
    expect(dry.code).toBe(0);
    const listed = JSON.parse(dry.stdout) as { repository: string; dryRun: boolean; metadata: string[] };
    expect(listed).toMatchObject({ repository: 'app', dryRun: true });
    expect(listed.metadata).toContain('1.snapshot.json');
    expect((await readdir(metadata)).sort()).toEqual(before);

    const run = await gc([...flags, '--repository', 'app']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { metadata: string[] }).metadata).toEqual(listed.metadata);
    expect((await readdir(metadata)).sort()).toEqual(before.filter((f) => !listed.metadata.includes(f)));
    expect((await verifyRepository({ repo: join(data, 'repositories', 'app') })).problems).toEqual([]);

    const usage = await gc([...flags, '--keep-snapshots', '0']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/--keep-snapshots must be a whole number >= 1/);
    const unknown = await gc([...flags, '--repository', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nope: no repository nope/);
  }, 180_000);

  it("the scheduler's gc job runs in a worker with the scheduler's settings", async () => {
    await publishSome('two', 4);
    expect((await snapshotsOf('two')).length).toBeGreaterThan(2);
    processes.push(
      await startSchedulerProcess({ ...common(), intervalMs: 3_600_000, gc: { intervalMs: 500, keepSnapshots: 2 } }),
    );
    for (let i = 0; i < 600 && (await snapshotsOf('two')).length > 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await snapshotsOf('two')).length).toBe(2);
    expect((await verifyRepository({ repo: join(data, 'repositories', 'two') })).problems).toEqual([]);
  }, 180_000);
});
