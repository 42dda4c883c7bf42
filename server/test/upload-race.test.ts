/**
 * Security review findings on uploads, on the distributed mode's real PostgreSQL and Redis, with
 * disk storage and with S3 storage (radosgw; presigned uploads):
 * - gc of unused uploads racing an add that names one (upload-records.ts): driven step by step
 *   with gc's test hooks, an add either publishes (gc keeps its upload) or is refused up front
 *   with a clear message; never a queued task that fails because its upload went.
 * - the cap on unused upload records per repository: beyond it, 429 and nothing recorded or stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, makeRepo, tempDir } from '../../test/publisher/helpers.js';
import { startApiProcess, startWorkerProcess, type Process } from '../src/distributed.js';
import { collectRepository, type UploadGcHooks } from '../src/gc.js';
import { openServiceStorage, type ServiceStorage } from '../src/storage/index.js';
import { newToken } from '../src/tokens.js';
import { isolated, REDIS_URL } from './distributed-helpers.js';
import { s3Fixture, type S3Fixture } from './s3-helpers.js';
import { bootstrapBody, call, installerBytes, settled, sha256, upload } from './helpers.js';

const CAP = 3;
/** The API's upload grace period (--upload-grace-days): the cap's window, longer than gc's default of 1 day here. */
const UPLOAD_GRACE_DAYS = 3;

function addBody(version: string, bytes: Buffer): Record<string, unknown> {
  return {
    version,
    platform: 'linux',
    arch: 'x64',
    installers: [{ name: `App-${version}.zip`, length: bytes.length, sha256: sha256(bytes) }],
  };
}

describe.each(['disk', 's3'] as const)('uploads on %s storage', (kind) => {
  const db = isolated(`etuf_upload_race_${kind}`);
  const adminToken = newToken();
  const processes: Process[] = [];
  let fx: S3Fixture | undefined;
  let api: Awaited<ReturnType<typeof startApiProcess>>;
  let storage: ServiceStorage;
  /** A stored upload: 201 from the API (disk), 200 from the bucket (a presigned PUT). */
  const UPLOADED = kind === 's3' ? 200 : 201;

  const stored = (repo: string, bytes: Buffer): Promise<boolean> =>
    storage.uploads.has(repo, sha256(bytes), bytes.length);
  const rowsOf = async (repo: string): Promise<string[]> =>
    (await api.db.query<{ sha256: string }>('SELECT sha256 FROM uploads WHERE repository = $1 ORDER BY 1', [repo])).map(
      (r) => r.sha256,
    );
  /** Makes every upload record of `repo` `days` old (default: older than any grace period here). */
  const age = (repo: string, days = UPLOAD_GRACE_DAYS + 1): Promise<unknown> =>
    api.db.query(`UPDATE uploads SET requested_at = now() - make_interval(days => $2) WHERE repository = $1`, [
      repo,
      days,
    ]);
  /** Uploads as CI does; a refusal of the first request (where to upload) is answered as is. */
  async function put(repo: string, bytes: Buffer): Promise<Awaited<ReturnType<typeof upload>>> {
    const plan = await call(api, 'POST', `/api/v1/repositories/${repo}/uploads/${sha256(bytes)}`, {
      token: adminToken,
      json: { length: bytes.length },
    });
    return plan.status === 200 ? upload(api, adminToken, repo, bytes) : plan;
  }
  const add = (repo: string, version: string, bytes: Buffer): ReturnType<typeof call> =>
    call(api, 'POST', `/api/v1/repositories/${repo}/releases`, { token: adminToken, json: addBody(version, bytes) });

  /** Resolves once a backend of this test's database waits on a row lock (the add blocked by gc), not an advisory lock. */
  async function waitForLockWaiter(): Promise<void> {
    for (;;) {
      const rows = await api.db.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND wait_event IN ('transactionid', 'tuple')`,
      );
      if (rows.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function bootstrap(name: string): Promise<void> {
    const boot = await call(api, 'POST', '/api/v1/repositories', {
      token: adminToken,
      json: await bootstrapBody(name, await makeRepo({ bins: 4 })),
    });
    expect(boot.status).toBe(201);
  }

  beforeAll(async () => {
    await db.create();
    if (kind === 's3') fx = await s3Fixture();
    const data = await tempDir('etuf-upload-race-');
    const env = { ...(fx?.env ?? {}) };
    const common = {
      databaseUrl: db.databaseUrl,
      redisUrl: REDIS_URL,
      data,
      prefix: db.prefix,
      storage: fx?.storage,
      logger: false as const,
    };
    api = await startApiProcess({
      ...common,
      env: { ...env, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
      port: 0,
      maxUnusedUploads: CAP,
      uploadGraceDays: UPLOAD_GRACE_DAYS,
    });
    processes.push(api);
    processes.push(await startWorkerProcess({ ...common, env }));
    storage = await openServiceStorage(api.db, data, fx?.storage, env);
    await bootstrap('race');
    await bootstrap('capped');
    await bootstrap('concurrent');
  }, 240_000);

  afterAll(async () => {
    for (const p of processes.reverse()) await p.close().catch((e: unknown) => console.error('close failed', e));
    await db.drop();
    fx?.client.destroy();
    await cleanupTemp();
  }, 60_000);

  describe('gc of unused uploads against an add naming one', () => {
    const gc = (hooks: UploadGcHooks): ReturnType<typeof collectRepository> =>
      collectRepository(api.db, storage.repositories, 'race', { uploads: storage.uploads, hooks });

    it('an add accepted after gc listed its upload publishes; gc keeps the upload', async () => {
      const bytes = installerBytes('race-listed', 3000);
      expect((await put('race', bytes)).status).toBe(UPLOADED);
      await age('race');
      let accepted: Awaited<ReturnType<typeof add>> | undefined;
      const run = await gc({
        // gc has listed the upload as unused; the add comes now, before gc deletes anything.
        async listed(digests) {
          expect(digests).toEqual([sha256(bytes)]);
          accepted = await add('race', '1.0.0', bytes);
        },
      });
      expect(accepted?.status).toBe(202);
      expect(run.uploads).toEqual([]);
      expect(await stored('race', bytes)).toBe(true);
      expect((await settled(api, adminToken, accepted!.body.task)).body.state).toBe('succeeded');
    }, 120_000);

    it('an add arriving while gc deletes its upload waits, then is refused up front; no task fails', async () => {
      const bytes = installerBytes('race-deleting', 3000);
      expect((await put('race', bytes)).status).toBe(UPLOADED);
      await age('race');
      let refused: Promise<Awaited<ReturnType<typeof add>>> | undefined;
      const run = await gc({
        // gc holds the row (deleted, not committed); the add must wait on it, not pass the existence check.
        async deleting(digest) {
          expect(digest).toBe(sha256(bytes));
          const pending = add('race', '2.0.0', bytes);
          refused = pending;
          await Promise.race([
            waitForLockWaiter(),
            pending.then((a) => {
              throw new Error(`the add answered ${a.status} while gc held its upload's row`);
            }),
          ]);
          expect(await stored('race', bytes)).toBe(true);
        },
      });
      expect(run.uploads).toEqual([sha256(bytes)]);
      const answer = await refused!;
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatch(/installer App-2\.0\.0\.zip: upload its 3000 bytes .* first/);
      expect(await stored('race', bytes)).toBe(false);
      // Nothing was queued (the refused add found its upload's row gone), nothing failed.
      const tasks = await api.db.query<{ state: string }>(`SELECT state FROM tasks WHERE repository = 'race'`);
      expect(tasks.map((t) => t.state)).toEqual(['succeeded']);
      expect(await rowsOf('race')).not.toContain(sha256(bytes));
      // Uploaded again, the same release publishes.
      expect((await put('race', bytes)).status).toBe(UPLOADED);
      const again = await add('race', '2.0.0', bytes);
      expect(again.status).toBe(202);
      expect((await settled(api, adminToken, again.body.task)).body.state).toBe('succeeded');
    }, 120_000);
  });

  describe('the cap on unused upload records', () => {
    it('answers 429 beyond the cap and records and stores nothing; re-uploads and used uploads do not count', async () => {
      const files = [0, 1, 2, 3].map((i) => installerBytes(`capped-${i}`, 2000));
      for (const f of files.slice(0, CAP)) expect((await put('capped', f)).status).toBe(UPLOADED);
      const before = await rowsOf('capped');
      expect(before).toHaveLength(CAP);

      const over = await put('capped', files[CAP]);
      expect(over.status).toBe(429);
      expect(over.body.error).toMatch(/^repository capped holds 3 uploads no release uses yet: [^\n]+$/);
      expect(await stored('capped', files[CAP])).toBe(false);
      expect(await rowsOf('capped')).toEqual(before);
      // Another repository has a cap of its own.
      expect((await put('race', files[CAP])).status).toBe(UPLOADED);

      // Asking again for an upload already recorded refreshes it.
      expect((await put('capped', files[0])).status).toBe(UPLOADED);
      // Once a release names one, it is no longer unused: room for one more.
      const a = await add('capped', '1.0.0', files[0]);
      expect(a.status).toBe(202);
      expect((await settled(api, adminToken, a.body.task)).body.state).toBe('succeeded');
      expect((await put('capped', files[CAP])).status).toBe(UPLOADED);
      expect(await rowsOf('capped')).toHaveLength(CAP + 1);
      // Records older than the API's upload grace period are gc's and do not count either; the
      // window is that period (3 days here), not a fixed day.
      const fifth = installerBytes('capped-4', 2000);
      expect((await put('capped', fifth)).status).toBe(429);
      await age('capped', UPLOAD_GRACE_DAYS - 1);
      expect((await put('capped', fifth)).status).toBe(429);
      await age('capped', UPLOAD_GRACE_DAYS + 1);
      expect((await put('capped', fifth)).status).toBe(UPLOADED);
    }, 120_000);

    it('holds under concurrent requests: exactly the cap is recorded, the rest answer 429', async () => {
      const files = Array.from({ length: 4 * CAP }, (_, i) => installerBytes(`concurrent-${i}`, 2000));
      const answers = await Promise.all(files.map((f) => put('concurrent', f)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([...Array<number>(CAP).fill(UPLOADED), ...Array<number>(3 * CAP).fill(429)].sort());
      expect(await rowsOf('concurrent')).toHaveLength(CAP);
      const kept = await Promise.all(files.map((f) => stored('concurrent', f)));
      expect(kept.filter(Boolean)).toHaveLength(CAP);
    }, 120_000);
  });
});
