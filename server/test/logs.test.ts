/** Structured logs (pino JSON lines) never hold a token, whatever the request did or a caller logged. */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, tempDir } from '../../test/publisher/helpers.js';
import { loggerOptions, startEmbedded, type RunningServer } from '../src/index.js';
import { processLogger } from '../src/ops/log.js';
import { newToken } from '../src/tokens.js';
import { call, newPgliteDir } from './helpers.js';

let server: RunningServer | undefined;
let data: string;

// The run's initialised PGlite, copied (initdb, which crash.test.ts covers, is no part of
// logging); in a hook, as the first file to ask makes it: a minute or more on a loaded machine.
beforeAll(async () => {
  data = await tempDir('etuf-logs-');
  await newPgliteDir(join(data, 'db'));
}, 300_000);

afterAll(async () => {
  await server?.close();
  await cleanupTemp();
});

describe('logs', () => {
  it('are JSON lines without tokens, for answered and refused requests', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const adminToken = newToken();
    server = await startEmbedded({
      data,
      port: 0,
      adminToken,
      env: {},
      logger: { ...(loggerOptions('trace') as object), stream },
    });
    const made = await call(server, 'POST', '/api/v1/tokens', {
      token: adminToken,
      json: { scope: 'admin', label: 'second' },
    });
    expect(made.status).toBe(201);
    const unknown = newToken();
    expect((await call(server, 'GET', '/api/v1/repositories', { token: unknown })).status).toBe(401);
    expect((await call(server, 'GET', '/api/v1/repositories', { token: made.body.token })).status).toBe(200);
    expect((await call(server, 'POST', '/api/v1/tokens', { token: adminToken, json: { scope: 'nope' } })).status).toBe(
      400,
    );
    // The operations endpoints take no token; one sent anyway is not logged either.
    expect((await call(server, 'GET', '/readyz', { token: adminToken })).status).toBe(200);
    expect((await call(server, 'GET', '/metrics', { token: adminToken })).status).toBe(200);
    expect(lines.length).toBeGreaterThan(4);
    // One line per request, when answered: method, URL, status and time (no separate incoming line).
    const requests = lines
      .map((l) => JSON.parse(l) as { msg: string; req?: { method: string; url: string }; res?: { statusCode: number } })
      .filter((l) => l.msg === 'request completed' || l.msg === 'incoming request');
    expect(requests.map((l) => [l.msg, l.req?.method, l.req?.url, l.res?.statusCode])).toEqual([
      ['request completed', 'POST', '/api/v1/tokens', 201],
      ['request completed', 'GET', '/api/v1/repositories', 401],
      ['request completed', 'GET', '/api/v1/repositories', 200],
      ['request completed', 'POST', '/api/v1/tokens', 400],
      ['request completed', 'GET', '/readyz', 200],
      ['request completed', 'GET', '/metrics', 200],
    ]);
    for (const line of lines) {
      expect(() => JSON.parse(line) as unknown).not.toThrow();
      for (const secret of [adminToken, unknown, made.body.token]) expect(line).not.toContain(secret);
    }
  }, 60_000);

  it('of workers and schedulers redact token fields and authorization wherever a caller puts them', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = processLogger('worker', { level: 'info', stream });
    const secret = newToken();
    log.info({ token: secret }, 'top level');
    log.info({ request: { token: secret, headers: { authorization: `Bearer ${secret}` } } }, 'nested');
    log.info({ headers: { authorization: `Bearer ${secret}` }, authorization: secret }, 'headers');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({ component: 'worker' });
      expect(line).not.toContain(secret);
    }
  });
});
