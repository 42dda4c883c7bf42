/**
 * macOS zip: the verified zip is handed to Electron's built-in autoUpdater (Squirrel.Mac),
 * which swaps the .app bundle safely and checks that the new bundle's code signature meets the
 * running app's designated requirement. Squirrel only downloads from a URL, so the zip is
 * served from 127.0.0.1 on a random port, under a random 256-bit path token: other local
 * processes can neither guess the feed nor make Squirrel fetch anything we did not verify.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../../node-io/error-code.js';
import { InstallError } from '../errors.js';
import type { InstallerKind, Platform } from '../../release/index.js';
import type { SquirrelUpdater } from '../electron-host.js';
import type { InstallContext, Installer } from './types.js';

/** Squirrel unzips and checks signatures; a big app takes a while, a hung one must not hang us. */
export const SQUIRREL_TIMEOUT_MS = 10 * 60_000;

export interface ZipFeed {
  /** What setFeedURL gets: a Squirrel "json" feed naming the zip. */
  feedUrl: string;
  zipUrl: string;
  close(): Promise<void>;
}

/** Serves `zipPath` on 127.0.0.1 behind a random path token until closed. */
export async function startZipFeed(zipPath: string): Promise<ZipFeed> {
  const size = (await stat(zipPath)).size;
  const token = randomBytes(32).toString('hex');
  let zipUrl = '';
  const server = http.createServer((req, res) => {
    res.on('error', () => {});
    const [tokenPart, name] = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.split('/').slice(1) as [
      string?,
      string?,
    ];
    if (!tokenMatches(tokenPart, token) || req.method !== 'GET') {
      res.writeHead(404).end();
    } else if (name === 'feed.json') {
      const body = JSON.stringify({ url: zipUrl });
      res
        .writeHead(200, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'Cache-Control': 'no-store',
        })
        .end(body);
    } else if (name === 'update.zip') {
      res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': size, 'Cache-Control': 'no-store' });
      createReadStream(zipPath)
        .on('error', () => res.destroy())
        .pipe(res);
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  zipUrl = `${origin}/${token}/update.zip`;
  return {
    feedUrl: `${origin}/${token}/feed.json`,
    zipUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function tokenMatches(candidate: string | undefined, token: string): boolean {
  if (candidate === undefined || candidate.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(candidate), Buffer.from(token));
}

/** Points Squirrel at the feed and waits until it has downloaded (and checked) the update. */
export function handToSquirrel(
  squirrel: SquirrelUpdater,
  feedUrl: string,
  timeoutMs = SQUIRREL_TIMEOUT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      squirrel.removeListener('update-downloaded', onDownloaded);
      squirrel.removeListener('error', onError);
      if (error === undefined) resolve();
      else
        reject(
          error instanceof InstallError
            ? error
            : new InstallError(`Squirrel.Mac refused the update: ${describeError(error)}`, { cause: error }),
        );
    };
    const onDownloaded = (): void => finish();
    const onError = (error: unknown): void => finish(error ?? new Error('unknown error'));
    const timer = setTimeout(
      () => finish(new InstallError(`Squirrel.Mac did not take the update within ${timeoutMs} ms`)),
      timeoutMs,
    );
    squirrel.on('update-downloaded', onDownloaded);
    squirrel.on('error', onError);
    try {
      squirrel.setFeedURL({ url: feedUrl, serverType: 'json' });
      squirrel.checkForUpdates();
    } catch (error) {
      finish(error);
    }
  });
}

export class SquirrelMacInstaller implements Installer {
  readonly name = 'Squirrel.Mac';

  constructor(private readonly timeoutMs = SQUIRREL_TIMEOUT_MS) {}

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return kind === 'zip' && platform === 'darwin';
  }

  async install(ctx: InstallContext): Promise<void> {
    const squirrel = ctx.host.squirrelUpdater();
    const feed = await startZipFeed(ctx.file);
    try {
      await handToSquirrel(squirrel, feed.feedUrl, this.timeoutMs);
    } finally {
      await feed.close();
    }
    ctx.log.info(`Squirrel.Mac accepted ${ctx.version}`);
    // Squirrel installs on quit by itself; quitAndInstall also starts the new version.
    if (ctx.relaunch) squirrel.quitAndInstall();
    else ctx.host.quit();
  }
}
