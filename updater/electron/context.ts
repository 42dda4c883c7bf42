/**
 * What the app updater builds once per process, at its first check: where the repository is
 * (options, setFeedURL, an update config file, or the embedded settings), the TUF client over
 * it, the download manager, and this install's platform, arch and installer kind.
 */
import { join } from 'node:path';
import { ValueError } from '../core/errors.js';
import { validateArch, validatePlatform, type Arch, type InstallerKind, type Platform } from '../release/index.js';
import type { Fetcher } from '../client/fetcher.js';
import { readFileBounded } from '../node-io/index.js';
import { Updater, type TraceEvent } from '../client/updater.js';
import type { TufAppUpdaterOptions } from './app-updater-options.js';
import { DownloadManager } from './download-manager.js';
import type { ElectronHost, NetAccess } from './electron-host.js';
import {
  EMBEDDED_ROOT_MAX_BYTES,
  readEmbeddedRoot,
  readEmbeddedSettings,
  readEmbeddedSettingsIfAny,
} from './embedded-config.js';
import { DEV_CONFIG_FILE, readUpdateConfig, type Feed, type UpdateConfig } from './feed.js';
import { detectInstallKind } from './installers/index.js';
import type { Logger } from './types.js';

/** Folder under userData holding TUF metadata, channel indexes, the pending update, the install id. */
export const CACHE_DIR_NAME = 'electron-tuf';

/** Where the repository is: URLs, the trusted root's file (if not the embedded one), the channel. */
export interface Source {
  metadataUrl: string;
  targetsUrl: string;
  root?: string;
  channel?: string;
  /** `universal` when the build says so (embedded settings). */
  arch?: 'universal';
}

/** What one process learned at its first check; rebuilt only if building it failed. */
export interface Context {
  client: Updater;
  downloads: DownloadManager;
  cacheDir: string;
  platform: Platform;
  arch: Arch;
  installKind: InstallerKind;
  source: Source;
}

export interface ContextInputs {
  options: TufAppUpdaterOptions;
  host: ElectronHost;
  log: Logger;
  feed?: Feed;
  configPath: string | null;
  /** The fetcher to use when the options name none. */
  defaultFetcher(net: NetAccess | undefined): Fetcher;
}

export async function createContext(inputs: ContextInputs): Promise<Context> {
  const { options, host, log } = inputs;
  const platform = validatePlatform(options.platform ?? process.platform);
  const source = await sourceOf(inputs);
  const arch = validateArch(options.arch ?? source.arch ?? process.arch);
  const cacheDir = options.cacheDir ?? join(host.userDataPath(), CACHE_DIR_NAME);
  const client = new Updater({
    metadataDir: join(cacheDir, 'metadata'),
    metadataBaseUrl: source.metadataUrl,
    targetBaseUrl: source.targetsUrl,
    bootstrapRoot: () => trustedRoot(options.trustedRoot ?? source.root, host), // read only if the cache holds no root yet
    fetcher: options.fetcher ?? inputs.defaultFetcher(host.net?.()),
    config: options.tufConfig,
    trace: (event) => log.debug?.(describeTrace(event)),
  });
  const installKind = options.installKind ?? (await detectInstallKind(host, platform));
  return {
    client,
    downloads: new DownloadManager(client, cacheDir, log),
    cacheDir,
    platform,
    arch,
    installKind,
    source,
  };
}

/**
 * Options, else an update config file (updateConfigPath; dev-app-update.json in the app's
 * folder in dev mode), else the embedded settings. setFeedURL replaces the URLs only.
 */
async function sourceOf({ options, host, log, feed, configPath }: ContextInputs): Promise<Source> {
  if (!options.metadataUrl !== !options.targetsUrl)
    throw new ValueError('pass both metadataUrl and targetsUrl, or neither (to use the embedded settings)');
  if (options.metadataUrl) return { metadataUrl: options.metadataUrl, targetsUrl: options.targetsUrl! };
  const devMode = !(host.isPackaged?.() ?? true);
  const path = configPath ?? (devMode ? join(host.appPath?.() ?? host.resourcesPath(), DEV_CONFIG_FILE) : undefined);
  if (path) log.info(`update config from ${path}`);
  // With a feed URL, the embedded settings only contribute their channel (and may be absent).
  const config: UpdateConfig | undefined = path
    ? await readUpdateConfig(path)
    : feed
      ? await readEmbeddedSettingsIfAny(host.resourcesPath())
      : await readEmbeddedSettings(host.resourcesPath());
  const urls = feed ?? config!;
  return {
    metadataUrl: urls.metadataUrl,
    targetsUrl: urls.targetsUrl,
    root: config?.root,
    channel: config?.channel,
    arch: config?.arch,
  };
}

async function trustedRoot(root: Uint8Array | string | undefined, host: ElectronHost): Promise<Uint8Array> {
  if (root instanceof Uint8Array) return root;
  if (root === undefined) return readEmbeddedRoot(host.resourcesPath());
  const bytes = await readFileBounded(root, EMBEDDED_ROOT_MAX_BYTES);
  if (!bytes) throw new ValueError(`trustedRoot ${root} does not exist`);
  return bytes;
}

function describeTrace(event: TraceEvent): string {
  switch (event.type) {
    case 'fetch':
      return `tuf: fetch ${event.url}`;
    case 'visit':
      return `tuf: search ${event.role}`;
    default:
      return `tuf: ${event.message}`;
  }
}
