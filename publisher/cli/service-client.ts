/**
 * The HTTP client of the repository service (@electron-tuf/server) that the `--server` commands
 * and the electron-builder hook share: Node's fetch, bounded answers, the token on every request
 * (so only https://, or http:// to this machine), task polling, and the upload of a release.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DownloadError, DownloadHTTPError, ValueError } from '../../updater/core/errors.js';
import { errorCode } from '../../updater/node-io/index.js';

const MAX_ANSWER_BYTES = 1024 * 1024;

const POLL_MS = 250;
const WAIT_LIMIT_MS = 30 * 60_000;
/** How long a waiting client tolerates an unreachable service (an API process restarting). */
const UNREACHABLE_LIMIT_MS = 2 * 60_000;

export class ServiceClient {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  /**
   * One API call; its JSON answer, or DownloadHTTPError with the service's message. With
   * `body.absent`, that status (404: nothing there) resolves undefined instead.
   */
  async request(
    method: string,
    path: string,
    body?: { json?: unknown; file?: string; length?: number; absent?: number },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each caller reads its route's JSON answer by its own type
  ): Promise<any> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: RequestInit['body'];
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body?.file !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(body.length);
      payload = Readable.toWeb(createReadStream(body.file));
    }
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      body: payload,
      duplex: body?.file ? 'half' : undefined,
    };
    const res = await fetch(`${this.base}/api/v1${path}`, init).catch((e: unknown) => {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ECONNRESET) is its cause.
      const reason = errorCode((e as { cause?: unknown }).cause) ?? (e as Error).message;
      throw new DownloadError(`${method} ${path}: cannot reach the service at ${this.base} (${reason})`, { cause: e });
    });
    if (body?.absent !== undefined && res.status === body.absent) {
      await res.body?.cancel();
      return undefined;
    }
    const text = await readAnswer(res, MAX_ANSWER_BYTES);
    if (text === undefined)
      throw new DownloadHTTPError(`the server's answer to ${method} ${path} is too long`, res.status);
    let parsed: { error?: unknown } | undefined;
    try {
      parsed = JSON.parse(text) as { error?: unknown };
    } catch {
      parsed = undefined; // not JSON (a proxy's error page): the status and the text speak below
    }
    if (!res.ok)
      throw new DownloadHTTPError(
        `${method} ${path}: ${res.status} ${typeof parsed?.error === 'string' ? parsed.error : res.statusText}`,
        res.status,
      );
    return parsed;
  }
}

/** The answer's body as text, read no further than `maxBytes` (undefined past it). */
async function readAnswer(res: Response, maxBytes: number): Promise<string | undefined> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) return undefined; // leaving the loop cancels the rest of the body
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** A client of the service at `server` (https://, or http:// to this machine) holding `token`. */
export function serviceClient(server: string | undefined, token: string | undefined): ServiceClient {
  if (!server) throw new ValueError('--server URL is required');
  if (!token) throw new ValueError('--token is required (or set ELECTRON_TUF_TOKEN)');
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new ValueError(`--server must be a URL, got ${JSON.stringify(server)}`, { cause: error });
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
  ) {
    throw new ValueError(
      '--server must be https:// (http:// only to this machine): the token travels with every request',
    );
  }
  return new ServiceClient(url.href.replace(/\/+$/, ''), token);
}

/**
 * Polls task `task` until it is settled (or WAIT_LIMIT_MS passed). The task is recorded: an
 * API process restarting meanwhile (unreachable, or a gateway's 502-504) is waited out.
 */
export async function waitForTask(
  client: ServiceClient,
  task: string,
  log: (line: string) => void,
): Promise<{ state: string; error?: string; result?: unknown }> {
  log(`waiting for task ${task} to be published...`);
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let unreachableSince: number | undefined;
  for (;;) {
    try {
      const t = (await client.request('GET', `/tasks/${task}`)) as { state: string; error?: string; result?: unknown };
      if (t.state !== 'pending') return t;
      unreachableSince = undefined;
    } catch (e) {
      if (!isTransient(e)) throw e;
      if (unreachableSince === undefined) log(`${(e as Error).message}; asking again`);
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince > UNREACHABLE_LIMIT_MS) throw e;
    }
    if (Date.now() > deadline) throw new ValueError(`task ${task} is still pending; check it later`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The service unreachable or its gateway failing: worth asking again (a refusal is not). */
function isTransient(e: unknown): boolean {
  if (e instanceof DownloadHTTPError) return e.status === 502 || e.status === 503 || e.status === 504;
  return e instanceof DownloadError;
}

export interface RemoteRelease {
  version?: string;
  platform?: string;
  arch?: string;
  channel?: string;
  notes?: string;
  staging?: number;
}

/**
 * Uploads each installer (hashed first, then streamed; the service checks length and hash) and
 * records the release on repository `repo`; returns its task id. The service validates the rest.
 */
export async function submitRelease(
  client: ServiceClient,
  repo: string,
  files: string[],
  release: RemoteRelease,
  log: (line: string) => void,
): Promise<string> {
  if (files.length === 0) throw new ValueError('missing installer file(s)');
  const repoPath = `/repositories/${encodeURIComponent(repo)}`;
  const installers = [];
  for (const file of files) {
    const { size } = await stat(file);
    const sha256 = await sha256Of(file);
    log(`uploading ${basename(file)} (${size} bytes)...`);
    await uploadInstaller(client, `${repoPath}/uploads/${sha256}`, file, size);
    installers.push({ name: basename(file), length: size, sha256 });
  }
  return (
    (await client.request('POST', `${repoPath}/releases`, { json: { ...release, installers } })) as { task: string }
  ).task;
}

/** Where the service wants an upload: straight to its object store (presigned), or through the API. */
interface UploadPlan {
  direct?: boolean;
  url?: string;
  headers?: Record<string, string>;
}

/**
 * Uploads one installer the way the service offers: a presigned PUT straight to its object store
 * (sent without our token: the URL carries its own short-lived signature), or a PUT to the API
 * (disk storage, or a service from before presigned uploads, which answers 404 to the question).
 */
async function uploadInstaller(client: ServiceClient, path: string, file: string, length: number): Promise<void> {
  let plan: UploadPlan | undefined;
  try {
    plan = (await client.request('POST', path, { json: { length } })) as UploadPlan;
  } catch (e) {
    if (!(e instanceof DownloadHTTPError) || e.status !== 404) throw e;
  }
  if (!plan?.direct) {
    await client.request('PUT', path, { file, length });
    return;
  }
  const url = new URL(String(plan.url));
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValueError(`the service offered an upload URL that is not http(s): ${url.protocol}`);
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'PUT',
    headers: { ...plan.headers, 'content-length': String(length) },
    body: Readable.toWeb(createReadStream(file)) as RequestInit['body'],
    duplex: 'half',
  };
  const res = await fetch(url, init);
  const text = (await readAnswer(res, MAX_ANSWER_BYTES)) ?? '';
  if (!res.ok)
    throw new DownloadHTTPError(
      `uploading ${basename(file)} to the object store: ${res.status} ${text.slice(0, 200)}`,
      res.status,
    );
}
