/**
 * The demo app's UpdateController over a fake updater that emits TufAppUpdater's events in
 * plain Node: each event becomes the state the window shows, the actions reach the updater,
 * and error states carry a message for the user without the updater's paths and URLs.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UpdateState } from '../../app/ipc-contract.js';
import { startPeriodicChecks, TufUpdateController, userMessage, type AppUpdater } from '../../app/update-controller.js';
import {
  CancelledError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  ValueError,
} from '../../updater/core/errors.js';
import { InstallError } from '../../updater/electron/errors.js';
import type { TufAppUpdaterEvents, UpdateCheckResult, UpdateInfo } from '../../updater/electron/index.js';

const INFO: UpdateInfo = {
  version: '1.1.0',
  releaseDate: '2025-03-01T10:00:00Z',
  releaseNotes: 'Faster start-up.',
  channel: 'stable',
  files: [{ url: '1.1.0/app-1.1.0.tar.gz', kind: 'tar.gz', size: 1000, sha256: 'ab'.repeat(32), sha512: '' }],
  path: '1.1.0/app-1.1.0.tar.gz',
  sha512: '',
};
const RELEASE = { version: '1.1.0', releaseNotes: 'Faster start-up.', releaseDate: '2025-03-01T10:00:00Z' };
const PROGRESS = { total: 1000, delta: 400, transferred: 400, percent: 40, bytesPerSecond: 2000 };

/** Emits what a test tells it to; its methods resolve as the test sets them up. */
class FakeUpdater extends EventEmitter<TufAppUpdaterEvents> implements AppUpdater {
  readonly currentVersion = { version: '1.0.0' };
  checkForUpdates = vi.fn(async (): Promise<UpdateCheckResult | null> => null);
  downloadUpdate = vi.fn(async (): Promise<string[]> => ['/cache/pending/app-1.1.0.tar.gz']);
  quitAndInstall = vi.fn(async (_isSilent?: boolean, _isForceRunAfter?: boolean): Promise<boolean> => true);
}

function setup(): { updater: FakeUpdater; controller: TufUpdateController; states: UpdateState[] } {
  const updater = new FakeUpdater();
  const controller = new TufUpdateController(updater);
  const states: UpdateState[] = [];
  controller.on('state', (state) => states.push(state));
  return { updater, controller, states };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('TufUpdateController: events to states', () => {
  it('starts idle with the running version', () => {
    const { controller } = setup();
    expect(controller.getState()).toEqual({ currentVersion: '1.0.0', status: 'idle' });
  });

  it('maps a check that finds nothing', () => {
    const { updater, states } = setup();
    updater.emit('checking-for-update');
    updater.emit('update-not-available', { ...INFO, version: '1.0.0' });
    expect(states).toEqual([
      { currentVersion: '1.0.0', status: 'checking' },
      { currentVersion: '1.0.0', status: 'not-available' },
    ]);
  });

  it('maps available, progress and downloaded, keeping the release on every state', () => {
    const { updater, states } = setup();
    updater.emit('checking-for-update');
    updater.emit('update-available', INFO);
    updater.emit('download-progress', PROGRESS);
    updater.emit('download-progress', { ...PROGRESS, delta: 600, transferred: 1000, percent: 100 });
    updater.emit('update-downloaded', { ...INFO, downloadedFile: '/cache/pending/app-1.1.0.tar.gz' });
    expect(states).toEqual([
      { currentVersion: '1.0.0', status: 'checking' },
      { currentVersion: '1.0.0', status: 'available', ...RELEASE },
      {
        currentVersion: '1.0.0',
        status: 'downloading',
        ...RELEASE,
        progress: { percent: 40, transferred: 400, total: 1000, bytesPerSecond: 2000 },
      },
      {
        currentVersion: '1.0.0',
        status: 'downloading',
        ...RELEASE,
        progress: { percent: 100, transferred: 1000, total: 1000, bytesPerSecond: 2000 },
      },
      { currentVersion: '1.0.0', status: 'downloaded', ...RELEASE },
    ]);
  });

  it('passes no download path, file list or other updater detail to the state', () => {
    const { updater, controller } = setup();
    updater.emit('update-downloaded', { ...INFO, downloadedFile: '/home/user/.config/app/pending/x.tar.gz' });
    expect(JSON.stringify(controller.getState())).not.toMatch(/pending|tar\.gz|sha/);
  });

  it('leaves out empty notes and dates', () => {
    const { updater, controller } = setup();
    updater.emit('update-available', { ...INFO, releaseNotes: null, releaseDate: '' });
    expect(controller.getState()).toEqual({ currentVersion: '1.0.0', status: 'available', version: '1.1.0' });
  });

  it('goes back to available when the download is cancelled', () => {
    const { updater, controller } = setup();
    updater.emit('update-available', INFO);
    updater.emit('download-progress', PROGRESS);
    updater.emit('update-cancelled', INFO);
    expect(controller.getState()).toEqual({ currentVersion: '1.0.0', status: 'available', ...RELEASE });
  });

  it('turns an error into a user message named after what was under way', () => {
    const { updater, controller } = setup();
    updater.emit('checking-for-update');
    updater.emit(
      'error',
      new ExpiredMetadataError('timestamp.json expired at http://10.0.0.1/metadata'),
      'Cannot check for updates: …',
    );
    const state = controller.getState();
    expect(state).toEqual({
      currentVersion: '1.0.0',
      status: 'error',
      error: expect.stringMatching(/^Could not check for updates: .*expired.*\(ExpiredMetadataError\)\.$/) as unknown,
    });
    expect(state.error).not.toContain('10.0.0.1');

    updater.emit('update-available', INFO);
    updater.emit('download-progress', PROGRESS);
    updater.emit('error', new LengthOrHashMismatchError('sha256 mismatch for /tmp/x'));
    expect(controller.getState().error).toMatch(/^Could not download the update: .*\(LengthOrHashMismatchError\)\.$/);
  });

  it('does not name errors that are not electron-tuf’s', () => {
    expect(userMessage('checking', new TypeError('x is undefined'))).toBe(
      'Could not check for updates: something unexpected went wrong.',
    );
  });

  it('stops following the updater once disposed', () => {
    const { updater, controller, states } = setup();
    controller.dispose();
    updater.emit('checking-for-update');
    expect(states).toEqual([]);
    expect(updater.listenerCount('checking-for-update')).toBe(0);
  });
});

describe('TufUpdateController: actions', () => {
  it('check() asks the updater to check', async () => {
    const { updater, controller } = setup();
    await controller.check();
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(1);
  });

  it('check() rejects with the updater’s failure (the state has it from the error event)', async () => {
    const { updater, controller } = setup();
    updater.checkForUpdates.mockRejectedValueOnce(new ExpiredMetadataError('expired'));
    await expect(controller.check()).rejects.toThrow(ExpiredMetadataError);
  });

  it('marks a download the updater reused without events as downloaded (autoDownload after a re-check)', async () => {
    const { updater, controller } = setup();
    updater.checkForUpdates.mockImplementationOnce(async () => {
      updater.emit('checking-for-update');
      updater.emit('update-available', INFO);
      return { isUpdateAvailable: true, updateInfo: INFO, versionInfo: INFO, downloadPromise: Promise.resolve(['/f']) };
    });
    await controller.check();
    await flush();
    expect(controller.getState()).toEqual({ currentVersion: '1.0.0', status: 'downloaded', ...RELEASE });
  });

  it('ignores a background download that fails (the error event reports it)', async () => {
    const { updater, controller } = setup();
    updater.checkForUpdates.mockImplementationOnce(async () => {
      updater.emit('update-available', INFO);
      const failed = Promise.reject(new LengthOrHashMismatchError('bad'));
      failed.catch(() => undefined);
      updater.emit('error', new LengthOrHashMismatchError('bad'));
      return { isUpdateAvailable: true, updateInfo: INFO, versionInfo: INFO, downloadPromise: failed };
    });
    await controller.check();
    await flush();
    expect(controller.getState().status).toBe('error');
  });

  it('download() asks the updater and ends downloaded even when no event came', async () => {
    const { updater, controller } = setup();
    updater.emit('update-available', INFO);
    await controller.download();
    expect(updater.downloadUpdate).toHaveBeenCalledTimes(1);
    expect(controller.getState()).toEqual({ currentVersion: '1.0.0', status: 'downloaded', ...RELEASE });
  });

  it('download() rejects on cancellation and the release stays on offer', async () => {
    const { updater, controller } = setup();
    updater.emit('update-available', INFO);
    updater.downloadUpdate.mockImplementationOnce(async () => {
      updater.emit('update-cancelled', INFO);
      throw new CancelledError('cancelled');
    });
    await expect(controller.download()).rejects.toThrow(CancelledError);
    expect(controller.getState().status).toBe('available');
  });

  it('install() shows installing, then quits and installs with a relaunch', async () => {
    const { updater, controller, states } = setup();
    updater.emit('update-downloaded', { ...INFO, downloadedFile: '/f' });
    await controller.install();
    expect(updater.quitAndInstall).toHaveBeenCalledWith();
    expect(states.at(-1)).toEqual({ currentVersion: '1.0.0', status: 'installing', ...RELEASE });
  });

  it('install() that fails ends in an error state saying this version keeps running', async () => {
    const { updater, controller } = setup();
    updater.emit('update-downloaded', { ...INFO, downloadedFile: '/f' });
    updater.quitAndInstall.mockImplementationOnce(async () => {
      updater.emit('error', new InstallError('cannot move /opt/app aside'));
      return false;
    });
    await controller.install();
    expect(controller.getState()).toEqual({
      currentVersion: '1.0.0',
      status: 'error',
      error:
        'Could not install the update: the new version could not be put in place (InstallError). This version keeps running.',
    });
  });

  it('install() without a download leaves the decision (and the error) to the updater', async () => {
    const { updater, controller, states } = setup();
    await controller.install();
    expect(updater.quitAndInstall).toHaveBeenCalledTimes(1);
    expect(states).toEqual([]);
  });
});

describe('startPeriodicChecks', () => {
  it('checks at once and every interval, skips while an update is in progress, and stops', async () => {
    vi.useFakeTimers();
    const { updater, controller } = setup();
    const stop = startPeriodicChecks(controller, { intervalMs: 1000 });
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(2);

    updater.emit('update-available', INFO);
    updater.emit('download-progress', PROGRESS);
    await vi.advanceTimersByTimeAsync(1000);
    updater.emit('update-downloaded', { ...INFO, downloadedFile: '/f' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(2);

    updater.emit('error', new InstallError('x'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(3);

    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(3);
  });

  it('reports failed checks to onError instead of leaving them unhandled', async () => {
    const { updater, controller } = setup();
    updater.checkForUpdates.mockRejectedValue(new ExpiredMetadataError('expired'));
    const onError = vi.fn();
    const stop = startPeriodicChecks(controller, { intervalMs: 60_000, onError });
    await flush();
    stop();
    expect(onError).toHaveBeenCalledWith(expect.any(ExpiredMetadataError));
  });

  it('refuses a nonsensical interval', () => {
    const { controller } = setup();
    expect(() => startPeriodicChecks(controller, { intervalMs: 0 })).toThrow(ValueError);
  });
});
