/**
 * Pieces of electron-updater's API that are not the updater itself: UpdaterSignal (typed event
 * helpers), NoOpLogger, the download notification's texts, the default isUpdateSupported.
 */
import type { EventEmitter } from 'node:events';
import { release as osRelease } from 'node:os';
import semver from 'semver';
import type { AuthInfo, LoginCallback } from './electron-host.js';
import type {
  DownloadNotification,
  Logger,
  ProgressInfo,
  TufAppUpdaterEvents,
  UpdateDownloadedEvent,
  UpdateInfo,
} from './types.js';

/** `autoUpdater.signals.progress(...)` and friends: `on()` with the handler's type spelled out. */
export class UpdaterSignal {
  constructor(private readonly emitter: EventEmitter) {}

  login(handler: (authInfo: AuthInfo, callback: LoginCallback) => void): void {
    this.emitter.on('login', handler);
  }

  progress(handler: (info: ProgressInfo) => void): void {
    this.emitter.on('download-progress', handler);
  }

  updateDownloaded(handler: (info: UpdateDownloadedEvent) => void): void {
    this.emitter.on('update-downloaded', handler);
  }

  updateCancelled(handler: (info: UpdateInfo) => void): void {
    this.emitter.on('update-cancelled', handler);
  }
}

/** A logger that drops everything (`autoUpdater.logger = new NoOpLogger()`). */
export class NoOpLogger implements Logger {
  info(): void {}
  warn(): void {}
  error(): void {}
}

/** electron-updater's default texts. */
export const DEFAULT_DOWNLOAD_NOTIFICATION: DownloadNotification = {
  title: 'A new update is ready to install',
  body: '{appName} version {version} has been downloaded and will be automatically installed on exit',
};

export function formatDownloadNotification(
  version: string,
  appName: string,
  notification: DownloadNotification = DEFAULT_DOWNLOAD_NOTIFICATION,
): DownloadNotification {
  const fill = (text: string) => text.replace('{appName}', appName).replace('{version}', version);
  return { title: fill(notification.title), body: fill(notification.body) };
}

/** Refuses a release whose signed minimumSystemVersion is above this OS's `os.release()`. */
export function osSupports(info: UpdateInfo, log: Logger, osVersion: string = osRelease()): boolean {
  const minimum = semver.coerce(info.minimumSystemVersion ?? '');
  const current = semver.coerce(osVersion);
  if (!minimum || !current || semver.gte(current, minimum)) return true;
  log.info(`${info.version} needs OS version ${info.minimumSystemVersion} or later; this is ${osVersion}`);
  return false;
}

/** electron-updater's event-name constants and helpers. */
export const DOWNLOAD_PROGRESS = 'download-progress';
export const UPDATE_DOWNLOADED = 'update-downloaded';
export type UpdaterEvents = keyof TufAppUpdaterEvents;
export type LoginHandler = (authInfo: AuthInfo, callback: LoginCallback) => void;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- electron-updater's signature
export function addHandler(emitter: EventEmitter, event: UpdaterEvents, handler: (...args: any[]) => void): void {
  emitter.on(event, handler);
}
