/**
 * The shapes an Electron developer sees, named and shaped as in electron-updater so that code
 * written against its `autoUpdater` keeps working (UpdateInfo, UpdateCheckResult, ProgressInfo,
 * Logger, the event names).
 */
import type { InstallerKind } from '../core/release.js';
import type { CancellationToken } from './cancellation.js';

/** electron-updater's Logger: `console`, electron-log and most loggers fit. */
export interface Logger {
  info(message?: unknown): void;
  warn(message?: unknown): void;
  error(message?: unknown): void;
  debug?(message: string): void;
}

export interface UpdateFileInfo {
  /** Target path in the repository, e.g. `1.2.0/MyApp-1.2.0.tar.gz`. */
  url: string;
  kind: InstallerKind;
  /** Bytes, from signed targets metadata (absent in update-not-available's info). */
  size?: number;
  /** Hex digests from signed targets metadata. */
  sha256?: string;
  sha512?: string;
}

/** What is known about a release: from the signed channel index and the installer's target. */
export interface UpdateInfo {
  version: string;
  /** ISO 8601. */
  releaseDate: string;
  /** Plain text from signed metadata; render it as text, never as HTML. */
  releaseNotes?: string | null;
  releaseName?: string | null;
  /** The channel index the release was found in. */
  channel?: string;
  stagingPercentage?: number;
  /** The installer for this platform, arch and install kind. */
  files: UpdateFileInfo[];
  /** electron-updater compatibility: the first file's `url`. */
  path: string;
  /** electron-updater compatibility: the first file's sha512 (hex here, base64 there). */
  sha512: string;
}

export interface UpdateCheckResult {
  /** True when `updateInfo` is a release to download. */
  isUpdateAvailable: boolean;
  updateInfo: UpdateInfo;
  /** electron-updater's deprecated alias of updateInfo. */
  versionInfo: UpdateInfo;
  /** Set when autoDownload started the download: resolves with the downloaded file. */
  downloadPromise?: Promise<string[]>;
  cancellationToken?: CancellationToken;
}

/** `download-progress` payload (electron-updater's ProgressInfo). */
export interface ProgressInfo {
  total: number;
  /** Bytes received since the previous event. */
  delta: number;
  /** Bytes of the installer on disk (a resumed download starts above 0). */
  transferred: number;
  /** 0-100. */
  percent: number;
  /** Bytes received in this session per second of download time. */
  bytesPerSecond: number;
}

export interface UpdateDownloadedEvent extends UpdateInfo {
  downloadedFile: string;
}

/** Events and their arguments; `error` also gets a human-readable message, as in electron-updater. */
export interface TufAppUpdaterEvents {
  'checking-for-update': [];
  'update-available': [info: UpdateInfo];
  'update-not-available': [info: UpdateInfo];
  'download-progress': [progress: ProgressInfo];
  'update-downloaded': [event: UpdateDownloadedEvent];
  'update-cancelled': [info: UpdateInfo];
  error: [error: Error, message?: string];
}
