/**
 * Set-up for the differential download tests: a real repository made with the publisher
 * (`repo init`, `repo add`, which makes the chunk maps; hand-made or hostile maps signed with
 * `addTargets`: test/helpers/chunk-maps.ts),
 * served over real HTTP with single byte ranges, and hooks that let a test answer requests for
 * an installer itself (a hostile mirror). Apps are TufAppUpdaters on a NodeHost using the
 * default fetcher (HttpFetcher), logging to an array.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { initRepository, removeRelease, resolveFile, repositoryPaths } from '../../publisher/index.js';
import { TufAppUpdater, type TufAppUpdaterOptions } from '../../updater/electron/app-updater.js';
import { NodeHost, type NodeHostOptions } from '../../updater/electron/electron-host.js';
import type { Logger, TufAppUpdaterEvents } from '../../updater/electron/types.js';
import { publishWithChunkMap, writeInstaller, type PublishOptions } from '../helpers/chunk-maps.js';
import { tempDir } from './fixtures.js';

export const fileNameOf = (version: string): string => `MyApp-${version}.tar.gz`;

/** What a hook sees of a request; it answers with `res` and returns true, or returns false. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The requested file's bytes. */
  body: Buffer;
  /** The single range asked for, `[first, last]` inclusive. */
  range?: [number, number];
  /** Counts bytes a hook sends, into `served`. */
  count: (bytes: number) => void;
}

export type Hook = (exchange: Exchange) => boolean;

export interface RangeServer {
  metadataUrl: string;
  targetsUrl: string;
  /** Every request: its URL and Range header. */
  requests: Array<{ url: string; range?: string }>;
  /** Body bytes sent per URL ending with `suffix`. */
  served(suffix: string): number;
  hook(fn: Hook): void;
  clearHooks(): void;
  close(): Promise<void>;
}

/** Serves a repository directory (publisher's resolveFile: nothing outside it), one byte range at most. */
export async function serveWithRanges(repo: string): Promise<RangeServer> {
  const paths = repositoryPaths(repo);
  const roots = { metadata: paths.metadata, targets: paths.targets };
  const requests: RangeServer['requests'] = [];
  const sent: Array<{ url: string; bytes: number }> = [];
  let hooks: Hook[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ url, range: req.headers.range });
    res.on('error', () => undefined);
    void (async () => {
      const file = await resolveFile(roots, url);
      if (!file) return void res.writeHead(404).end();
      const body = await readFile(file);
      const exchange: Exchange = {
        req,
        res,
        body,
        range: parseRange(req.headers.range, body.length),
        count: (bytes) => void sent.push({ url, bytes }),
      };
      if (hooks.some((hook) => hook(exchange))) return;
      answer(exchange);
    })().catch(() => res.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    metadataUrl: `${origin}/metadata`,
    targetsUrl: `${origin}/targets`,
    requests,
    served: (suffix) => sent.filter((s) => s.url.endsWith(suffix)).reduce((sum, s) => sum + s.bytes, 0),
    hook: (fn) => void hooks.push(fn),
    clearHooks: () => void (hooks = []),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The honest answer: 206 for a satisfiable single range, else 200 with the whole file. */
export function answer({ res, body, range, count }: Exchange): void {
  if (!range) {
    res.writeHead(200, { 'content-length': body.length }).end(body);
    count(body.length);
    return;
  }
  const [first, last] = range;
  res.writeHead(206, { 'content-length': last - first + 1, 'content-range': `bytes ${first}-${last}/${body.length}` });
  res.end(body.subarray(first, last + 1));
  count(last - first + 1);
}

function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return first <= last ? [first, last] : undefined;
}

/** A repository made with the publisher, served with byte ranges. */
export class ChunkedRepo {
  private constructor(
    readonly dir: string,
    readonly repo: string,
    readonly keys: string,
    readonly root: Uint8Array,
    readonly server: RangeServer,
  ) {}

  static async create(): Promise<ChunkedRepo> {
    const dir = await tempDir('etuf-diff-');
    const repo = join(dir, 'repo');
    const keys = join(dir, 'keys');
    const init = await initRepository({ repo, keys });
    const server = await serveWithRanges(repo);
    return new ChunkedRepo(dir, repo, keys, await readFile(init.trustedRoot), server);
  }

  /**
   * `repo add` of the installer with its chunk map (or the hand-made or hostile one in `options`);
   * its kind is the file name's (default: the release's tar.gz).
   */
  async publish(
    version: string,
    bytes: Uint8Array,
    options: PublishOptions = {},
    name = fileNameOf(version),
  ): Promise<void> {
    const installer = await writeInstaller(join(this.dir, 'builds', version), name, bytes);
    const target = { repo: this.repo, keys: this.keys, metadataUrl: this.server.metadataUrl, root: this.root };
    await publishWithChunkMap(target, version, installer, bytes, options);
  }

  /** `repo remove`: the release's installers leave the signed metadata and the indexes. */
  async withdraw(version: string): Promise<void> {
    await removeRelease({ repo: this.repo, keys: this.keys, version });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

export interface DiffApp {
  updater: TufAppUpdater;
  dir: string;
  cacheDir: string;
  lines: string[];
  events: Array<{ name: keyof TufAppUpdaterEvents; args: unknown[] }>;
  of<K extends keyof TufAppUpdaterEvents>(name: K): TufAppUpdaterEvents[K][];
}

/** An installed app at `version` updating from `repo` (default fetcher, over HTTP). */
export async function diffApp(
  repo: ChunkedRepo,
  version: string,
  options: Partial<TufAppUpdaterOptions> & Pick<NodeHostOptions, 'netFetch' | 'env'> & { dir?: string } = {},
): Promise<DiffApp> {
  const { dir: givenDir, netFetch, env, ...rest } = options;
  const dir = givenDir ?? (await tempDir('etuf-diff-app-'));
  const lines: string[] = [];
  const logger: Logger = {
    info: (m) => void lines.push(`info ${String(m)}`),
    warn: (m) => void lines.push(`warn ${String(m)}`),
    error: (m) => void lines.push(`error ${String(m)}`),
    debug: (m) => void lines.push(`debug ${m}`),
  };
  const updater = new TufAppUpdater({
    host: new NodeHost({ version, userDataPath: join(dir, 'userData'), netFetch, env }),
    metadataUrl: repo.server.metadataUrl,
    targetsUrl: repo.server.targetsUrl,
    trustedRoot: repo.root,
    platform: 'linux',
    arch: 'x64',
    installKind: 'tar.gz',
    logger,
    tufConfig: { readTimeoutMs: 5_000 },
    ...rest,
  });
  updater.autoDownload = false;
  const events: DiffApp['events'] = [];
  for (const name of ['download-progress', 'update-downloaded', 'update-cancelled', 'error'] as const)
    updater.on(name, (...args: unknown[]) => void events.push({ name, args }));
  return {
    updater,
    dir,
    cacheDir: join(dir, 'userData', 'electron-tuf'),
    lines,
    events,
    of: <K extends keyof TufAppUpdaterEvents>(name: K) =>
      events.filter((e) => e.name === name).map((e) => e.args as TufAppUpdaterEvents[K]),
  };
}

/** checkForUpdates() then downloadUpdate(); resolves with the downloaded file's bytes. */
export async function update(app: DiffApp): Promise<Buffer> {
  const result = await app.updater.checkForUpdates();
  if (!result?.isUpdateAvailable) throw new Error('no update offered');
  const [file] = await app.updater.downloadUpdate();
  return readFile(file);
}
