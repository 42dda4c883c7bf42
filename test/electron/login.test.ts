/**
 * The `login` event: proxy authentication, as electron-updater emits it. On the Node path a
 * real proxy on 127.0.0.1 answers 407 until it gets the right Proxy-Authorization; inside
 * Electron, requests go through `net` and Electron's app 'login' reaches the event (played by
 * NodeHost with a WHATWG fetch standing in for net).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadHTTPError } from '../../updater/core/errors.js';
import type { AuthInfo, LoginCallback } from '../../updater/electron/electron-host.js';
import { startProxy, type TestProxy } from '../helpers/servers.js';
import { appHarness, cleanupTempDirs, ReleaseRepo, type HarnessOptions } from './fixtures.js';
import { serveRepo, type RepoServer } from './repo-server.js';

const PROXY_VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
const CREDENTIALS = ['alice', 'pa ss:wörd'] as const;
const EXPECTED_AUTH = `Basic ${Buffer.from(CREDENTIALS.join(':'), 'utf8').toString('base64')}`;

let repo: ReleaseRepo;
let server: RepoServer;
let proxy: TestProxy;
let savedEnv: Record<string, string | undefined>;

beforeEach(async () => {
  repo = await ReleaseRepo.create();
  repo.publish({ version: '1.1.0' });
  server = await serveRepo(repo.sim);
  proxy = await startProxy({ requireAuth: EXPECTED_AUTH });
  savedEnv = Object.fromEntries(PROXY_VARS.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARS) delete process.env[name];
});

afterEach(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await proxy.close();
  await server.close();
  await cleanupTempDirs();
});

/** The app talks to the repository over HTTP with its default fetcher. */
function overHttp(extra: Partial<HarnessOptions> = {}): HarnessOptions {
  return {
    version: '1.0.0',
    metadataUrl: `${server.origin}/metadata`,
    targetsUrl: `${server.origin}/targets`,
    fetcher: undefined,
    // Real sockets through a proxy that asks for credentials: the harness's 300 ms (made for the
    // in-memory fetcher) ran out on a loaded machine. No test here is about slow servers.
    tufConfig: { readTimeoutMs: 10_000 },
    ...extra,
  };
}

describe('login on the Node path (HTTP_PROXY asking for credentials)', () => {
  beforeEach(() => {
    process.env.http_proxy = proxy.url;
  });

  it('emits login once with the proxy as AuthInfo and retries with the credentials given', async () => {
    const app = await appHarness(repo, overHttp());
    const asked: AuthInfo[] = [];
    app.updater.on('login', (authInfo, callback) => {
      asked.push(authInfo);
      callback(...CREDENTIALS);
    });
    const result = await app.updater.checkForUpdates();
    expect(result?.updateInfo.version).toBe('1.1.0');
    expect(asked).toEqual([{ isProxy: true, scheme: 'basic', host: '127.0.0.1', port: proxy.port, realm: '' }]);
    expect(proxy.requests.filter((r) => r.headers['proxy-authorization'] === EXPECTED_AUTH).length).toBeGreaterThan(1);
    expect(server.requests.every((r) => r.headers['proxy-authorization'] === undefined)).toBe(true);
  });

  it('without a login listener the 407 is the error, as before', async () => {
    const app = await appHarness(repo, overHttp());
    const error = await app.updater.checkForUpdates().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadHTTPError);
    expect((error as DownloadHTTPError).status).toBe(407);
    expect(app.names()).toEqual(['checking-for-update', 'error']);
  });

  it('a listener that answers without credentials gives up: the 407 is the error', async () => {
    const app = await appHarness(repo, overHttp());
    app.updater.on('login', (_authInfo, callback) => callback());
    await expect(app.updater.checkForUpdates()).rejects.toMatchObject({ status: 407 });
  });

  it('wrong credentials are not retried forever', async () => {
    const app = await appHarness(repo, overHttp());
    let asked = 0;
    app.updater.on('login', (_authInfo, callback) => {
      asked++;
      callback('alice', 'wrong');
    });
    await expect(app.updater.checkForUpdates()).rejects.toMatchObject({ status: 407 });
    expect(asked).toBe(1);
  });
});

describe('inside Electron: net is the default fetcher', () => {
  it('requests go through net with the request headers; no proxy variables are used', async () => {
    process.env.http_proxy = 'http://127.0.0.1:1'; // would fail if the Node path were taken
    const urls: string[] = [];
    const netFetch: typeof fetch = (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    };
    const app = await appHarness(repo, overHttp({ hostOptions: { netFetch } }));
    app.updater.addAuthHeader('Bearer t0ken');
    expect((await app.updater.checkForUpdates())?.updateInfo.version).toBe('1.1.0');
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u.startsWith(server.origin))).toBe(true);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer t0ken');
    expect(app.updater.netSession).toEqual({ partition: 'electron-tuf' });
  });

  it("Electron's app 'login' reaches the login event (and is left to Electron without a listener)", async () => {
    const app = await appHarness(repo, overHttp({ hostOptions: { netFetch: fetch } }));
    const authInfo: AuthInfo = { isProxy: true, scheme: 'basic', host: 'proxy.corp', port: 3128, realm: 'corp' };
    const answers: Array<[string?, string?]> = [];
    const callback: LoginCallback = (username, password) => void answers.push([username, password]);
    expect(app.host.emitLogin(authInfo, callback)).toBe(false); // nothing hooked before the first check
    await app.updater.checkForUpdates();
    expect(app.host.emitLogin(authInfo, callback)).toBe(false); // hooked, but nobody listens: Electron cancels
    app.updater.on('login', (info, answer) => {
      expect(info).toEqual(authInfo);
      answer('bob', 'hunter2');
    });
    expect(app.host.emitLogin(authInfo, callback)).toBe(true);
    expect(answers).toEqual([['bob', 'hunter2']]);
  });
});
