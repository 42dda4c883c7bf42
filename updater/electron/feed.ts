/**
 * Where the app updater finds its repository when the app does not pass URLs: setFeedURL(), an
 * update config file (updateConfigPath, or dev-app-update.json in dev mode), or the settings the
 * build hook embedded. Whatever the URLs, the trusted root comes from the build (or the config
 * file's `root`): a feed URL chooses a mirror, never what to trust.
 *
 * The config file (JSON):
 *   { "url": "https://updates.example.com/myapp" }                 metadata/ and targets/ under it
 *   { "metadataUrl": "...", "targetsUrl": "...", "channel": "beta", "root": "../repo/root.json" }
 * `root` is resolved from the file's folder.
 */
import { dirname, resolve } from 'node:path';
import { StorageError, ValueError } from '../core/errors.js';
import { FieldReader } from '../core/fields.js';
import { parseJsonBytes, readFileBounded } from '../node-io/index.js';
import { validateChannel } from '../release/index.js';
import type { EmbeddedSettings } from './embedded-config.js';

/** electron-updater's name for the dev config is dev-app-update.yml; ours is JSON. */
export const DEV_CONFIG_FILE = 'dev-app-update.json';
const CONFIG_MAX_BYTES = 16_384;
const MAX_URL_CHARS = 4096;

export interface Feed {
  /** What getFeedURL() answers: the base URL given, else the metadata URL. */
  url: string;
  metadataUrl: string;
  targetsUrl: string;
}

/** electron-updater's GenericServerOptions, as far as it applies, or TUF's two URLs. */
export interface FeedOptions {
  provider?: string;
  url?: string;
  metadataUrl?: string;
  targetsUrl?: string;
  channel?: string | null;
}

export interface UpdateConfig extends EmbeddedSettings {
  /** Absolute path of the trusted root to start from, if the file names one. */
  root?: string;
}

/** setFeedURL's argument: a base URL serving metadata/ and targets/, or the two URLs. */
export function parseFeed(options: string | FeedOptions): Feed {
  if (typeof options === 'string') return feedOfBase(options);
  if (options === null || typeof options !== 'object')
    throw new ValueError('setFeedURL takes a URL or { url } (or { metadataUrl, targetsUrl })');
  if (options.provider !== undefined && options.provider !== 'generic') {
    throw new ValueError(
      `provider ${JSON.stringify(options.provider)} is not a TUF repository: give the repository's base URL ({ url })`,
    );
  }
  if (options.metadataUrl !== undefined || options.targetsUrl !== undefined) {
    const metadataUrl = httpUrl(options.metadataUrl, 'metadataUrl');
    return { url: metadataUrl, metadataUrl, targetsUrl: httpUrl(options.targetsUrl, 'targetsUrl') };
  }
  if (typeof options.url !== 'string') throw new ValueError('setFeedURL needs a url');
  return feedOfBase(options.url);
}

function feedOfBase(url: string): Feed {
  const base = httpUrl(url, 'the feed URL').replace(/\/+$/, '');
  return { url, metadataUrl: `${base}/metadata`, targetsUrl: `${base}/targets` };
}

/** An absolute http(s) URL without query or fragment (file names are appended to it). */
function httpUrl(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > MAX_URL_CHARS) throw new ValueError(`${what} must be an http(s) URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new ValueError(`${what} ${JSON.stringify(value)} is not an absolute URL`, { cause: error });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValueError(`${what} ${JSON.stringify(value)} must be an http(s) URL`);
  if (url.search || url.hash)
    throw new ValueError(`${what} ${JSON.stringify(value)} must not have a query or fragment`);
  return value;
}

/** Reads an update config file (see the file comment); StorageError when it is missing. */
export async function readUpdateConfig(path: string): Promise<UpdateConfig> {
  const bytes = await readFileBounded(path, CONFIG_MAX_BYTES);
  if (!bytes) throw new StorageError(`no update config at ${path}`);
  const r = FieldReader.of(parseJsonBytes(bytes, path), path);
  const url = r.optionalString('url');
  if (url === undefined && !r.has('metadataUrl'))
    throw new ValueError(`${path}: set url (or metadataUrl and targetsUrl)`);
  const feed =
    url !== undefined
      ? feedOfBase(url)
      : parseFeed({ metadataUrl: r.optionalString('metadataUrl'), targetsUrl: r.optionalString('targetsUrl') });
  const channel = r.optionalString('channel');
  const settings: EmbeddedSettings = { metadataUrl: feed.metadataUrl, targetsUrl: feed.targetsUrl };
  if (channel !== undefined) settings.channel = validateChannel(channel);
  const root = r.optionalString('root');
  return root === undefined ? settings : { ...settings, root: resolve(dirname(path), root) };
}
