/**
 * The shapes an Electron developer sees, named and shaped as in electron-updater so that code
 * written against its `autoUpdater` keeps working (UpdateInfo, UpdateCheckResult, ProgressInfo,
 * Logger, the event names).
 */
import type { InstallerKind } from '../release/index.js';
import type { CancellationToken } from './cancellation.js';
import type { AuthInfo, LoginCallback } from './electron-host.js';

export type { AuthInfo, LoginCallback };

/** electron-updater's Logger: `console`, electron-log and most loggers fit. */
export interface Logger {
  info(message?: unknown): void;
  warn(message?: unknown): void;
  error(message?: unknown): void;
  debug?(message: string): void;
}

export interface UpdateFileInfo {
  /** Target path in the repository, e.g. `1.2.0/MyApp-1.2.0.tar.gz` (relative to the targets URL). */
  url: string;
  kind: InstallerKind;
  /** Bytes, from signed targets metadata (absent in update-not-available's info). */
  size?: number;
  /** Base64 SHA-512 from signed targets metadata, as in electron-updater; '' when not known. */
  sha512: string;
  /** Hex SHA-256 from signed targets metadata. */
  sha256?: string;
}

/** One release's notes, for `fullChangelog` (electron-updater's ReleaseNoteInfo). */
export interface ReleaseNoteInfo {
  readonly version: string;
  readonly note: string | null;
}

/** What is known about a release: from the signed channel index and the installer's target. */
export interface UpdateInfo {
  version: string;
  /** ISO 8601. */
  releaseDate: string;
  /**
   * Plain text from signed metadata; render it as text, never as HTML. With `fullChangelog`,
   * the notes of every release from the running one (excluded) to this one, newest first.
   */
  releaseNotes?: string | ReleaseNoteInfo[] | null;
  releaseName?: string | null;
  /** The channel index the release was found in. */
  channel?: string;
  stagingPercentage?: number;
  /** Lowest OS version the release runs on (`os.release()` terms), from signed metadata. */
  minimumSystemVersion?: string;
  /** The installer for this platform, arch and install kind. */
  files: UpdateFileInfo[];
  /** electron-updater compatibility: the first file's `url`. */
  path: string;
  /** electron-updater compatibility: the first file's sha512 (base64). */
  sha512: string;
}

export interface UpdateCheckResult {
  /** True when `updateInfo` is a release to download. */
  isUpdateAvailable: boolean;
  updateInfo: UpdateInfo;
  /** electron-updater's deprecated alias of updateInfo. */
  versionInfo: UpdateInfo;
  /** Set when autoDownload started the download: resolves with the downloaded file. */
  downloadPromise?: Promise<string[]> | null;
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

/** checkForUpdatesAndNotify's texts; `{appName}` and `{version}` are replaced. */
export interface DownloadNotification {
  title: string;
  body: string;
}

/** electron-updater's VerifyUpdateSupport (isUpdateSupported, isUserWithinRollout). */
export type VerifyUpdateSupport = (updateInfo: UpdateInfo) => boolean | Promise<boolean>;

/** Events and their arguments; `error` also gets a human-readable message, as in electron-updater. */
export interface TufAppUpdaterEvents {
  error: [error: Error, message?: string];
  /** A proxy asks for credentials: call back with them (or with nothing to give up). */
  login: [authInfo: AuthInfo, callback: LoginCallback];
  'checking-for-update': [];
  'update-available': [info: UpdateInfo];
  'update-not-available': [info: UpdateInfo];
  'download-progress': [progress: ProgressInfo];
  'update-downloaded': [event: UpdateDownloadedEvent];
  'update-cancelled': [info: UpdateInfo];
  /** After an AppImage update: the path the new version runs from (`$APPIMAGE`, updated in place). */
  'appimage-filename-updated': [path: string];
}
