/**
 * `repo add|remove|list --server URL --token T`: the same commands against the repository
 * service (@electron-tuf/server) instead of a local repository, so CI holds a scoped token and
 * no signing key. A small HTTP client on Node's fetch: the app and the publisher gain no
 * dependency. `add` uploads each installer (hashed first, then streamed), records the release
 * and, unless --no-wait, waits until its task is published, with a progress line.
 * ELECTRON_TUF_TOKEN stands in for --token (keeping the token out of the process list).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { DownloadHTTPError, ValueError } from '../../updater/core/errors.js';
import { failureLine } from './errors.js';
import type { CliIO } from './io.js';

const USAGE = `usage: electron-tuf repo add <name> <file>... --server URL --token T --version V --platform P --arch A
                         [--channel C] [--staging PCT] [--notes-text TEXT] [--no-wait]
       electron-tuf repo remove <name> --version V [--channel C] --server URL --token T [--no-wait]
       electron-tuf repo list <name> --server URL --token T`;

const MAX_ANSWER_BYTES = 1024 * 1024;

/** The service's answers `repo list` prints (server/src/api/schemas.ts); printed only, never trusted. */
interface ReleasesAnswer {
  releases: {
    version: string;
    channel: string;
    platform: string;
    arch: string;
    staging?: number;
    installers: string[];
  }[];
}
interface PendingAnswer {
  pending: { kind: string; payload: { version?: string }; task: string }[];
}
const POLL_MS = 250;
const WAIT_LIMIT_MS = 30 * 60_000;

export class ServiceClient {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each caller reads its route's JSON answer by its own type
  async request(method: string, path: string, body?: { json?: unknown; file?: string; length?: number }): Promise<any> {
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
    const res = await fetch(`${this.base}/api/v1${path}`, init);
    const text = await readAnswer(res, MAX_ANSWER_BYTES);
    if (text === undefined)
      throw new DownloadHTTPError(`the server's answer to ${method} ${path} is too long`, res.status);
    let parsed: { error?: unknown } | undefined;
    try {
      parsed = JSON.parse(text) as { error?: unknown };
    } catch {
      parsed = undefined;
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

function clientOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ServiceClient {
  return serviceClient(
    values.server as string | undefined,
    (values.token as string | undefined) ?? env.ELECTRON_TUF_TOKEN,
  );
}

/** A client of the service at `server` (https://, or http:// to this machine) holding `token`. */
export function serviceClient(server: string | undefined, token: string | undefined): ServiceClient {
  if (!server) throw new ValueError('--server URL is required');
  if (!token) throw new ValueError('--token is required (or set ELECTRON_TUF_TOKEN)');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ValueError(`--server must be a URL, got ${JSON.stringify(server)}`);
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

/** Polls task `task` until it is settled (or WAIT_LIMIT_MS passed). */
export async function waitForTask(
  client: ServiceClient,
  task: string,
  log: (line: string) => void,
): Promise<{ state: string; error?: string }> {
  log(`waiting for task ${task} to be published...`);
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const t = (await client.request('GET', `/tasks/${task}`)) as { state: string; error?: string };
    if (t.state !== 'pending') return t;
    if (Date.now() > deadline) throw new ValueError(`task ${task} is still pending; check it later`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
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

export async function runRemoteCommand(argv: string[], io: CliIO): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const [name, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        version: { type: 'string' },
        platform: { type: 'string' },
        arch: { type: 'string' },
        channel: { type: 'string' },
        staging: { type: 'string' },
        'notes-text': { type: 'string' },
        'no-wait': { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    const client = clientOf(values, io.env);
    const repo = positionals[0];
    if (!repo) throw new ValueError('missing the repository name on the server');
    const repoPath = `/repositories/${encodeURIComponent(repo)}`;
    let task: string;
    if (name === 'list') {
      const [published, pending] = (await Promise.all([
        client.request('GET', `${repoPath}/releases`),
        client.request('GET', `${repoPath}/releases/pending`),
      ])) as [ReleasesAnswer, PendingAnswer];
      if (values.json) io.stdout(JSON.stringify({ ...published, ...pending }, null, 2));
      else {
        for (const r of published.releases)
          io.stdout(
            `${r.version}  ${r.channel}  ${r.platform}-${r.arch}${r.staging !== undefined ? `  staging ${r.staging}%` : ''}  ${r.installers.join(', ')}`,
          );
        for (const p of pending.pending) io.stdout(`pending ${p.kind} ${p.payload.version} (task ${p.task})`);
      }
      return 0;
    } else if (name === 'add') {
      const files = positionals.slice(1).map((f) => resolve(io.cwd, f));
      const staging = values.staging === undefined ? undefined : Number(values.staging);
      const release = {
        version: values.version,
        platform: values.platform,
        arch: values.arch,
        channel: values.channel,
        notes: values['notes-text'],
        staging,
      };
      task = await submitRelease(client, repo, files, release, (line) => io.stderr(line));
    } else if (name === 'remove') {
      if (!values.version) throw new ValueError('--version is required');
      const query = values.channel ? `?channel=${encodeURIComponent(values.channel)}` : '';
      task = (
        (await client.request('DELETE', `${repoPath}/releases/${encodeURIComponent(values.version)}${query}`)) as {
          task: string;
        }
      ).task;
    } else {
      throw new ValueError(`repo ${name ?? ''} is not available with --server (add, remove, list)`);
    }
    if (values['no-wait']) {
      io.stdout(values.json ? JSON.stringify({ task, state: 'pending' }) : `task ${task}`);
      return 0;
    }
    const done = await waitForTask(client, task, (line) => io.stderr(line));
    if (values.json) io.stdout(JSON.stringify({ task, ...done }));
    else
      io.stdout(
        done.state === 'succeeded'
          ? `published (task ${task})`
          : `failed: ${done.error ?? 'unknown error'} (task ${task})`,
      );
    return done.state === 'succeeded' ? 0 : 1;
  } catch (e) {
    io.stderr(failureLine(e, verbose));
    return 1;
  }
}
