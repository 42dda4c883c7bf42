import { createHash, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import {
  CancelledError,
  DownloadError,
  DownloadHTTPError,
  DownloadLengthMismatchError,
  SlowRetrievalError,
  ValueError,
} from '../../updater/core/errors.js';
import type { FetchResponse } from '../../updater/client/fetcher.js';
import { HttpFetcher, type HttpFetcherOptions } from '../../updater/client/http-fetcher.js';
import {
  bypassesProxy,
  openTunnel,
  parseProxyUrl,
  proxyAuthorization,
  proxyConfigFromEnv,
  proxyFor,
} from '../../updater/client/proxy.js';
import {
  drip,
  endless,
  failThen,
  interruptMidBody,
  neverRespond,
  raw,
  redirect,
  selfSignedCertificate,
  serveBytes,
  stallMidBody,
  startProxy,
  startServer,
  type TestProxy,
  type TestServer,
} from '../helpers/servers.js';

const BODY = randomBytes(300 * 1024);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(
  routes: Parameters<typeof startServer>[0],
  options?: Parameters<typeof startServer>[1],
): Promise<TestServer> {
  const started = await startServer(routes, options);
  cleanups.push(() => started.close());
  return started;
}

async function proxy(options?: Parameters<typeof startProxy>[0]): Promise<TestProxy> {
  const started = await startProxy(options);
  cleanups.push(() => started.close());
  return started;
}

/** Fast timeouts, no proxy from the environment, quick retries. */
function fetcher(options: HttpFetcherOptions = {}): HttpFetcher {
  const created = new HttpFetcher({
    proxy: {},
    readTimeoutMs: 300,
    connectTimeoutMs: 300,
    retryDelayMs: 10,
    ...options,
  });
  cleanups.push(() => created.close());
  return created;
}

async function readAll(response: FetchResponse): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of response.body) parts.push(chunk);
  return Buffer.concat(parts);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('proxy selection', () => {
  const target = (url: string): URL => new URL(url);

  test('NO_PROXY matches hosts, suffixes, ports and *', () => {
    const cases: Array<[string, string, boolean]> = [
      ['https://example.com/x', 'example.com', true],
      ['https://cdn.example.com/x', 'example.com', true],
      ['https://cdn.example.com/x', '.example.com', true],
      ['https://example.com/x', '.example.com', true],
      ['https://badexample.com/x', 'example.com', false],
      ['https://EXAMPLE.com/x', 'example.COM', true],
      ['http://127.0.0.1:8080/x', '127.0.0.1:8080', true],
      ['http://127.0.0.1:8081/x', '127.0.0.1:8080', false],
      ['https://example.com/x', 'example.com:443', true],
      ['http://example.com/x', 'example.com:443', false],
      ['http://[::1]:9000/x', '[::1]:9000', true],
      ['http://[::1]:9000/x', '::1', true],
      ['http://anything.org/x', 'foo.com, *', true],
      ['http://anything.org/x', 'foo.com bar.org', false],
      ['http://bar.org/x', 'foo.com bar.org', true],
      ['http://bar.org/x', '', false],
    ];
    for (const [url, noProxy, expected] of cases)
      expect([url, noProxy, bypassesProxy(target(url), noProxy)]).toEqual([url, noProxy, expected]);
  });

  test('environment: lower-case wins over upper-case, empty means unset', () => {
    expect(
      proxyConfigFromEnv({
        http_proxy: 'http://low:1',
        HTTP_PROXY: 'http://up:2',
        HTTPS_PROXY: 'http://up:3',
        no_proxy: ' ',
      }),
    ).toEqual({
      httpProxy: 'http://low:1',
      httpsProxy: 'http://up:3',
      noProxy: undefined,
    });
  });

  test('picks the proxy by target scheme and honours noProxy', () => {
    const config = { httpProxy: 'proxy.corp:3128', httpsProxy: 'http://secure.corp:3129', noProxy: 'internal.corp' };
    expect(proxyFor(target('http://a.org/'), config)?.href).toBe('http://proxy.corp:3128/');
    expect(proxyFor(target('https://a.org/'), config)?.href).toBe('http://secure.corp:3129/');
    expect(proxyFor(target('https://x.internal.corp/'), config)).toBeUndefined();
    expect(proxyFor(target('https://a.org/'), {})).toBeUndefined();
  });

  test('only http:// proxies; credentials become Basic auth', () => {
    expect(() => parseProxyUrl('socks5://p:1080')).toThrow(ValueError);
    expect(proxyAuthorization(parseProxyUrl('http://us%40er:p%3Ass@p:1'))).toBe(
      `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
    );
    expect(proxyAuthorization(parseProxyUrl('http://p:1'))).toBeUndefined();
  });
});

describe('HttpFetcher', () => {
  test('streams a body and reports its length', async () => {
    const origin = await server({ '/file': serveBytes(BODY) });
    const response = await fetcher().fetch(origin.url('/file'));
    expect(response.start).toBe(0);
    expect(response.totalLength).toBe(BODY.length);
    expect(sha256(await readAll(response))).toBe(sha256(BODY));
    expect(origin.requests[0].headers['accept-encoding']).toBe('identity');
  });

  test('keep-alive connections are reused safely across fetches', async () => {
    const origin = await server({ '/file': serveBytes(BODY) });
    const client = fetcher();
    for (let i = 0; i < 3; i++)
      expect((await readAll(await client.fetch(origin.url('/file')))).length).toBe(BODY.length);
  });

  test('offset sends a Range request and the 206 says where the body starts', async () => {
    const origin = await server({ '/file': serveBytes(BODY) });
    const response = await fetcher().fetch(origin.url('/file'), { offset: 1000 });
    expect(origin.requests[0].headers.range).toBe('bytes=1000-');
    expect(response.start).toBe(1000);
    expect(response.totalLength).toBe(BODY.length);
    expect((await readAll(response)).equals(BODY.subarray(1000))).toBe(true);
  });

  test('a server that ignores Range answers from byte 0', async () => {
    const origin = await server({ '/file': serveBytes(BODY, { honourRange: false }) });
    const response = await fetcher().fetch(origin.url('/file'), { offset: 1000 });
    expect(response.start).toBe(0);
    expect((await readAll(response)).equals(BODY)).toBe(true);
  });

  test('416 and a 206 from the wrong offset are errors', async () => {
    const origin = await server({
      '/file': serveBytes(BODY),
      '/wrong-range': raw(
        'HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 5-9/10\r\ncontent-length: 5\r\n\r\nhello',
      ),
    });
    await expect(fetcher().fetch(origin.url('/file'), { offset: BODY.length })).rejects.toMatchObject({
      name: 'DownloadHTTPError',
      status: 416,
    });
    const wrong = fetcher().fetch(origin.url('/wrong-range'), { offset: 3 });
    await expect(wrong).rejects.toThrow(/asked for bytes from 3/);
    await expect(wrong).rejects.toBeInstanceOf(DownloadError);
  });

  test('non-2xx is DownloadHTTPError with the status', async () => {
    const origin = await server({});
    const failure = fetcher().fetch(origin.url('/missing'));
    await expect(failure).rejects.toBeInstanceOf(DownloadHTTPError);
    await expect(failure).rejects.toMatchObject({ status: 404 });
  });

  test('a Content-Length above maxLength fails before the body is read', async () => {
    const origin = await server({ '/file': serveBytes(BODY) });
    await expect(fetcher().fetch(origin.url('/file'), { maxLength: BODY.length - 1 })).rejects.toBeInstanceOf(
      DownloadLengthMismatchError,
    );
    await expect(fetcher().fetch(origin.url('/file'), { maxLength: BODY.length })).resolves.toMatchObject({ start: 0 });
  });

  test('5xx before the body is retried, a bounded number of times', async () => {
    const origin = await server({
      '/flaky': failThen(503, 2, serveBytes(BODY)),
      '/down': failThen(500, 100, serveBytes(BODY)),
    });
    expect((await readAll(await fetcher({ retries: 2 }).fetch(origin.url('/flaky')))).length).toBe(BODY.length);
    expect(origin.requests.filter((r) => r.url === '/flaky')).toHaveLength(3);

    await expect(fetcher({ retries: 1 }).fetch(origin.url('/down'))).rejects.toMatchObject({
      name: 'DownloadHTTPError',
      status: 500,
    });
    expect(origin.requests.filter((r) => r.url === '/down')).toHaveLength(2);
  });

  test('connection refused is retried, then a DownloadError', async () => {
    const closed = await startServer();
    await closed.close();
    const failure = fetcher({ retries: 2, retryDelayMs: 20 }).fetch(closed.url('/x'));
    await expect(failure).rejects.toBeInstanceOf(DownloadError);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });

  test('a reset mid-body is a DownloadError from the iterator', async () => {
    const origin = await server({ '/reset': interruptMidBody(BODY, { afterBytes: 50_000 }) });
    const response = await fetcher().fetch(origin.url('/reset'));
    const failure = readAll(response);
    await expect(failure).rejects.toBeInstanceOf(DownloadError);
    await expect(failure).rejects.not.toBeInstanceOf(SlowRetrievalError);
  });

  test('a premature close mid-body is a DownloadError, not a short success', async () => {
    const origin = await server({
      '/close': interruptMidBody(BODY, { afterBytes: 50_000, how: 'close' }),
      '/short': raw('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this'),
    });
    await expect(readAll(await fetcher().fetch(origin.url('/close')))).rejects.toThrow(
      /closed before the end|mid-body/,
    );
    await expect(readAll(await fetcher().fetch(origin.url('/short')))).rejects.toBeInstanceOf(DownloadError);
  });

  test('a stall mid-body is SlowRetrievalError after readTimeoutMs', async () => {
    const origin = await server({ '/stall': stallMidBody(BODY, 10_000) });
    const response = await fetcher({ readTimeoutMs: 200 }).fetch(origin.url('/stall'));
    await expect(readAll(response)).rejects.toBeInstanceOf(SlowRetrievalError);
  });

  test('a slow but steady drip is not a stall', async () => {
    const body = BODY.subarray(0, 2000);
    const origin = await server({ '/drip': drip(body, { chunkSize: 200, intervalMs: 20 }) });
    const response = await fetcher({ readTimeoutMs: 400 }).fetch(origin.url('/drip')); // 20 ms gaps, never 400
    expect((await readAll(response)).equals(body)).toBe(true);
  });

  test('a consumer that takes its time is not a stall (the timer runs only while waiting)', async () => {
    const origin = await server({ '/file': serveBytes(BODY) });
    const response = await fetcher({ readTimeoutMs: 200 }).fetch(origin.url('/file'));
    const parts: Uint8Array[] = [];
    for await (const chunk of response.body) {
      parts.push(chunk);
      if (parts.length === 1) await new Promise((resolve) => setTimeout(resolve, 600));
    }
    expect(Buffer.concat(parts).equals(BODY)).toBe(true);
  });

  test('no response head within readTimeoutMs is SlowRetrievalError', async () => {
    const origin = await server({ '/silent': neverRespond() });
    await expect(fetcher({ readTimeoutMs: 150, retries: 0 }).fetch(origin.url('/silent'))).rejects.toBeInstanceOf(
      SlowRetrievalError,
    );
  });

  test('backpressure: a paused consumer stops the server, the body is never buffered whole', async () => {
    const { handler, stats } = endless();
    const origin = await server({ '/endless': handler });
    const response = await fetcher({ readTimeoutMs: 5000 }).fetch(origin.url('/endless'));
    const iterator = response.body[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentWhilePaused = stats.bytesSent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stats.bytesSent).toBe(sentWhilePaused); // nothing more flows while nobody reads
    expect(sentWhilePaused).toBeLessThan(16 * 1024 * 1024); // socket buffers only
    await iterator.return?.();
    await stats.closed; // leaving the loop drops the connection
  });

  test('breaking out of the body closes the connection', async () => {
    const { handler, stats } = endless();
    const origin = await server({ '/endless': handler });
    const response = await fetcher().fetch(origin.url('/endless'));
    let seen = 0;
    for await (const chunk of response.body) {
      seen += chunk.length;
      if (seen > 1_000_000) break;
    }
    await stats.closed;
  });

  test('more bytes than Content-Length: the body stops at Content-Length, no crash', async () => {
    const origin = await server({
      '/overlong': raw(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello, and then a lot more${'x'.repeat(100_000)}`),
    });
    expect((await readAll(await fetcher().fetch(origin.url('/overlong')))).toString()).toBe('hello');
  });

  test('garbage instead of HTTP is a DownloadError', async () => {
    const origin = await server({ '/garbage': raw('SSH-2.0-OpenSSH\r\n\r\n\0\0\0') });
    await expect(fetcher({ retries: 0 }).fetch(origin.url('/garbage'))).rejects.toBeInstanceOf(DownloadError);
  });

  describe('cancellation', () => {
    test('an already aborted signal rejects at once', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      await expect(fetcher().fetch(origin.url('/file'), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
        CancelledError,
      );
      expect(origin.requests).toHaveLength(0);
    });

    test('abort while waiting for the head', async () => {
      const origin = await server({ '/silent': neverRespond() });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      await expect(
        fetcher({ readTimeoutMs: 5000 }).fetch(origin.url('/silent'), { signal: controller.signal }),
      ).rejects.toBeInstanceOf(CancelledError);
    });

    test('abort mid-body destroys the socket', async () => {
      const { handler, stats } = endless();
      const origin = await server({ '/endless': handler });
      const controller = new AbortController();
      const response = await fetcher().fetch(origin.url('/endless'), { signal: controller.signal });
      let seen = 0;
      const reading = (async () => {
        for await (const chunk of response.body) {
          seen += chunk.length;
          if (seen > 500_000) controller.abort();
        }
      })();
      await expect(reading).rejects.toBeInstanceOf(CancelledError);
      await stats.closed;
    });
  });

  describe('headers and redirects', () => {
    const secrets = { authorization: 'Bearer s3cret', cookie: 'session=1', 'x-client': 'kept' };

    test('custom headers and the user agent are sent', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      await readAll(
        await fetcher({ headers: { 'X-Client': 'kept' }, userAgent: 'my-app/1.2' }).fetch(origin.url('/file')),
      );
      expect(origin.requests[0].headers).toMatchObject({ 'x-client': 'kept', 'user-agent': 'my-app/1.2' });
    });

    test('invalid or reserved headers are refused up front', () => {
      expect(() => new HttpFetcher({ headers: { 'x-evil': 'a\r\nInjected: 1' } })).toThrow(ValueError);
      expect(() => new HttpFetcher({ headers: { Range: 'bytes=0-' } })).toThrow(ValueError);
      expect(() => new HttpFetcher({ retries: -1 })).toThrow(ValueError);
    });

    test('same-origin redirect keeps credentials', async () => {
      const origin = await server({ '/old': redirect('/new', 301), '/new': serveBytes(BODY) });
      const response = await fetcher({ headers: secrets }).fetch(origin.url('/old'));
      expect((await readAll(response)).length).toBe(BODY.length);
      expect(origin.requests.map((r) => r.url)).toEqual(['/old', '/new']);
      expect(origin.requests[1].headers).toMatchObject(secrets);
    });

    test('cross-origin redirect drops Authorization and Cookie, keeps other headers and the Range', async () => {
      const mirror = await server({ '/file': serveBytes(BODY) });
      const origin = await server({ '/file': redirect(`${mirror.origin}/file`, 307) });
      const response = await fetcher({ headers: secrets }).fetch(origin.url('/file'), { offset: 10 });
      expect((await readAll(response)).equals(BODY.subarray(10))).toBe(true);
      expect(origin.requests[0].headers).toMatchObject(secrets);
      const forwarded = mirror.requests[0].headers;
      expect(forwarded.authorization).toBeUndefined();
      expect(forwarded.cookie).toBeUndefined();
      expect(forwarded['x-client']).toBe('kept');
      expect(forwarded.range).toBe('bytes=10-');
    });

    test('credentials stay dropped if a later hop comes back to the first origin', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      const mirror = await server({ '/bounce': redirect(`${origin.origin}/file`) });
      origin.route('/start', redirect(`${mirror.origin}/bounce`));
      await readAll(await fetcher({ headers: secrets }).fetch(origin.url('/start')));
      expect(origin.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
        ['/start', secrets.authorization],
        ['/file', undefined],
      ]);
    });

    test('redirects are bounded', async () => {
      const origin = await server({ '/loop': redirect('/loop') });
      await expect(fetcher({ maxRedirects: 3 }).fetch(origin.url('/loop'))).rejects.toThrow(/more than 3 redirects/);
      expect(origin.requests).toHaveLength(4);
    });

    test('https to http redirects and non-http schemes are refused', async () => {
      const identity = selfSignedCertificate();
      const plain = await server({ '/file': serveBytes(BODY) });
      const secure = await server(
        { '/down': redirect(`${plain.origin}/file`), '/file-scheme': redirect('file:///etc/passwd') },
        { tls: identity },
      );
      // Not about timeouts: a TLS handshake on a loaded 2-core machine can take longer than 300 ms.
      const client = fetcher({ ca: identity.cert, readTimeoutMs: 5000, connectTimeoutMs: 5000 });
      await expect(client.fetch(secure.url('/down'))).rejects.toThrow(/from https to http/);
      await expect(client.fetch(secure.url('/file-scheme'))).rejects.toThrow(/refusing redirect to file:/);
      expect(plain.requests).toHaveLength(0);
    });
  });

  describe('proxies', () => {
    const savedEnv = { ...process.env };
    afterEach(() => {
      for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) {
        if (savedEnv[name] === undefined) delete process.env[name];
        else process.env[name] = savedEnv[name];
      }
    });

    test('HTTP_PROXY from the environment carries http:// requests as absolute URIs', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      const forwarder = await proxy();
      process.env.HTTP_PROXY = forwarder.url;
      delete process.env.http_proxy;
      delete process.env.NO_PROXY;
      delete process.env.no_proxy;
      const client = new HttpFetcher({ readTimeoutMs: 2000 });
      cleanups.push(() => client.close());
      expect((await readAll(await client.fetch(origin.url('/file?v=1'), { offset: 7 }))).equals(BODY.subarray(7))).toBe(
        true,
      );
      expect(forwarder.requests.map((r) => r.url)).toEqual([`${origin.origin}/file?v=1`]);
      expect(forwarder.requests[0].headers.host).toBe(`127.0.0.1:${origin.port}`);
      expect(origin.requests[0].headers.range).toBe('bytes=7-');
    });

    test('NO_PROXY bypasses the proxy', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      const forwarder = await proxy();
      process.env.http_proxy = forwarder.url;
      process.env.no_proxy = `example.org, 127.0.0.1:${origin.port}`;
      const client = new HttpFetcher({ readTimeoutMs: 2000 });
      cleanups.push(() => client.close());
      expect((await readAll(await client.fetch(origin.url('/file')))).length).toBe(BODY.length);
      expect(forwarder.requests).toHaveLength(0);
      expect(origin.requests).toHaveLength(1);
    });

    test('proxy credentials are sent as Proxy-Authorization', async () => {
      const origin = await server({ '/file': serveBytes(BODY) });
      const auth = `Basic ${Buffer.from('alice:pa ss').toString('base64')}`;
      const forwarder = await proxy({ requireAuth: auth });
      const withAuth = `http://alice:pa%20ss@127.0.0.1:${forwarder.port}`;
      expect((await readAll(await fetcher({ proxy: { httpProxy: withAuth } }).fetch(origin.url('/file')))).length).toBe(
        BODY.length,
      );
      await expect(fetcher({ proxy: { httpProxy: forwarder.url } }).fetch(origin.url('/file'))).rejects.toMatchObject({
        status: 407,
      });
      expect(origin.requests).toHaveLength(1);
      expect(origin.requests[0].headers['proxy-authorization']).toBeUndefined();
    });

    test('https:// goes through a CONNECT tunnel with TLS to the origin', async () => {
      const identity = selfSignedCertificate();
      const origin = await server({ '/file': serveBytes(BODY) }, { tls: identity });
      const auth = `Basic ${Buffer.from('bob:pw').toString('base64')}`;
      const tunneller = await proxy({ requireAuth: auth });
      const client = fetcher({ ca: identity.cert, proxy: { httpsProxy: `http://bob:pw@127.0.0.1:${tunneller.port}` } });
      const response = await client.fetch(`https://localhost:${origin.port}/file`, { offset: 100 });
      expect(response.start).toBe(100);
      expect((await readAll(response)).equals(BODY.subarray(100))).toBe(true);
      expect(tunneller.connects.map((c) => c.url)).toEqual([`localhost:${origin.port}`]);
      expect(tunneller.connects[0].headers['proxy-authorization']).toBe(auth);
      expect(tunneller.requests).toHaveLength(0); // nothing in clear text through the proxy
      expect(origin.requests[0].headers.range).toBe('bytes=100-');
    });

    test('the origin certificate is still checked inside the tunnel', async () => {
      const origin = await server({ '/file': serveBytes(BODY) }, { tls: selfSignedCertificate() });
      const tunneller = await proxy();
      const client = fetcher({ ca: selfSignedCertificate().cert, proxy: { httpsProxy: tunneller.url }, retries: 0 });
      await expect(client.fetch(`https://localhost:${origin.port}/file`)).rejects.toBeInstanceOf(DownloadError);
      expect(origin.requests).toHaveLength(0);
    });

    test('a refused CONNECT is a DownloadHTTPError; a silent proxy is a connect timeout', async () => {
      const refusing = await proxy({ requireAuth: 'Basic nope' });
      await expect(
        fetcher({ proxy: { httpsProxy: refusing.url } }).fetch('https://localhost:9/file'),
      ).rejects.toMatchObject({ status: 407 });
      const silent = await proxy({ stallConnect: true });
      const client = fetcher({ proxy: { httpsProxy: silent.url }, connectTimeoutMs: 150 });
      await expect(client.fetch('https://localhost:9/file')).rejects.toBeInstanceOf(SlowRetrievalError);
    });

    test('openTunnel hands back a raw socket to the target (plain TCP)', async () => {
      const echo = net.createServer((socket) => socket.pipe(socket));
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => echo.close(resolve)));
      const tunneller = await proxy();
      const socket = await openTunnel(new URL(tunneller.url), '127.0.0.1', (echo.address() as AddressInfo).port, {
        timeoutMs: 1000,
      });
      cleanups.push(() => socket.destroy());
      const echoed = new Promise<string>((resolve) => socket.once('data', (data) => resolve(data.toString())));
      socket.write('ping through the tunnel');
      expect(await echoed).toBe('ping through the tunnel');
      expect(tunneller.connects[0]).toMatchObject({
        method: 'CONNECT',
        url: `127.0.0.1:${(echo.address() as AddressInfo).port}`,
      });
    });
  });
});
