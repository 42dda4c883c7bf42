/**
 * electron-tuf: secure auto-updates for Electron apps. The app updater (electron-updater's
 * surface), the TUF client it is built on, and the one error hierarchy.
 */
export * from './electron/index.js';
export {
  Updater,
  HttpFetcher,
  FetchApiFetcher,
  type UpdaterOptions,
  type UpdaterConfig,
  type Fetcher,
  type FetchRequest,
  type FetchResponse,
} from './client/index.js';
export * from './core/errors.js';
export * from './release/index.js';
