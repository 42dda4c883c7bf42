/**
 * What HttpFetcher allows a request to be: http(s) URLs only, headers it does not own,
 * redirects that never downgrade https nor carry credentials to another origin, retries only
 * of connection failures, and bounded numeric options.
 */
import http from 'node:http';
import { CancelledError, DownloadError, DownloadHTTPError, ValueError } from '../core/errors.js';

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Credentials that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/** Headers this fetcher owns; letting a caller set them would break framing or ranges. */
const RESERVED_HEADERS = new Set([
  'host',
  'range',
  'content-length',
  'transfer-encoding',
  'connection',
  'accept-encoding',
]);

export type Headers = Record<string, string>;

export function redirectTarget(current: URL, location: string | undefined, status: number): URL {
  if (!location) throw new DownloadHTTPError(`${current.href}: redirect ${status} without Location`, status);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch (cause) {
    throw new DownloadError(`${current.href}: invalid redirect Location ${JSON.stringify(location)}`, { cause });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new DownloadError(`${current.href}: refusing redirect to ${next.protocol} URL`);
  }
  if (current.protocol === 'https:' && next.protocol === 'http:') {
    throw new DownloadError(`${current.href}: refusing redirect from https to http (${next.href})`);
  }
  return next;
}

export function withoutCredentials(headers: Headers): Headers {
  const kept = { ...headers };
  for (const name of CREDENTIAL_HEADERS) delete kept[name];
  return kept;
}

/** Failures worth another attempt: the connection broke, not the server's answer or our own limits. */
export function isConnectionFailure(err: unknown): boolean {
  return err instanceof DownloadError && err.constructor === DownloadError;
}

export function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ValueError(`invalid URL ${JSON.stringify(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValueError(`unsupported URL scheme ${parsed.protocol} in ${url}`);
  }
  return parsed;
}

export function validatedHeaders(headers: Record<string, string>): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw new ValueError(`header ${name} is managed by the fetcher`);
    try {
      http.validateHeaderName(lower);
      http.validateHeaderValue(lower, value);
    } catch (cause) {
      throw new ValueError(`invalid header ${JSON.stringify(name)}`, { cause });
    }
    out[lower] = value;
  }
  return out;
}

export function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ValueError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValueError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('download cancelled'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('download cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
