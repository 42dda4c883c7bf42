/**
 * TufAppUpdater: electron-updater's `autoUpdater` surface over a TUF repository. Switching is
 * one line:
 *
 *   import { autoUpdater } from 'electron-updater';          // before
 *   import { autoUpdater } from 'electron-tuf';              // after (auto-updater.ts)
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
import semver from 'semver';
import { CancellationError, CancelledError, OrderError, TufError, ValueError } from '../core/errors.js';
import type { TargetFile } from '../core/metadata.js';
import { defaultChannelFor, validateChannel, type ChannelIndex } from '../release/index.js';
import type { Fetcher } from '../client/fetcher.js';
import { AppFetcher } from './app-fetcher.js';
import { CancellationToken } from './cancellation.js';
import { formatDownloadNotification } from './compat.js';
import { UpdaterProperties } from './updater-properties.js';
import { findRelease, resolveInstaller, type Candidate, type ReleasePolicy, type Selection } from './discovery.js';
import type { RunningInstaller } from './download-manager.js';
import { findRunningInstaller } from './running-installer.js';
import { electronHost, type ElectronHost, type ElectronSession, type NetAccess } from './electron-host.js';
import { parseFeed, type Feed, type FeedOptions } from './feed.js';
import { cleanUpAfterUpdate, installUpdate, type InstallRequest } from './app-install.js';
import type { TufAppUpdaterOptions } from './app-updater-options.js';
import { isStaged, loadInstallId } from './rollout.js';
import { CACHE_DIR_NAME, createContext, type Context } from './context.js';
import type { DownloadNotification, TufAppUpdaterEvents, UpdateCheckResult, UpdateInfo } from './types.js';
import { changelog, currentInfo, sameTarget, updateInfoOf } from './update-info.js';

export { CACHE_DIR_NAME };
export type { TufAppUpdaterOptions };

/** A release found by the last check, with its trusted installer target. */
interface Available {
  info: UpdateInfo;
  candidate: Candidate;
  target: TargetFile;
  /** The running AppImage, a source of chunks for a differential download. */
  running?: RunningInstaller;
}

export class TufAppUpdater extends UpdaterProperties {
  /** Offer prerelease versions on the stable channel too. Default: true when the running version is a prerelease. */
  allowPrerelease: boolean;
  /** The running version. */
  readonly currentVersion: semver.SemVer;

  private readonly host: ElectronHost;
  private explicitChannel?: string;
  private contextPromise?: Promise<Context>;
  private embeddedChannel?: string;
  private checking?: Promise<UpdateCheckResult | null>;
  private downloading?: Promise<string[]>;
  private installing?: Promise<boolean>;
  private available?: Available;
  private downloaded?: { available: Available; file: string };
  private removeQuitHook?: () => void;
  private cleanedUp = false;
  private feed?: Feed;
  private configPath: string | null = null;
  private removeLoginHook?: () => void;
  private knownMetadataUrl?: string;

  constructor(private readonly options: TufAppUpdaterOptions = {}) {
    super();
    this.host = options.host ?? electronHost();
    const version = this.host.appVersion();
    if (semver.valid(version) !== version)
      throw new ValueError(`the app version ${JSON.stringify(version)} is not semver (e.g. 1.2.3)`);
    this.currentVersion = new semver.SemVer(version);
    this.allowPrerelease = this.currentVersion.prerelease.length > 0;
    this.loggerOption = options.logger === undefined ? console : options.logger;
    this.requestHeaders = options.headers ? { ...options.headers } : null;
    if (options.channel !== undefined) this.explicitChannel = validateChannel(options.channel);
  }

  /** The channel followed: set explicitly, or embedded by the build, or from the running version. */
  get channel(): string {
    return this.explicitChannel ?? this.embeddedChannel ?? defaultChannelFor(this.currentVersion.version);
  }

  /** null goes back to the default (electron-updater accepts null too). */
  set channel(value: string | null) {
    this.explicitChannel = value === null ? undefined : validateChannel(value);
  }

  /** The Electron Session the default fetcher uses (undefined outside Electron). */
  get netSession(): ElectronSession {
    return this.host.net?.()?.session as ElectronSession;
  }

  /** An update config file (feed.ts) read instead of the embedded settings; in dev mode too. */
  get updateConfigPath(): string | null {
    return this.configPath;
  }

  set updateConfigPath(value: string | null) {
    this.configPath = value;
    this.forgetContext();
  }

  /**
   * Points the updater at another copy of the repository: a base URL serving metadata/ and
   * targets/ (or `{ url }`, or `{ metadataUrl, targetsUrl }`). The trusted root stays the build's.
   */
  setFeedURL(options: string | FeedOptions): void {
    this.feed = parseFeed(options);
    this.forgetContext();
  }

  /** The URL given to setFeedURL, else the metadata URL in use (once known), else null. */
  getFeedURL(): string | null {
    return this.feed?.url ?? this.options.metadataUrl ?? this.knownMetadataUrl ?? null;
  }

  /** False in dev mode (not packaged, forceDevUpdateConfig off): checks then resolve null. */
  isUpdaterActive(): boolean {
    if ((this.host.isPackaged?.() ?? true) || this.forceDevUpdateConfig) return true;
    this.log.info('Skip checkForUpdates because application is not packed and dev update config is not forced');
    return false;
  }

  /** checkForUpdates(), then an OS notification once the download is done (electron-updater's texts by default). */
  async checkForUpdatesAndNotify(notification?: DownloadNotification): Promise<UpdateCheckResult | null> {
    const result = await this.checkForUpdates();
    if (!result?.downloadPromise) {
      this.log.debug?.('checkForUpdatesAndNotify called, downloadPromise is null');
      return result;
    }
    const appName = this.host.appName?.() ?? '';
    result.downloadPromise.then(
      () => this.host.notify?.(formatDownloadNotification(result.updateInfo.version, appName, notification)),
      () => undefined, // reported through the `error` event
    );
    return result;
  }

  /**
   * Refreshes the TUF metadata and looks for a release to update to. Emits
   * `checking-for-update`, then `update-available` or `update-not-available` (or `error`, and
   * rejects). With autoDownload, the download starts at once (`downloadPromise`).
   * Concurrent calls share one check.
   */
  checkForUpdates(): Promise<UpdateCheckResult | null> {
    if (!this.isUpdaterActive()) return Promise.resolve(null);
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
    if (!available)
      return Promise.reject(
        this.report(new OrderError('no update to download: call checkForUpdates() first'), 'Cannot download update'),
      );
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
    return this.install({
      isSilent,
      isForceRunAfter,
      relaunch: isSilent ? isForceRunAfter : this.autoRunAppAfterInstall,
    });
  }

  private async runCheck(): Promise<UpdateCheckResult | null> {
    try {
      this.emit('checking-for-update');
      const ctx = await this.context();
      await this.cleanUpAfterUpdate(ctx);
      await ctx.client.refresh();
      const { selection, indexes, policy } = await this.selectRelease(ctx);
      if (!selection.offer) return this.noUpdate(selection.newest);
      const expected = { platform: ctx.platform, kind: ctx.installKind };
      const target = await resolveInstaller(ctx.client, selection.offer, expected);
      const info = updateInfoOf(selection.offer, target);
      if (this.fullChangelog) info.releaseNotes = changelog(indexes, this.currentVersion.version, info.version);
      if (!(await this.isUpdateSupported(info))) return this.noUpdate(selection.offer, info);
      const running = this.disableDifferentialDownload
        ? undefined
        : await findRunningInstaller(ctx.client, indexes, policy, { ...expected, env: this.host.env() }, this.log);
      return this.updateFound({ info, candidate: selection.offer, target, running });
    } catch (error) {
      throw this.report(error, 'Cannot check for updates');
    }
  }

  /** Reads the channel indexes (after a refresh) and applies this install's policy to them. */
  private async selectRelease(
    ctx: Context,
  ): Promise<{ selection: Selection; indexes: ChannelIndex[]; policy: ReleasePolicy }> {
    const found = await findRelease(ctx.client, ctx, {
      currentVersion: this.currentVersion.version,
      channel: this.channel,
      allowPrerelease: this.allowPrerelease,
      allowDowngrade: this.allowDowngrade,
      isUserWithinRollout: this.isUserWithinRollout,
    });
    for (const reason of found.selection.skipped) this.log.info(`passed over ${reason}`);
    return found;
  }

  protected async defaultRolloutCheck(info: UpdateInfo): Promise<boolean> {
    if (info.stagingPercentage === undefined) return true;
    // The install id is read (or created) only when some release is staged.
    const installId = await loadInstallId((await this.context()).cacheDir);
    return isStaged(installId, info.version, info.stagingPercentage);
  }

  /** `known`: the newest release's full info, when it was resolved but is not taken (isUpdateSupported). */
  private noUpdate(newest: Candidate | undefined, known?: UpdateInfo): UpdateCheckResult {
    if (!this.installing) {
      this.available = undefined; // a release withdrawn since the last check is not installed
      this.downloaded = undefined;
    }
    const info = known ?? (newest ? updateInfoOf(newest) : currentInfo(this.currentVersion.version));
    this.log.info(
      `no update: running ${this.currentVersion.version}, newest for this install ${newest?.release.version ?? 'none'}`,
    );
    this.emit('update-not-available', info);
    return { isUpdateAvailable: false, updateInfo: info, versionInfo: info };
  }

  private updateFound(found: Available): UpdateCheckResult {
    // A download of the same signed file stays valid; anything else must be fetched anew.
    if (this.downloaded && sameTarget(this.downloaded.available.target, found.target))
      this.downloaded.available = found;
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
        {
          signal: token.signal,
          onProgress: (progress) => this.emit('download-progress', progress),
          differential: !this.disableDifferentialDownload,
          running: available.running,
        },
      );
      this.downloaded = { available, file };
      this.hookInstallOnQuit();
      this.emit('update-downloaded', { ...available.info, downloadedFile: file });
      return [file];
    } catch (error) {
      if (error instanceof CancelledError || token.cancelled) {
        this.log.info(`download of ${available.info.version} cancelled`);
        this.emit('update-cancelled', available.info);
        throw error instanceof CancellationError
          ? error
          : new CancellationError('update download cancelled', { cause: error });
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
      await installUpdate(ctx, { target: available.target, version: available.info.version }, request, {
        host: this.host,
        installers: this.options.installers,
        spawn: this.options.spawn,
        log: this.log,
        beforeInstall: () => this.unhookInstallOnQuit(),
      });
      // electron-updater renames the AppImage after an update; ours is replaced in place.
      const appImage = this.host.env().APPIMAGE;
      if (ctx.installKind === 'AppImage' && appImage) this.emit('appimage-filename-updated', appImage);
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

  /** Once per process (app-install.ts). */
  private async cleanUpAfterUpdate(ctx: Context): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    await cleanUpAfterUpdate(ctx, {
      host: this.host,
      currentVersion: this.currentVersion,
      differential: !this.disableDifferentialDownload,
      log: this.log,
    });
  }

  private context(): Promise<Context> {
    if (!this.contextPromise) {
      this.contextPromise = createContext({
        options: this.options,
        host: this.host,
        log: this.log,
        feed: this.feed,
        configPath: this.configPath,
        defaultFetcher: (net) => this.defaultFetcher(net),
      }).then((ctx) => {
        this.embeddedChannel = ctx.source.channel;
        this.knownMetadataUrl = ctx.source.metadataUrl;
        return ctx;
      });
      this.contextPromise.catch(() => {
        this.contextPromise = undefined; // e.g. a missing root: try again at the next check
      });
    }
    return this.contextPromise;
  }

  /** Electron's net inside Electron (proxy logins reach the `login` event), Node's http outside. */
  private defaultFetcher(net: NetAccess | undefined): Fetcher {
    const login = (...args: TufAppUpdaterEvents['login']) =>
      this.listenerCount('login') > 0 && this.emit('login', ...args);
    if (net && !this.removeLoginHook) this.removeLoginHook = this.host.onLogin?.(login);
    return new AppFetcher({ net, headers: () => ({ ...this.requestHeaders }), login });
  }

  /** A new feed or config file applies from the next check on; the cache (trusted state) stays. */
  private forgetContext(): void {
    this.contextPromise = undefined;
  }

  /** Logs an error and emits `error` (only when someone listens: an unheard 'error' would throw). */
  private report(error: unknown, what: string): Error {
    const err = error instanceof Error ? error : new TufError(String(error));
    const message = `${what}: ${err.name}: ${err.message}`;
    this.log.error(message);
    if (this.listenerCount('error') > 0) this.emit('error', err, message);
    return err;
  }
}
