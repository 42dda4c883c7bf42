/** What a TufAppUpdater is built with; every field has a default for a packaged app. */
import type { Fetcher } from '../client/fetcher.js';
import type { UpdaterConfig } from '../client/updater.js';
import type { InstallerKind } from '../release/index.js';
import type { ElectronHost } from './electron-host.js';
import type { SpawnFunction } from './installers/spawn.js';
import type { Installer } from './installers/types.js';
import type { Logger } from './types.js';

export interface TufAppUpdaterOptions {
  /** Base URL of the TUF metadata. Default: settings.json embedded by the build hook. */
  metadataUrl?: string;
  /** Base URL of the targets (installers, channel indexes). Given together with metadataUrl. */
  targetsUrl?: string;
  /** Trusted root: its bytes or a file path. Default: `<resourcesPath>/electron-tuf/root.json`. */
  trustedRoot?: Uint8Array | string;
  /** Default: `<userData>/electron-tuf`. */
  cacheDir?: string;
  /** Default: the embedded settings' channel, else the running version's prerelease tag, else `stable`. */
  channel?: string;
  /** Default: process.platform. */
  platform?: string;
  /** Default: process.arch. `universal` for a macOS universal build (arch.ts: which builds it is offered). */
  arch?: string;
  /** The initial `requestHeaders`: sent with every request of the default fetcher (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Default: console. `null` for silence. */
  logger?: Logger | null;
  /**
   * Replaces the default fetcher (Electron's net inside Electron, Node's http outside; then
   * `headers` and `login` are up to it). Lengths, hashes and timeouts are still enforced.
   */
  fetcher?: Fetcher;
  /** Electron access; default: the real Electron (loaded lazily). Tests and the demo pass a NodeHost. */
  host?: ElectronHost;
  /** Which installer kind updates this install. Default: detected (installers/index.ts). */
  installKind?: InstallerKind;
  installers?: Installer[];
  /** How installers start processes (tests record commands with it). */
  spawn?: SpawnFunction;
  /** TUF client settings, e.g. `{ readTimeoutMs }`. */
  tufConfig?: Partial<UpdaterConfig>;
}
