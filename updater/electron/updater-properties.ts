/**
 * The settings half of electron-updater's `AppUpdater` surface: plain properties an app sets
 * before or between checks, and the hooks it may replace. TufAppUpdater (app-updater.ts)
 * extends this with the check, download and install flow.
 */
import { EventEmitter } from 'node:events';
import { osSupports, UpdaterSignal } from './compat.js';
import type { Logger, TufAppUpdaterEvents, UpdateInfo, VerifyUpdateSupport } from './types.js';

const SILENT_LOGGER: Logger = { info() {}, warn() {}, error() {} };

export abstract class UpdaterProperties extends EventEmitter<TufAppUpdaterEvents> {
  /** Download as soon as an update is found. */
  autoDownload = true;
  /** Install a downloaded update when the app quits. */
  autoInstallOnAppQuit = true;
  /** Offer versions lower than the running one. Default false: never go back unless the app says so. */
  allowDowngrade = false;
  /** Start the app after a non-silent install (quitAndInstall(false)). */
  autoRunAppAfterInstall = true;
  /** releaseNotes lists every release from the running one to the offered one (ReleaseNoteInfo[]). */
  fullChangelog = false;
  /** Accepted for electron-updater compatibility: TUF releases have no web installers. */
  disableWebInstaller = false;
  /**
   * Never build an update from an earlier installer's chunks (differential download); always
   * download the whole installer, and keep no earlier installer for it. Read at each check and download.
   */
  disableDifferentialDownload = false;
  /** Accepted for electron-updater compatibility: there are no blockmaps to fetch. */
  previousBlockmapBaseUrlOverride: string | null = null;
  /** Run the updater when the app is not packaged (`electron .`), reading dev-app-update.json. */
  forceDevUpdateConfig = false;
  /** Sent with every request of the default fetcher; read at each request. */
  requestHeaders: Record<string, string> | null = null;
  /** Typed `on()` helpers: `signals.progress(...)`, `signals.updateDownloaded(...)`. */
  readonly signals: UpdaterSignal = new UpdaterSignal(this);

  protected loggerOption: Logger | null = console;
  private rolloutCheck?: VerifyUpdateSupport;
  private supportCheck?: VerifyUpdateSupport;

  get logger(): Logger | null {
    return this.loggerOption;
  }

  set logger(value: Logger | null) {
    this.loggerOption = value;
  }

  /** Decides staged rollouts; default: this install's random id against stagingPercentage. */
  get isUserWithinRollout(): VerifyUpdateSupport {
    return this.rolloutCheck ?? ((info) => this.defaultRolloutCheck(info));
  }

  set isUserWithinRollout(value: VerifyUpdateSupport) {
    if (value) this.rolloutCheck = value;
  }

  /** Whether an offered release can run here; default: its signed minimumSystemVersion against os.release(). */
  get isUpdateSupported(): VerifyUpdateSupport {
    return this.supportCheck ?? ((info) => osSupports(info, this.log));
  }

  set isUpdateSupported(value: VerifyUpdateSupport) {
    if (value) this.supportCheck = value;
  }

  /** Sets `Authorization` (e.g. `Bearer <token>`) for every request. */
  addAuthHeader(token: string): void {
    this.requestHeaders = { ...this.requestHeaders, authorization: token };
  }

  protected get log(): Logger {
    return this.loggerOption ?? SILENT_LOGGER;
  }

  protected abstract defaultRolloutCheck(info: UpdateInfo): Promise<boolean>;
}
