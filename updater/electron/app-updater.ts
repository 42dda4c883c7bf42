/**
 * TufAppUpdater: electron-updater's `autoUpdater` surface over a TUF repository. Switching is
 * one line:
 *
 *   import { autoUpdater } from 'electron-updater';          // before
 *   const autoUpdater = new TufAppUpdater();                 // after (electron-tuf)
 *
 * What it adds: every byte it acts on (the channel index that names the release, the
 * installer) is verified against TUF metadata signed by the publisher's keys, so a mirror, a
 * CDN or a network attacker can neither pick what is installed nor hold back security updates
 * without the app noticing (expired metadata is an error, not "no update").
 *
 * The flow: checkForUpdates() refreshes TUF metadata, reads the channel indexes, picks a
 * release (discovery.ts) and resolves its installer target; downloadUpdate() (automatic with
 * autoDownload) streams it into the pending cache (download-manager.ts); quitAndInstall() (or
 * quitting the app, with autoInstallOnAppQuit) re-verifies it and hands it to the installer
 * for this kind of install (installers/). Failures are `error` events and rejected promises;
 * the running app is left as it was.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import semver from 'semver';
import { CancelledError, OrderError, TufError, ValueError } from '../core/errors.js';
import { InstallError } from './errors.js';
import type { TargetFile } from '../core/metadata.js';
import {
  defaultChannelFor,
  validateArch,
  validateChannel,
  validatePlatform,
  type Arch,
  type InstallerKind,
  type Platform,
} from '../core/release.js';
import type { Fetcher } from '../client/fetcher.js';
import { readFileBounded } from '../node-io/index.js';
import { HttpFetcher } from '../client/http-fetcher.js';
import { Updater, type TraceEvent, type UpdaterConfig } from '../client/updater.js';
import { CancellationToken } from './cancellation.js';
import { channelsToRead, readChannelIndexes, resolveInstaller, selectRelease, type Candidate, type Selection } from './discovery.js';
import { DownloadManager } from './download-manager.js';
import { electronHost, type ElectronHost } from './electron-host.js';
import { EMBEDDED_ROOT_MAX_BYTES, readEmbeddedRoot, readEmbeddedSettings } from './embedded-config.js';
import { defaultInstallers, detectInstallKind, removePreviousInstall } from './installers/index.js';
import { defaultSpawn, type SpawnFunction } from './installers/spawn.js';
import type { Installer } from './installers/types.js';
import { isStaged, loadInstallId } from './staging.js';
import type { Logger, TufAppUpdaterEvents, UpdateCheckResult, UpdateInfo } from './types.js';

/** Folder under userData holding TUF metadata, channel indexes, the pending update, the install id. */
export const CACHE_DIR_NAME = 'electron-tuf';

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
  /** Default: process.arch. */
  arch?: string;
  /** Sent with every request of the default fetcher (e.g. an Authorization header for a private repository). */
  headers?: Record<string, string>;
  /** Default: console. `null` for silence. */
  logger?: Logger | null;
  /** Replaces the default HTTP fetcher (then `headers` is up to it). Lengths, hashes and timeouts are still enforced. */
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

/** What one process learned at its first check; rebuilt only if building it failed. */
interface Context {
  client: Updater;
  downloads: DownloadManager;
  cacheDir: string;
  platform: Platform;
  arch: Arch;
  installKind: InstallerKind;
}

/** A release found by the last check, with its trusted installer target. */
interface Available {
  info: UpdateInfo;
  candidate: Candidate;
  target: TargetFile;
}

interface InstallRequest {
  isSilent: boolean;
  isForceRunAfter: boolean;
  relaunch: boolean;
}

const SILENT_LOGGER: Logger = { info() {}, warn() {}, error() {} };

export class TufAppUpdater extends EventEmitter<TufAppUpdaterEvents> {
  /** Download as soon as an update is found. */
  autoDownload = true;
  /** Install a downloaded update when the app quits. */
  autoInstallOnAppQuit = true;
  /** Offer prerelease versions on the stable channel too. Default: true when the running version is a prerelease. */
  allowPrerelease: boolean;
  /** Offer versions lower than the running one. Default false: never go back unless the app says so. */
  allowDowngrade = false;
  /** The running version. */
  readonly currentVersion: semver.SemVer;

  private readonly host: ElectronHost;
  private explicitChannel?: string;
  private loggerOption: Logger | null;
  private contextPromise?: Promise<Context>;
  private embeddedChannel?: string;
  private checking?: Promise<UpdateCheckResult | null>;
  private downloading?: Promise<string[]>;
  private installing?: Promise<boolean>;
  private available?: Available;
  private downloaded?: { available: Available; file: string };
  private removeQuitHook?: () => void;
  private cleanedUp = false;

  constructor(private readonly options: TufAppUpdaterOptions = {}) {
    super();
    this.host = options.host ?? electronHost();
    const version = this.host.appVersion();
    if (semver.valid(version) !== version) throw new ValueError(`the app version ${JSON.stringify(version)} is not semver (e.g. 1.2.3)`);
    this.currentVersion = new semver.SemVer(version);
    this.allowPrerelease = this.currentVersion.prerelease.length > 0;
    this.loggerOption = options.logger === undefined ? console : options.logger;
    if (options.channel !== undefined) this.explicitChannel = validateChannel(options.channel);
  }

  /** The channel followed: set explicitly, or embedded by the build, or from the running version. */
  get channel(): string {
    return this.explicitChannel ?? this.embeddedChannel ?? defaultChannelFor(this.currentVersion.version);
  }

  set channel(value: string) {
    this.explicitChannel = validateChannel(value);
  }

  get logger(): Logger | null {
    return this.loggerOption;
  }

  set logger(value: Logger | null) {
    this.loggerOption = value;
  }

  /**
   * Refreshes the TUF metadata and looks for a release to update to. Emits
   * `checking-for-update`, then `update-available` or `update-not-available` (or `error`, and
   * rejects). With autoDownload, the download starts at once (`downloadPromise`).
   * Concurrent calls share one check.
   */
  checkForUpdates(): Promise<UpdateCheckResult | null> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /**
   * Downloads the update found by the last check into the pending cache (resuming a partial
   * download; reusing a verified one). Emits `download-progress`, then `update-downloaded`;
   * `update-cancelled` when the token is cancelled; `error` otherwise. Resolves with the file.
   */
  downloadUpdate(cancellationToken: CancellationToken = new CancellationToken()): Promise<string[]> {
    if (this.downloading) return this.downloading;
    const available = this.available;
    if (!available) return Promise.reject(this.report(new OrderError('no update to download: call checkForUpdates() first'), 'Cannot download update'));
    if (this.downloaded?.available === available) return Promise.resolve([this.downloaded.file]);
    this.downloading = this.runDownload(available, cancellationToken).finally(() => {
      this.downloading = undefined;
    });
    return this.downloading;
  }

  /**
   * Re-verifies the downloaded update, installs it and restarts the app (`isSilent`: no
   * installer UI; `isForceRunAfter`: start the app after a silent install). Resolves true once
   * the installer has taken over (the app is quitting); false after an `error` event, with the
   * running app untouched. Never rejects, so calling it without `await` is safe.
   */
  quitAndInstall(isSilent = false, isForceRunAfter = false): Promise<boolean> {
    return this.install({ isSilent, isForceRunAfter, relaunch: !isSilent || isForceRunAfter });
  }

  private async runCheck(): Promise<UpdateCheckResult | null> {
    try {
      this.emit('checking-for-update');
      const ctx = await this.context();
      await this.cleanUpAfterUpdate(ctx);
      await ctx.client.refresh();
      const selection = await this.selectRelease(ctx);
      if (!selection.offer) return this.noUpdate(selection.newest);
      const target = await resolveInstaller(ctx.client, selection.offer, { platform: ctx.platform, arch: ctx.arch, kind: ctx.installKind });
      return this.updateFound({ info: updateInfoOf(selection.offer, target), candidate: selection.offer, target });
    } catch (error) {
      throw this.report(error, 'Cannot check for updates');
    }
  }

  /** Reads the channel indexes (after a refresh) and applies this install's policy to them. */
  private async selectRelease(ctx: Context): Promise<Selection> {
    const channel = this.channel;
    const indexes = await readChannelIndexes(ctx.client, channelsToRead(channel), ctx);
    // The install id decides staged rollouts only: without one in the indexes it is not read (or created).
    const staged = indexes.some((index) => index.releases.some((release) => release.stagingPercentage !== undefined));
    const installId = staged ? await loadInstallId(ctx.cacheDir) : undefined;
    const selection = selectRelease(indexes, {
      currentVersion: this.currentVersion.version,
      channel,
      allowPrerelease: this.allowPrerelease,
      allowDowngrade: this.allowDowngrade,
      installerKind: ctx.installKind,
      isStaged: (release) => release.stagingPercentage === undefined || isStaged(installId!, release.version, release.stagingPercentage),
    });
    for (const reason of selection.skipped) this.log.info(`passed over ${reason}`);
    return selection;
  }

  private noUpdate(newest: Candidate | undefined): UpdateCheckResult {
    if (!this.installing) {
      this.available = undefined; // a release withdrawn since the last check is not installed
      this.downloaded = undefined;
    }
    const info = newest ? updateInfoOf(newest) : currentInfo(this.currentVersion.version);
    this.log.info(`no update: running ${this.currentVersion.version}, newest for this install ${newest?.release.version ?? 'none'}`);
    this.emit('update-not-available', info);
    return { isUpdateAvailable: false, updateInfo: info, versionInfo: info };
  }

  private updateFound(found: Available): UpdateCheckResult {
    // A download of the same signed file stays valid; anything else must be fetched anew.
    if (this.downloaded && sameTarget(this.downloaded.available.target, found.target)) this.downloaded.available = found;
    else if (!this.installing) this.downloaded = undefined;
    this.available = found;
    this.log.info(`update available: ${found.info.version} (${found.target.path}, ${found.target.length} bytes)`);
    this.emit('update-available', found.info);
    const result: UpdateCheckResult = { isUpdateAvailable: true, updateInfo: found.info, versionInfo: found.info };
    if (this.autoDownload) {
      const token = new CancellationToken();
      result.cancellationToken = token;
      result.downloadPromise = this.downloadUpdate(token);
      // Its failures reach the `error` event; nobody may be awaiting this promise.
      result.downloadPromise.catch(() => undefined);
    }
    return result;
  }

  private async runDownload(available: Available, token: CancellationToken): Promise<string[]> {
    try {
      const ctx = await this.context();
      this.log.info(`downloading ${available.info.version}`);
      const file = await ctx.downloads.download(
        { info: available.target, version: available.info.version, kind: ctx.installKind },
        { signal: token.signal, onProgress: (progress) => this.emit('download-progress', progress) },
      );
      this.downloaded = { available, file };
      this.hookInstallOnQuit();
      this.emit('update-downloaded', { ...available.info, downloadedFile: file });
      return [file];
    } catch (error) {
      if (error instanceof CancelledError || token.cancelled) {
        this.log.info(`download of ${available.info.version} cancelled`);
        this.emit('update-cancelled', available.info);
        throw error instanceof CancelledError ? error : new CancelledError('update download cancelled', { cause: error });
      }
      throw this.report(error, 'Cannot download update');
    }
  }

  private install(request: InstallRequest): Promise<boolean> {
    if (this.installing) return this.installing;
    const downloaded = this.downloaded;
    if (!downloaded) {
      this.report(new OrderError('no update has been downloaded: nothing to install'), 'Cannot install update');
      return Promise.resolve(false);
    }
    this.installing = this.runInstall(downloaded.available, request).finally(() => {
      this.installing = undefined;
    });
    return this.installing;
  }

  private async runInstall(available: Available, request: InstallRequest): Promise<boolean> {
    try {
      const ctx = await this.context();
      // Verified again right before use: the file sat on disk since the download.
      const file = await ctx.downloads.verify(available.target);
      const installer = (this.options.installers ?? defaultInstallers()).find((i) => i.canInstall(ctx.installKind, ctx.platform));
      if (!installer) throw new InstallError(`no installer for ${ctx.installKind} on ${ctx.platform}`);
      this.unhookInstallOnQuit();
      this.log.info(`installing ${available.info.version} with the ${installer.name} installer`);
      await installer.install({
        file,
        kind: ctx.installKind,
        version: available.info.version,
        platform: ctx.platform,
        ...request,
        host: this.host,
        spawn: this.options.spawn ?? defaultSpawn,
        log: this.log,
      });
      return true;
    } catch (error) {
      this.downloaded = undefined; // check again before another attempt
      this.report(error, 'Cannot install update');
      return false;
    }
  }

  /** With autoInstallOnAppQuit, a quit first installs the downloaded update (silently, no relaunch). */
  private hookInstallOnQuit(): void {
    if (this.removeQuitHook) return;
    this.removeQuitHook = this.host.onBeforeQuit((event) => {
      if (!this.autoInstallOnAppQuit || !this.downloaded || this.installing) return;
      event.preventDefault(); // the install is async: quit again once it is done
      this.unhookInstallOnQuit();
      void this.install({ isSilent: true, isForceRunAfter: false, relaunch: false }).then((installed) => {
        if (!installed) this.host.quit(); // the user asked to quit; a failed update must not stop that
      });
    });
  }

  private unhookInstallOnQuit(): void {
    this.removeQuitHook?.();
    this.removeQuitHook = undefined;
  }

  /** Once per process: forget an update that is now running, remove the previous tar.gz install. */
  private async cleanUpAfterUpdate(ctx: Context): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    const pending = await ctx.downloads.readPending();
    if (pending && semver.valid(pending.version) && !semver.gt(pending.version, this.currentVersion)) {
      await ctx.downloads.clear().catch(() => undefined);
    }
    if (ctx.installKind === 'tar.gz' && (await removePreviousInstall(this.host.execPath()).catch(() => false))) {
      this.log.info('removed the previous version left by the last update');
    }
  }

  private context(): Promise<Context> {
    if (!this.contextPromise) {
      this.contextPromise = this.createContext();
      this.contextPromise.catch(() => {
        this.contextPromise = undefined; // e.g. a missing root: try again at the next check
      });
    }
    return this.contextPromise;
  }

  private async createContext(): Promise<Context> {
    const options = this.options;
    const platform = validatePlatform(options.platform ?? process.platform);
    const arch = validateArch(options.arch ?? process.arch);
    const cacheDir = options.cacheDir ?? join(this.host.userDataPath(), CACHE_DIR_NAME);
    if (!options.metadataUrl !== !options.targetsUrl) throw new ValueError('pass both metadataUrl and targetsUrl, or neither (to use the embedded settings)');
    const settings = options.metadataUrl ? undefined : await readEmbeddedSettings(this.host.resourcesPath());
    this.embeddedChannel = settings?.channel;
    const metadataBaseUrl = options.metadataUrl ?? settings!.metadataUrl;
    const targetBaseUrl = options.targetsUrl ?? settings!.targetsUrl;
    const client = new Updater({
      metadataDir: join(cacheDir, 'metadata'),
      metadataBaseUrl,
      targetBaseUrl,
      bootstrapRoot: () => this.trustedRoot(), // read only if the cache holds no root yet
      fetcher: options.fetcher ?? new HttpFetcher({ headers: options.headers }),
      config: options.tufConfig,
      trace: (event) => this.log.debug?.(describeTrace(event)),
    });
    const installKind = options.installKind ?? (await detectInstallKind(this.host, platform));
    return { client, downloads: new DownloadManager(client, cacheDir, this.log), cacheDir, platform, arch, installKind };
  }

  private async trustedRoot(): Promise<Uint8Array> {
    const root = this.options.trustedRoot;
    if (root instanceof Uint8Array) return root;
    if (root === undefined) return readEmbeddedRoot(this.host.resourcesPath());
    const bytes = await readFileBounded(root, EMBEDDED_ROOT_MAX_BYTES);
    if (!bytes) throw new ValueError(`trustedRoot ${root} does not exist`);
    return bytes;
  }

  /** Logs an error and emits `error` (only when someone listens: an unheard 'error' would throw). */
  private report(error: unknown, what: string): Error {
    const err = error instanceof Error ? error : new TufError(String(error));
    const message = `${what}: ${err.name}: ${err.message}`;
    this.log.error(message);
    if (this.listenerCount('error') > 0) this.emit('error', err, message);
    return err;
  }

  private get log(): Logger {
    return this.loggerOption ?? SILENT_LOGGER;
  }
}

function updateInfoOf(candidate: Candidate, target?: TargetFile): UpdateInfo {
  const release = candidate.release;
  const kind = release.installers.find((i) => i.target === candidate.installerTarget)!.kind;
  const file = target
    ? { url: target.path, kind, size: target.length, sha256: target.hashes.sha256, sha512: target.hashes.sha512 }
    : { url: candidate.installerTarget, kind };
  const info: UpdateInfo = {
    version: release.version,
    releaseDate: release.releaseDate,
    releaseNotes: release.releaseNotes ?? null,
    channel: candidate.channel,
    files: [file],
    path: file.url,
    sha512: file.sha512 ?? '',
  };
  if (release.stagingPercentage !== undefined) info.stagingPercentage = release.stagingPercentage;
  return info;
}

function sameTarget(a: TargetFile, b: TargetFile): boolean {
  return a.path === b.path && a.length === b.length && JSON.stringify(a.hashes) === JSON.stringify(b.hashes);
}

function currentInfo(version: string): UpdateInfo {
  return { version, releaseDate: '', releaseNotes: null, files: [], path: '', sha512: '' };
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
