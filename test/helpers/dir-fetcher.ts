/**
 * A Fetcher that serves a directory from disk, as a static web server would serve it at
 * `baseUrl`: `<baseUrl>/a/b.json` -> `<dir>/a/b.json`. Missing files (and anything that is not
 * a regular file) answer 404; a path that would leave the directory (`..`, an encoded `/`,
 * a symlink pointing outside) answers 403, so a test can never read beyond the repository it
 * meant to serve. Every requested URL is recorded, in order.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { DownloadHTTPError } from '../../updater/core/errors.js';
import type { Fetcher, FetchRequest, FetchResponse } from '../../updater/client/fetcher.js';
import { bytesResponse } from './simulator.js';

export class DirFetcher implements Fetcher {
  /** Every URL asked for, in order (including ones answered 403/404). */
  readonly requests: string[] = [];
  private readonly base: string;
  private readonly root: string;

  constructor(baseUrl: string, dir: string) {
    this.base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.root = resolve(dir);
  }

  /** Number of requests whose URL ends with `suffix`. */
  count(suffix: string): number {
    return this.requests.filter((u) => u.endsWith(suffix)).length;
  }

  async fetch(url: string, request: FetchRequest = {}): Promise<FetchResponse> {
    this.requests.push(url);
    const path = await this.localPath(url);
    const body = await readFile(path);
    // Honour `Range: bytes=N-` like a static server; an offset past the end gets the whole body.
    const start = request.offset && request.offset < body.length ? request.offset : 0;
    return bytesResponse(body.subarray(start), start, body.length);
  }

  /** The file `url` names inside the served directory; DownloadHTTPError 403/404 otherwise. */
  private async localPath(url: string): Promise<string> {
    if (!url.startsWith(this.base)) throw new DownloadHTTPError(`404 ${url} (not under ${this.base})`, 404);
    let segments: string[];
    try {
      segments = url.slice(this.base.length).split('/').map(decodeURIComponent);
    } catch {
      throw new DownloadHTTPError(`400 ${url} (malformed escape)`, 400);
    }
    // A decoded segment holding a separator, or a dot segment, would name a different path.
    if (
      segments.some(
        (s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'),
      )
    ) {
      throw new DownloadHTTPError(`403 ${url} (path escapes the served directory)`, 403);
    }
    const candidate = resolve(this.root, ...segments);
    let real: string;
    try {
      real = await realpath(candidate);
      if (!(await stat(real)).isFile()) throw new Error('not a file');
    } catch {
      throw new DownloadHTTPError(`404 ${url}`, 404);
    }
    const realRoot = await realpath(this.root);
    if (!real.startsWith(realRoot + sep))
      throw new DownloadHTTPError(`403 ${url} (path escapes the served directory)`, 403);
    return real;
  }
}
