/** Test helpers: an embedded server on a temporary data directory, and a small API client. */
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cleanupAfterFailure, type InitOptions } from 'electron-tuf/publisher';
import { openPglite } from '../src/db.js';
import { startEmbedded, type RunningServer } from '../src/index.js';
import { newToken } from '../src/tokens.js';
import { cleanupTemp, makeRepo, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import { runCached } from '../../test/helpers/run-cache.js';

export interface TestServer extends RunningServer {
  data: string;
  adminToken: string;
}

/**
 * Makes `dir` (which must not exist) a new, empty PGlite database: a copy of one initialised
 * once per test run. PGlite's initdb runs in WebAssembly, 10 to 50 s on a loaded 2-core
 * machine, where a copy opens in a second or two. The copy is not migrated: the service's start
 * still runs every migration on it. A start on an empty data directory, initdb included, is
 * still tested by crash.test.ts (the CLI), and schema.test.ts initialises a PGlite of its own.
 */
export async function newPgliteDir(dir: string): Promise<void> {
  const template = await runCached('pglite-initdb', async (scratch) => {
    const db = await openPglite(join(scratch, 'db'));
    await db.close();
  });
  await cp(join(template, 'db'), dir, { recursive: true, errorOnExist: true, force: false });
}

export async function startTestServer(
  data?: string,
  adminToken = newToken(),
  maxUploadBytes?: number,
): Promise<TestServer> {
  let dir = data;
  if (dir === undefined) {
    dir = await tempDir('etuf-server-');
    await newPgliteDir(join(dir, 'db')); // where startEmbedded keeps it (server/src/embedded.ts)
  }
  const server = await startEmbedded({
    data: dir,
    port: 0,
    logger: false,
    adminToken,
    env: {},
    refreshIntervalMs: 3_600_000,
    maxUploadBytes,
  });
  return Object.assign(server, { data: dir, adminToken });
}

/** An embedded test server and a new `repo init` repository (not registered yet). */
export interface AppServer {
  server: TestServer;
  repo: TestRepo;
}

/** The beforeAll of most API test files: a test server and a repository made with `init` options. */
export async function startAppServer(
  options: { init?: Partial<InitOptions>; maxUploadBytes?: number } = {},
): Promise<AppServer> {
  const server = await startTestServer(undefined, undefined, options.maxUploadBytes);
  try {
    return { server, repo: await makeRepo(options.init) };
  } catch (error) {
    await cleanupAfterFailure(error, () => server.close());
    throw error;
  }
}

/** startAppServer, with the repository registered as `app` and a publish token for it (CI's). */
export async function startPublishingServer(
  options: Parameters<typeof startAppServer>[0] = {},
): Promise<AppServer & { token: string }> {
  const started = await startAppServer(options);
  const { server, repo } = started;
  try {
    await bootstrapRepository(server, server.adminToken, 'app', repo);
    return { ...started, token: await publishToken(server, server.adminToken, 'app') };
  } catch (error) {
    await cleanupAfterFailure(error, () => server.close());
    throw error;
  }
}

/** The afterAll of a file that started a test server: closes it, then removes the temporary directories. */
export async function stopTestServer(server: TestServer | undefined): Promise<void> {
  await server?.close();
  await cleanupTemp();
}

/**
 * A JSON answer of the service as the tests read it: the fields they look at by name (the shapes
 * are in server/src/api/schemas.ts; a field an answer lacks reads as undefined, which the
 * assertions then catch). Everything else goes through toMatchObject.
 */
export interface ApiBody {
  task: string;
  state: string;
  token: string;
  id: string;
  error: string;
  staged: string;
  pending: unknown[];
  openapi: string;
  paths: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Answer {
  status: number;
  body: ApiBody;
}

export async function call(
  server: { url: string },
  method: string,
  path: string,
  options: { token?: string; json?: unknown; raw?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw !== undefined) {
    headers['content-type'] ??= 'application/octet-stream';
    body = options.raw;
  }
  const res = await fetch(server.url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as ApiBody };
}

/** What `repo init` left, as the bootstrap request carries it. */
export async function bootstrapBody(
  name: string,
  repo: TestRepo,
): Promise<{ name: string; metadata: Record<string, string>; settings: string; keys: { dir: string } }> {
  const metadata: Record<string, string> = {};
  for (const file of await readdir(join(repo.repo, 'metadata')))
    metadata[file] = await readFile(join(repo.repo, 'metadata', file), 'utf8');
  return {
    name,
    metadata,
    settings: await readFile(join(repo.repo, 'electron-tuf.json'), 'utf8'),
    keys: { dir: repo.keys },
  };
}

/** Registers repository `name`, bootstrapped from what `repo init` left in `repo` (the admin's call). */
export async function bootstrapRepository(
  server: { url: string },
  adminToken: string,
  name: string,
  repo: TestRepo,
): Promise<void> {
  const answer = await call(server, 'POST', '/api/v1/repositories', {
    token: adminToken,
    json: await bootstrapBody(name, repo),
  });
  if (answer.status !== 201) throw new Error(`bootstrap of ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/** A new token that may publish to repository `name` (what a CI job gets). */
export async function publishToken(server: { url: string }, adminToken: string, name: string): Promise<string> {
  const answer = await call(server, 'POST', '/api/v1/tokens', {
    token: adminToken,
    json: { scope: 'publish', repository: name },
  });
  if (answer.status !== 201)
    throw new Error(`publish token for ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.token;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Uploads the bytes and publishes them as one release; returns the task id (202). */
export async function addRelease(
  server: { url: string },
  token: string,
  repo: string,
  release: {
    version: string;
    platform?: string;
    arch?: string;
    channel?: string;
    staging?: number;
    files: Record<string, Buffer>;
  },
): Promise<Answer> {
  const installers = [];
  for (const [name, bytes] of Object.entries(release.files)) {
    const digest = sha256(bytes);
    const up = await upload(server, token, repo, bytes);
    if (up.status !== 201 && up.status !== 200) return up;
    installers.push({ name, length: bytes.length, sha256: digest });
  }
  return call(server, 'POST', `/api/v1/repositories/${repo}/releases`, {
    token,
    json: {
      version: release.version,
      platform: release.platform ?? 'linux',
      arch: release.arch ?? 'x64',
      channel: release.channel,
      staging: release.staging,
      installers,
    },
  });
}

/**
 * Uploads an installer the way the service offers: asks where (POST), then PUTs straight to the
 * object store with the presigned URL (S3 storage), or to the API (disk storage).
 */
export async function upload(server: { url: string }, token: string, repo: string, bytes: Buffer): Promise<Answer> {
  const path = `/api/v1/repositories/${repo}/uploads/${sha256(bytes)}`;
  const plan = await call(server, 'POST', path, { token, json: { length: bytes.length } });
  if (plan.status !== 200 || plan.body.direct !== true) return call(server, 'PUT', path, { token, raw: bytes });
  const res = await fetch(plan.body.url as string, {
    method: 'PUT',
    headers: plan.body.headers as Record<string, string>,
    body: bytes,
  });
  return { status: res.status, body: { error: res.ok ? '' : await res.text() } as ApiBody };
}

/** Polls a task until it is settled. */
export async function settled(server: { url: string }, token: string, task: string): Promise<Answer> {
  for (;;) {
    const r = await call(server, 'GET', `/api/v1/tasks/${task}`, { token });
    if (r.status !== 200 || r.body.state !== 'pending') return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function installerBytes(seed: string, size = 8192): Buffer {
  const block = createHash('sha512').update(seed).digest();
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += block.length) block.copy(data, i);
  return data;
}

/**
 * Splits a `repo init` keys directory as a service with offline root keys has it: a copy with
 * the online keys only (for the service), and the root key files (one per holder), in order.
 */
export async function splitRootKeys(repo: TestRepo): Promise<{ serviceKeys: string; rootKeyFiles: string[] }> {
  const serviceKeys = join(await tempDir('etuf-service-keys-'), 'keys');
  await cp(repo.keys, serviceKeys, { recursive: true });
  for (const f of await readdir(serviceKeys)) if (f.startsWith('root-')) await rm(join(serviceKeys, f));
  const rootKeyFiles = (await readdir(repo.keys))
    .filter((f) => /^root-\d+\.key\.pem$/.test(f))
    .sort()
    .map((f) => join(repo.keys, f));
  return { serviceKeys, rootKeyFiles };
}
