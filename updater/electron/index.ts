/**
 * electron-tuf's app updater: what an Electron developer imports in the main process.
 * Nothing here loads 'electron' at import time (see electron-host.ts).
 */
export { TufAppUpdater, CACHE_DIR_NAME, type TufAppUpdaterOptions } from './app-updater.js';
export { CancellationToken } from './cancellation.js';
export { ChunkMismatchError, InstallError } from './errors.js';
export type {
  AuthInfo,
  DownloadNotification,
  Logger,
  LoginCallback,
  ProgressInfo,
  ReleaseNoteInfo,
  TufAppUpdaterEvents,
  UpdateCheckResult,
  UpdateDownloadedEvent,
  UpdateFileInfo,
  UpdateInfo,
  VerifyUpdateSupport,
} from './types.js';
export {
  electronHost,
  NodeHost,
  NET_PARTITION,
  type NetAccess,
  type ElectronHost,
  type NodeHostOptions,
  type QuitEvent,
  type RelaunchOptions,
  type SquirrelUpdater,
} from './electron-host.js';
export {
  EMBEDDED_DIR_NAME,
  EMBEDDED_ROOT_FILE,
  EMBEDDED_SETTINGS_FILE,
  embeddedDir,
  embeddedRootPath,
  embeddedSettingsPath,
  parseEmbeddedSettings,
  serializeEmbeddedSettings,
  type EmbeddedSettings,
} from './embedded-config.js';
export { channelsToRead, selectRelease, type Candidate, type ReleasePolicy, type Selection } from './discovery.js';
export { isStaged, stagingBucket } from './rollout.js';
export { PENDING_DIR, PENDING_FILE, type PendingUpdate } from './download-manager.js';
export * from './installers/index.js';
export { autoUpdater } from './auto-updater.js';
export {
  addHandler,
  DEFAULT_DOWNLOAD_NOTIFICATION,
  DOWNLOAD_PROGRESS,
  NoOpLogger,
  UPDATE_DOWNLOADED,
  UpdaterSignal,
  type LoginHandler,
  type UpdaterEvents,
} from './compat.js';
export { AppFetcher, type AppFetcherOptions } from './app-fetcher.js';
export { indexArchTiers } from './arch.js';
export { DEV_CONFIG_FILE, type FeedOptions, type UpdateConfig } from './feed.js';
