/**
 * The app updater's default Fetcher. Inside Electron it is Electron's network stack (the
 * updater's own session: system proxy settings, the OS certificate store, proxy logins through
 * the `login` event), as electron-updater's requests are; in plain Node it is HttpFetcher.
 *
 * Headers are read at each request, so `requestHeaders` and `addAuthHeader()` apply to the next
 * request without rebuilding the updater. A proxy that answers 407 on the Node path is asked
 * about through the same `login` event; with credentials the request is made once more.
 * Everything TUF checks (lengths, hashes, timeouts) stays in the client, whatever fetches.
 */
import { DownloadHTTPError } from '../core/errors.js';
import { FetchApiFetcher } from '../client/fetch-api-fetcher.js';
import type { Fetcher, FetchRequest, FetchResponse } from '../client/fetcher.js';
import { HttpFetcher, type HttpFetcherOptions } from '../client/http-fetcher.js';
import { effectivePort, proxyConfigFromEnv, proxyFor, type ProxyConfig } from '../client/proxy.js';
import type { AuthInfo, LoginCallback, NetAccess } from './electron-host.js';

export interface AppFetcherOptions {
  /** Electron's network stack, when running inside Electron. */
  net?: NetAccess;
  /** The headers to send now (requestHeaders). */
  headers: () => Record<string, string>;
  /** Asks the app for proxy credentials; false when nobody listens to `login`. */
  login: (authInfo: AuthInfo, callback: LoginCallback) => boolean;
  /** HttpFetcher settings for the Node path (headers and proxy are set here). */
  http?: Omit<HttpFetcherOptions, 'headers'>;
}

/** How long a `login` listener may take to answer (a person typing into a dialog) before the 407 stands. */
export const LOGIN_ANSWER_TIMEOUT_MS = 5 * 60_000;

interface Credentials {
  username: string;
  password: string;
}

export class AppFetcher implements Fetcher {
  private current?: { key: string; fetcher: Fetcher };
  private proxy: ProxyConfig;

  constructor(private readonly options: AppFetcherOptions) {
    this.proxy = options.http?.proxy ?? proxyConfigFromEnv();
  }

  /** Which network stack answers: `net` inside Electron, `http` in Node. */
  get kind(): 'net' | 'http' {
    return this.options.net ? 'net' : 'http';
  }

  async fetch(url: string, request?: FetchRequest): Promise<FetchResponse> {
    try {
      return await this.fetcher().fetch(url, request);
    } catch (error) {
      if (this.kind === 'net' || !(error instanceof DownloadHTTPError) || error.status !== 407) throw error;
      const credentials = await this.askLogin(url);
      if (!credentials) throw error;
      this.proxy = withCredentials(this.proxy, new URL(url).protocol, credentials);
      this.current = undefined;
      return this.fetcher().fetch(url, request);
    }
  }

  private fetcher(): Fetcher {
    const headers = this.options.headers();
    const key = JSON.stringify(headers);
    if (this.current?.key !== key) {
      const fetcher = this.options.net
        ? new FetchApiFetcher(this.options.net.fetch, { headers })
        : new HttpFetcher({ ...this.options.http, headers, proxy: this.proxy });
      const previous = this.current?.fetcher;
      if (previous instanceof HttpFetcher) previous.close();
      this.current = { key, fetcher };
    }
    return this.current.fetcher;
  }

  /** Emits `login` for the proxy of `url`; resolves with what the app answered, if anything. */
  private askLogin(url: string): Promise<Credentials | undefined> {
    const proxy = proxyFor(new URL(url), this.proxy);
    if (!proxy) return Promise.resolve(undefined);
    const authInfo: AuthInfo = {
      isProxy: true,
      scheme: 'basic',
      host: proxy.hostname,
      port: Number(effectivePort(proxy)),
      realm: '',
    };
    return new Promise((resolve) => {
      // An unanswered login must not hold the check (and every later one sharing it) forever.
      const timer = setTimeout(() => resolve(undefined), LOGIN_ANSWER_TIMEOUT_MS);
      timer.unref();
      const answer = (credentials: Credentials | undefined) => {
        clearTimeout(timer);
        resolve(credentials);
      };
      const asked = this.options.login(authInfo, (username, password) =>
        answer(username ? { username, password: password ?? '' } : undefined),
      );
      if (!asked) answer(undefined);
    });
  }
}

function withCredentials(config: ProxyConfig, protocol: string, credentials: Credentials): ProxyConfig {
  const field = protocol === 'https:' ? 'httpsProxy' : 'httpProxy';
  const setting = config[field];
  if (!setting) return config;
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(setting) ? setting : `http://${setting}`);
  url.username = encodeURIComponent(credentials.username);
  url.password = encodeURIComponent(credentials.password);
  return { ...config, [field]: url.href };
}
