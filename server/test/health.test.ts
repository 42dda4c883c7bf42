/**
 * Liveness and readiness (server/src/ops/health.ts, endpoints.ts) over real HTTP: ready only
 * while every dependency answers and no shutdown has begun; a failing check's reason goes to the
 * log, not to the unauthenticated answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemp } from '../../test/publisher/helpers.js';
import { startOpsServer, type OpsServer } from '../src/ops/endpoints.js';
import { Health } from '../src/ops/health.js';
import { silentLogger } from '../src/ops/log.js';
import { ServiceMetrics } from '../src/ops/metrics.js';
import { startTestServer, type TestServer } from './helpers.js';

const servers: Array<OpsServer | TestServer> = [];

afterAll(async () => {
  for (const s of servers) await s.close();
  await cleanupTemp();
});

describe('health', () => {
  it('readiness fails while a dependency fails, and from the start of a shutdown', async () => {
    let storageUp = true;
    const failures: string[] = [];
    const health = new Health(
      [
        { name: 'database', check: async () => undefined },
        {
          name: 'storage',
          check: async () => {
            if (!storageUp) throw new Error('secret-host.internal: connection refused');
          },
        },
      ],
      (check, reason) => failures.push(`${check}: ${reason}`),
    );
    const metrics = new ServiceMetrics(silentLogger(), false);
    const ops = await startOpsServer({ health, metrics }, 0, '127.0.0.1', silentLogger());
    servers.push(ops);
    const get = async (path: string): Promise<{ status: number; text: string }> => {
      const res = await fetch(ops.url + path);
      return { status: res.status, text: await res.text() };
    };

    expect(await get('/livez')).toEqual({ status: 200, text: 'ok\n' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ ready: true, checks: { database: 'ok', storage: 'ok' } });

    storageUp = false;
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({ ready: false, checks: { database: 'ok', storage: 'failed' } });
    expect(down.text).not.toContain('secret-host');
    expect(failures).toEqual(['storage: secret-host.internal: connection refused']);
    expect((await get('/livez')).status).toBe(200); // alive: a restart would not bring storage back

    storageUp = true;
    health.markStopping();
    const stopping = await get('/readyz');
    expect(stopping.status).toBe(503);
    expect(JSON.parse(stopping.text)).toMatchObject({ ready: false, checks: { shutdown: 'shutting down' } });
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/other')).status).toBe(404);
    expect((await fetch(ops.url + '/livez', { method: 'POST' })).status).toBe(404);
  });

  it('the embedded service answers /livez and /readyz with its database and storage checked', async () => {
    const server = await startTestServer();
    servers.push(server);
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: 'ok', storage: 'ok' } });
  }, 60_000);
});
