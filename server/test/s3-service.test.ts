/**
 * The service on real S3 (Ceph's radosgw): distributed mode with PostgreSQL and BullMQ, one API
 * and two workers that share no disk (each its own data directory), uploads straight to the
 * bucket with presigned URLs, clients (ours and tuf-js) reading the bucket, `repo verify` clean
 * on its content, every versioned object written once (the gateway's access log), and an upload
 * of wrong bytes refused before anything is signed.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceClient, submitRelease, waitForTask } from '../../publisher/cli/service-client.js';
import { verifyRepository } from '../../publisher/verify.js';
import { cleanupTemp, makeRepo, ourClient, tempDir, tufJsClient, type TestRepo } from '../../test/publisher/helpers.js';
import { startApiProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { newToken } from '../src/tokens.js';
import { bootstrapBody, call, installerBytes, settled, sha256 } from './helpers.js';
import { freshDatabase, REDIS_URL, s3Fixture, type S3Fixture } from './s3-helpers.js';

const prefix = `etuf-s3-${randomBytes(4).toString('hex')}`;
const adminToken = newToken();
const processes: Process[] = [];
let fx: S3Fixture;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let api: Awaited<ReturnType<typeof startApiProcess>>;
let repo: TestRepo;
let ci: string;

beforeAll(async () => {
  fx = await s3Fixture();
  db = await freshDatabase();
  const common = async (): Promise<Parameters<typeof startWorkerProcess>[0]> => ({
    databaseUrl: db.url,
    redisUrl: REDIS_URL,
    data: await tempDir('etuf-s3-node-'), // every process its own disk: nothing shared but the database and the bucket
    prefix,
    storage: fx.storage,
    env: { ...fx.env, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
    logger: false,
  });
  api = await startApiProcess({ ...(await common()), port: 0 });
  processes.push(api, await startWorkerProcess(await common()), await startWorkerProcess(await common()));
  repo = await makeRepo({ bins: 8 });
  const boot = await call(api, 'POST', '/api/v1/repositories', {
    token: adminToken,
    json: await bootstrapBody('app', repo),
  });
  expect(boot.status).toBe(201);
  ci = (await call(api, 'POST', '/api/v1/tokens', { token: adminToken, json: { scope: 'publish', repository: 'app' } }))
    .body.token;
}, 240_000);

afterAll(async () => {
  for (const p of processes.reverse()) await p.close().catch((e: unknown) => console.error('close failed', e));
  await db?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  fx?.client.destroy();
  await cleanupTemp();
}, 60_000);

async function timestampBytes(): Promise<string> {
  const res = await fetch(`${fx.tree('app').metadataUrl}timestamp.json`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('the service on S3 storage (radosgw)', () => {
  it('publishes 16 concurrent adds uploaded straight to the bucket, on two workers sharing no disk', async () => {
    const client = serviceClient(api.url, ci);
    const dir = await tempDir('etuf-s3-ci-');
    const versions = Array.from({ length: 16 }, (_, i) => `1.${i}.0`);
    const files = await Promise.all(
      versions.map(async (v, i) => {
        const file = join(dir, `App-${v}.zip`);
        await writeFile(file, installerBytes(`s3-${v}`, 4096 + i));
        return file;
      }),
    );
    const tasks = await Promise.all(
      versions.map((version, i) =>
        submitRelease(client, 'app', [files[i]], { version, platform: 'linux', arch: 'x64' }, () => undefined),
      ),
    );
    const outcomes = await Promise.all(tasks.map((t) => waitForTask(client, t, () => undefined)));
    expect(outcomes.map((o) => o.state)).toEqual(versions.map(() => 'succeeded'));

    // Clients read the bucket itself: every acknowledged release is there, byte for byte.
    const paths = versions.map((v) => `${v}/App-${v}.zip`);
    const expected = await Promise.all(files.map(async (f) => sha256(await readFile(f))));
    for (const view of [
      await ourClient(fx.tree('app'), repo.trustedRoot, paths),
      await tufJsClient(fx.tree('app'), repo.trustedRoot, paths),
    ])
      expect(paths.map((p) => view.files.get(p) && sha256(view.files.get(p)!))).toEqual(expected);

    // repo verify on the bucket's content.
    const copy = await tempDir('etuf-s3-copy-');
    await fx.download('app', copy);
    const check = await verifyRepository({ repo: copy });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);

    // Every versioned object (metadata N.role.json, hash-named targets) was written exactly once;
    // timestamp.json, the one unversioned file, once per publish.
    const puts = await fx.puts();
    const tree = `${fx.prefix}/repositories/app/`;
    const versioned = [...puts].filter(([k]) => k.startsWith(tree) && !k.endsWith('/timestamp.json'));
    expect(versioned.length).toBeGreaterThan(16 * 2);
    expect(versioned.filter(([, n]) => n !== 1)).toEqual([]);
    expect(puts.get(`${tree}metadata/timestamp.json`)).toBeGreaterThanOrEqual(2);
    // The installers went to the bucket, not through the API: its upload route refuses bytes.
    const refused = await call(api, 'PUT', `/api/v1/repositories/app/uploads/${'a'.repeat(64)}`, {
      token: ci,
      raw: Buffer.from('bytes'),
    });
    expect(refused.status).toBe(409);
  }, 240_000);

  it('refuses a presigned upload of other bytes before signing anything', async () => {
    const good = installerBytes('good-2.0.0', 5000);
    const evil = installerBytes('evil-2.0.0', 5000);
    const digest = sha256(good);
    const plan = await call(api, 'POST', `/api/v1/repositories/app/uploads/${digest}`, {
      token: ci,
      json: { length: good.length },
    });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ direct: true, method: 'PUT' });
    const url = plan.body.url as string;
    expect(url.startsWith(fx.env.AWS_ENDPOINT_URL)).toBe(true);
    // The signed Content-Length: the store refuses a body of another size (fetch sends its real length).
    const headers = { ...(plan.body.headers as Record<string, string>) };
    delete headers['content-length'];
    const longer = await fetch(url, { method: 'PUT', body: Buffer.concat([evil, Buffer.from('x')]), headers });
    expect(longer.status).toBe(403);
    // Same size, other bytes: the store takes them (it cannot know the hash); the worker must not.
    const put = await fetch(url, { method: 'PUT', body: evil, headers: plan.body.headers as Record<string, string> });
    expect(put.status).toBe(200);

    const before = await timestampBytes();
    const task = await call(api, 'POST', '/api/v1/repositories/app/releases', {
      token: ci,
      json: {
        version: '2.0.0',
        platform: 'linux',
        arch: 'x64',
        installers: [{ name: 'App-2.0.0.zip', length: good.length, sha256: digest }],
      },
    });
    expect(task.status).toBe(202);
    const done = await settled(api, ci, task.body.task);
    expect(done.body.state).toBe('failed');
    expect(done.body.error).toMatch(/SHA-256/);
    expect(await timestampBytes()).toBe(before);
    const puts = await fx.puts();
    expect([...puts.keys()].filter((k) => k.includes('/targets/2.0.0/'))).toEqual([]);
  }, 120_000);
});
