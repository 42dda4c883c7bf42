/** electron-tuf/client: the TUF client (spec section 5) with its default network and storage. */
export {
  Updater,
  DEFAULT_CONFIG,
  type UpdaterConfig,
  type UpdaterOptions,
  type TraceEvent,
  type DownloadTargetOptions,
} from './updater.js';
export { TrustedMetadataSet } from './trusted-metadata-set.js';
export { OWNED_CHUNKS, type Fetcher, type FetchRequest, type FetchResponse } from './fetcher.js';
export { HttpFetcher, type HttpFetcherOptions } from './http-fetcher.js';
export { FetchApiFetcher, type FetchApiFetcherOptions, type FetchFunction } from './fetch-api-fetcher.js';
export type { DownloadProgress } from './download.js';
export * from '../core/errors.js';
