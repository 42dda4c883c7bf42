/**
 * Bad input and bad credentials: each answered with a 4xx and one clear message, and nothing
 * changed (published tree, tasks, stored uploads).
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDoc } from '../../test/helpers/metadata-doc.js';
import { makeRepo, publishedDigest } from '../../test/publisher/helpers.js';
import { createToken } from '../src/tokens.js';
import {
  addRelease,
  type Answer,
  bootstrapBody,
  bootstrapRepository,
  call,
  installerBytes,
  publishToken,
  settled,
  sha256,
  startPublishingServer,
  stopTestServer,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let ci: string;
const MAX_UPLOAD = 64 * 1024;

async function state(): Promise<string> {
  const published = [...(await publishedDigest(join(server.data, 'repositories', 'app')))].sort();
  const tasks = await server.db.query('SELECT id, state FROM tasks ORDER BY id');
  const uploads = await readdir(join(server.data, 'uploads', 'app')).catch(() => []);
  const repos = await server.db.query('SELECT name FROM repositories ORDER BY name');
  return JSON.stringify({ published, tasks, uploads: uploads.sort(), repos });
}

/** Runs `request`, expects `status` with an error message matching `message`, and no change. */
async function refused(status: number, message: RegExp, request: () => Promise<Answer>): Promise<void> {
  const before = await state();
  const answer = await request();
  expect(answer.status).toBe(status);
  expect(answer.body.error).toMatch(message);
  await server.idle();
  expect(await state()).toBe(before);
}

const release = (files: Record<string, Buffer>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: '2.0.0',
  platform: 'linux',
  arch: 'x64',
  installers: Object.entries(files).map(([name, b]) => ({ name, length: b.length, sha256: sha256(b) })),
  ...extra,
});

beforeAll(async () => {
  ({ server, token: ci } = await startPublishingServer({ maxUploadBytes: MAX_UPLOAD }));
  const first = await addRelease(server, ci, 'app', {
    version: '1.0.0',
    files: { 'App-1.0.0.zip': installerBytes('first') },
  });
  expect((await settled(server, ci, first.body.task)).body.state).toBe('succeeded');
}, 120_000);

afterAll(() => stopTestServer(server));

describe('tokens', () => {
  const body = release({ 'App-2.0.0.zip': installerBytes('first') });

  it('refuses writes without a token, with a malformed or an unknown one', async () => {
    await refused(401, /missing token/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body }),
    );
    await refused(401, /malformed/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', {
        json: body,
        headers: { authorization: 'Basic abc' },
      }),
    );
    await refused(401, /unknown token/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body, token: 'etuf_' + 'A'.repeat(43) }),
    );
  });

  it('refuses expired and revoked tokens', async () => {
    const expired = await createToken(server.db, {
      scope: 'publish',
      repository: 'app',
      expiresAt: new Date(Date.now() - 60_000),
    });
    await refused(401, /expired/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body, token: expired.token }),
    );
    const made = await call(server, 'POST', '/api/v1/tokens', {
      token: server.adminToken,
      json: { scope: 'publish', repository: 'app' },
    });
    expect((await call(server, 'DELETE', `/api/v1/tokens/${made.body.id}`, { token: server.adminToken })).status).toBe(
      200,
    );
    await refused(401, /revoked/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body, token: made.body.token }),
    );
  });

  it('refuses tokens outside their scope', async () => {
    const other = await makeRepo();
    await bootstrapRepository(server, server.adminToken, 'other', other);
    const otherToken = await publishToken(server, server.adminToken, 'other');
    const betaToken = (
      await call(server, 'POST', '/api/v1/tokens', {
        token: server.adminToken,
        json: { scope: 'publish', repository: 'app', channel: 'beta' },
      })
    ).body.token;
    await refused(403, /may not publish to repository app/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body, token: otherToken }),
    );
    await refused(403, /channel beta only/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: body, token: betaToken }),
    );
    await refused(403, /channel beta only/, () =>
      call(server, 'DELETE', '/api/v1/repositories/app/releases/1.0.0', { token: betaToken }),
    );
    await refused(403, /may not publish/, () =>
      call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(Buffer.from('x'))}`, {
        raw: Buffer.from('x'),
        token: otherToken,
      }),
    );
    await refused(403, /admin token/, () =>
      call(server, 'POST', '/api/v1/tokens', { json: { scope: 'admin' }, token: ci }),
    );
    const boot = await bootstrapBody('other', other);
    await refused(403, /admin token/, () => call(server, 'POST', '/api/v1/repositories', { json: boot, token: ci }));
  });
});

describe('bad input', () => {
  it('refuses oversized bodies and uploads', async () => {
    await refused(413, /too large/i, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', {
        json: { ...release({ 'a.zip': Buffer.from('a') }), notes: 'n'.repeat(1_100_000) },
        token: ci,
      }),
    );
    const big = Buffer.alloc(MAX_UPLOAD + 1, 7);
    await refused(413, /at most/, () =>
      call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(big)}`, { raw: big, token: ci }),
    );
    await refused(415, /octet-stream/, () =>
      call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(Buffer.from('{}'))}`, { json: {}, token: ci }),
    );
  });

  it('refuses schema violations with one message', async () => {
    await refused(400, /version/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', {
        json: { platform: 'linux', arch: 'x64', installers: [] },
        token: ci,
      }),
    );
    await refused(400, /additional/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', {
        json: { ...release({ 'a.zip': Buffer.from('a') }), force: true },
        token: ci,
      }),
    );
    await refused(400, /staging/, () =>
      call(server, 'PATCH', '/api/v1/repositories/app/releases/1.0.0', {
        json: { platform: 'linux', arch: 'x64', channel: 'stable', staging: 101 },
        token: ci,
      }),
    );
  });

  it('refuses traversal in installer names, metadata names and served paths', async () => {
    const bytes = installerBytes('t');
    await refused(400, /name/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: release({ '../evil.zip': bytes }), token: ci }),
    );
    const boot = await bootstrapBody('trav', await makeRepo());
    boot.metadata['../../escape.json'] = '{}';
    await refused(400, /not a metadata file name/, () =>
      call(server, 'POST', '/api/v1/repositories', { json: boot, token: server.adminToken }),
    );
    await writeFile(join(server.data, 'secret.json'), '{}');
    for (const path of [
      '/repositories/app/metadata/..%2F..%2F..%2Fsecret.json',
      '/repositories/app/metadata/%2e%2e/%2e%2e/%2e%2e/secret.json',
      '/repositories/..%2Fsecret.json',
    ]) {
      expect((await call(server, 'GET', path)).status).toBe(404);
    }
    expect((await call(server, 'GET', '/repositories/app/metadata/1.root.json')).status).toBe(200);
  });

  it('refuses uploads whose bytes do not match, and releases of bytes never uploaded', async () => {
    const bytes = installerBytes('wrong');
    await refused(400, /SHA-256/, () =>
      call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(Buffer.from('other'))}`, {
        raw: bytes,
        token: ci,
      }),
    );
    await refused(400, /upload its/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', {
        json: release({ 'App-2.0.0.zip': bytes }),
        token: ci,
      }),
    );
    const up = await call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(bytes)}`, {
      raw: bytes,
      token: ci,
    });
    expect(up.status).toBe(201);
    const wrongLength = release({ 'App-2.0.0.zip': bytes });
    (wrongLength.installers as Array<{ length: number }>)[0].length += 1;
    await refused(400, /upload its/, () =>
      call(server, 'POST', '/api/v1/repositories/app/releases', { json: wrongLength, token: ci }),
    );
  });

  it('never signs an upload whose stored bytes changed: the task fails and nothing is published', async () => {
    const bytes = installerBytes('tampered');
    expect(
      (await call(server, 'PUT', `/api/v1/repositories/app/uploads/${sha256(bytes)}`, { raw: bytes, token: ci }))
        .status,
    ).toBe(201);
    const before = [...(await publishedDigest(join(server.data, 'repositories', 'app')))].sort();
    const tampered = Buffer.from(bytes);
    tampered[0] ^= 1;
    await writeFile(join(server.data, 'uploads', 'app', sha256(bytes)), tampered);
    const add = await call(server, 'POST', '/api/v1/repositories/app/releases', {
      json: release({ 'App-3.0.0.zip': bytes }, { version: '3.0.0' }),
      token: ci,
    });
    expect(add.status).toBe(202);
    const task = await settled(server, ci, add.body.task);
    expect(task.body).toMatchObject({ state: 'failed', error: expect.stringMatching(/changed on disk/) as unknown });
    expect([...(await publishedDigest(join(server.data, 'repositories', 'app')))].sort()).toEqual(before);
  });

  it('answers 404 for an unknown repository or task', async () => {
    await refused(404, /no repository nope/, () =>
      call(server, 'POST', '/api/v1/repositories/nope/releases', {
        json: release({ 'a.zip': Buffer.from('a') }),
        token: server.adminToken,
      }),
    );
    await refused(404, /no release 9.9.9 in repository app/, () =>
      call(server, 'DELETE', '/api/v1/repositories/app/releases/9.9.9', { token: ci }),
    );
    await refused(404, /no release 9.9.9 in channel stable/, () =>
      call(server, 'PATCH', '/api/v1/repositories/app/releases/9.9.9', {
        json: { platform: 'linux', arch: 'x64', channel: 'stable', staging: 50 },
        token: ci,
      }),
    );
    await refused(404, /no task/, () =>
      call(server, 'GET', '/api/v1/tasks/00000000-0000-0000-0000-000000000000', { token: server.adminToken }),
    );
  });

  it('refuses a bootstrap whose metadata does not verify, leaving no repository behind', async () => {
    const boot = await bootstrapBody('broken', await makeRepo());
    const root = parseDoc(boot.metadata['1.root.json']);
    root.signed.version = 1;
    root.signed.expires = '2099-01-01T00:00:00Z'; // not what the root keys signed
    boot.metadata['1.root.json'] = JSON.stringify(root);
    await refused(400, /does not verify/, () =>
      call(server, 'POST', '/api/v1/repositories', { json: boot, token: server.adminToken }),
    );
    expect(await readdir(join(server.data, 'repositories'))).not.toContain('broken');
    const dup = await bootstrapBody('app', await makeRepo());
    await refused(409, /exists already/, () =>
      call(server, 'POST', '/api/v1/repositories', { json: dup, token: server.adminToken }),
    );
  });
});
