/**
 * Differential downloads of an AppImage install with no installer kept (the first update after
 * installing from a website): the running AppImage (`$APPIMAGE`) is the source of local chunks
 * when it is byte for byte the signed installer of the running version, checked in full first.
 * A real repository made with the publisher (`repo add` makes the AppImages' chunk maps), over
 * real HTTP; the app updater is the real one with installKind AppImage.
 */
import { readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changedCopy, pseudoRandomBytes } from '../helpers/chunk-maps.js';
import { cleanupTempDirs, tempDir } from './fixtures.js';
import { ChunkedRepo, diffApp, update, type DiffApp } from './differential-fixtures.js';

const SIZE = 1536 * 1024;
const OLD = pseudoRandomBytes(SIZE, 'appimage 1.0.0');
const NEW = changedCopy(OLD, 0.01, 4, 'appimage 1.1.0');
const name = (version: string) => `MyApp-${version}.AppImage`;
const NEW_NAME = `.${name('1.1.0')}`; // stored as <hash>.MyApp-1.1.0.AppImage

let repo: ChunkedRepo;

beforeEach(async () => {
  repo = await ChunkedRepo.create();
  await repo.publish('1.0.0', OLD, {}, name('1.0.0'));
});
afterEach(async () => {
  await repo.close();
  await cleanupTempDirs();
});

/**
 * An app 1.0.0 running from an AppImage holding `bytes`, with nothing in its cache yet; with
 * `link`, `$APPIMAGE` names a symlink to it (a launcher's link).
 */
async function runningFrom(bytes: Uint8Array, options: { disableDifferential?: boolean; link?: boolean } = {}) {
  const dir = await tempDir('etuf-appimage-');
  const appImage = join(dir, 'MyApp.AppImage');
  await writeFile(appImage, bytes, { mode: 0o755 });
  const linked = join(dir, 'MyApp-link.AppImage');
  if (options.link) await symlink(appImage, linked);
  const env = { APPIMAGE: options.link ? linked : appImage };
  const app = await diffApp(repo, '1.0.0', { dir, installKind: 'AppImage', env });
  app.updater.disableDifferentialDownload = options.disableDifferential ?? false;
  return { app, appImage };
}

const built = (app: DiffApp) => app.lines.some((l) => l.includes('differential download of 1.1.0/'));
const usedRunning = (app: DiffApp) => app.lines.some((l) => l.includes('building from the running'));

describe('differential download of an AppImage install', () => {
  it('builds the update from the running AppImage when no installer was kept', async () => {
    const { app, appImage } = await runningFrom(OLD);
    await repo.publish('1.1.0', NEW, {}, name('1.1.0'));

    expect((await update(app)).equals(NEW)).toBe(true);
    expect(usedRunning(app)).toBe(true);
    expect(built(app)).toBe(true);
    expect(repo.server.served(NEW_NAME)).toBeLessThan(NEW.length * 0.1);
    // Only read: the file the user runs is untouched until the update is installed.
    expect((await readFile(appImage)).equals(OLD)).toBe(true);
  });

  it('a symlinked $APPIMAGE is resolved once: the file checked is the file the build reads (no full download)', async () => {
    const { app, appImage } = await runningFrom(OLD, { link: true });
    await repo.publish('1.1.0', NEW, {}, name('1.1.0'));

    expect((await update(app)).equals(NEW)).toBe(true);
    // Without the resolution the build's O_NOFOLLOW open refused the link after the full check,
    // and the whole installer was downloaded.
    expect(repo.server.served(NEW_NAME)).toBeLessThan(NEW.length * 0.1);
    expect(built(app)).toBe(true);
    const resolved = await realpath(appImage);
    expect(app.lines.some((l) => l.includes(`building from the running ${resolved} (`))).toBe(true);
  });

  it('a running AppImage that is not the signed one (same size, one byte differs) is not used: a full download', async () => {
    const other = Buffer.from(OLD);
    other[SIZE / 2] ^= 0xff;
    const { app } = await runningFrom(other);
    await repo.publish('1.1.0', NEW, {}, name('1.1.0'));

    expect((await update(app)).equals(NEW)).toBe(true);
    expect(app.lines.some((l) => l.includes('MyApp.AppImage is not the signed 1.0.0/'))).toBe(true);
    expect(built(app)).toBe(false);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
  });

  it('the running version no longer listed (withdrawn): a full download, quietly', async () => {
    const { app } = await runningFrom(OLD);
    await repo.publish('1.1.0', NEW, {}, name('1.1.0'));
    await repo.withdraw('1.0.0');

    expect((await update(app)).equals(NEW)).toBe(true);
    expect(usedRunning(app)).toBe(false);
    expect(app.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
  });

  it('disableDifferentialDownload: the running AppImage is not even read', async () => {
    const { app } = await runningFrom(OLD, { disableDifferential: true });
    await repo.publish('1.1.0', NEW, {}, name('1.1.0'));

    expect((await update(app)).equals(NEW)).toBe(true);
    expect(app.lines.some((l) => l.includes('MyApp.AppImage'))).toBe(false);
    expect(repo.server.served(NEW_NAME)).toBe(NEW.length);
  });
});
