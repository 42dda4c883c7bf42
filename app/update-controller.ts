/**
 * The demo app's UpdateController (app/ipc-contract.ts) on top of the TUF app updater
 * (updater/electron, TufAppUpdater): the updater's events become the one UpdateState the
 * window shows, and the window's three buttons become check / download / install.
 *
 * The updater is the source of truth: every state change comes from one of its events, so
 * the window cannot claim a download or an install that did not happen. The only state set
 * here without an event is 'installing' (the install starts now; its failure arrives as an
 * `error` event) and 'downloaded' for a verified download the updater reused without
 * downloading again (it resolves the download at once and emits nothing).
 *
 * Error messages in the state are written for the user and built from the error's class
 * alone: the updater's own messages hold URLs and paths, which the page must not see
 * (app/ipc-main.ts).
 */
import { EventEmitter } from 'node:events';
import { TufError, ValueError } from '../updater/core/errors.js';
import type { ProgressInfo, TufAppUpdaterEvents, UpdateCheckResult, UpdateInfo } from '../updater/electron/index.js';
import type { DownloadProgress, UpdateController, UpdateState, UpdateStatus } from './ipc-contract.js';

/** The part of TufAppUpdater (or electron-updater's autoUpdater) the controller uses. */
export interface AppUpdater {
  readonly currentVersion: { readonly version: string };
  checkForUpdates(): Promise<UpdateCheckResult | null>;
  downloadUpdate(): Promise<string[]>;
  quitAndInstall(isSilent?: boolean, isForceRunAfter?: boolean): Promise<boolean>;
  on<K extends keyof TufAppUpdaterEvents>(event: K, listener: (...args: TufAppUpdaterEvents[K]) => void): unknown;
  off<K extends keyof TufAppUpdaterEvents>(event: K, listener: (...args: TufAppUpdaterEvents[K]) => void): unknown;
}

/** What a state carries about the offered release. */
type ReleaseFields = Pick<UpdateState, 'version' | 'releaseNotes' | 'releaseDate'>;
type StateChange = Omit<UpdateState, 'currentVersion'>;

/** Statuses in which a check would only disturb the window: an update is on its way in. */
const UPDATE_IN_PROGRESS: ReadonlySet<UpdateStatus> = new Set(['downloading', 'downloaded', 'installing']);

export class TufUpdateController extends EventEmitter<{ state: [UpdateState] }> implements UpdateController {
  private state: UpdateState;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(private readonly updater: AppUpdater) {
    super();
    this.state = { currentVersion: updater.currentVersion.version, status: 'idle' };
    this.listen('checking-for-update', () => this.set({ status: 'checking' }));
    this.listen('update-available', (info) => this.set({ status: 'available', ...releaseOf(info) }));
    this.listen('update-not-available', () => this.set({ status: 'not-available' }));
    this.listen('download-progress', (progress) =>
      this.set({ status: 'downloading', ...this.release(), progress: progressOf(progress) }),
    );
    this.listen('update-downloaded', (info) => this.set({ status: 'downloaded', ...releaseOf(info) }));
    // A cancelled download leaves the release on offer; the window shows "Download" again.
    this.listen('update-cancelled', (info) => this.set({ status: 'available', ...releaseOf(info) }));
    this.listen('error', (error) => this.set({ status: 'error', error: userMessage(this.state.status, error) }));
  }

  getState(): UpdateState {
    return { ...this.state };
  }

  /** True while an update is downloading, downloaded or installing: a periodic check waits. */
  get updateInProgress(): boolean {
    return UPDATE_IN_PROGRESS.has(this.state.status);
  }

  /** Checks; with the updater's autoDownload the download follows by itself. */
  async check(): Promise<void> {
    const result = await this.updater.checkForUpdates();
    const started = result?.downloadPromise;
    if (started) {
      const version = result.updateInfo.version;
      // Its failure is an `error` event (already in the state); nobody else awaits it.
      started.then(
        () => this.markDownloaded(version),
        () => undefined,
      );
    }
  }

  async download(): Promise<void> {
    const offered = this.state.version;
    await this.updater.downloadUpdate();
    if (offered !== undefined) this.markDownloaded(offered);
  }

  /**
   * Hands the downloaded update to the updater, which verifies it once more, installs it and
   * restarts the app. When that fails, its `error` event has put the state in 'error' and the
   * running app is unchanged.
   */
  async install(): Promise<void> {
    if (this.state.status === 'downloaded') this.set({ status: 'installing', ...this.release() });
    await this.updater.quitAndInstall();
  }

  /** Stops following the updater's events. */
  dispose(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  private listen<K extends keyof TufAppUpdaterEvents>(
    event: K,
    listener: (...args: TufAppUpdaterEvents[K]) => void,
  ): void {
    this.updater.on(event, listener);
    this.unsubscribers.push(() => void this.updater.off(event, listener));
  }

  /** The updater resolved a download without an event (a verified file it already had). */
  private markDownloaded(version: string): void {
    const { status } = this.state;
    if (this.state.version === version && (status === 'available' || status === 'downloading')) {
      this.set({ status: 'downloaded', ...this.release() });
    }
  }

  private release(): ReleaseFields {
    const { version, releaseNotes, releaseDate } = this.state;
    return withoutUndefined({ version, releaseNotes, releaseDate });
  }

  private set(change: StateChange): void {
    this.state = { currentVersion: this.state.currentVersion, ...change };
    this.emit('state', this.getState());
  }
}

function releaseOf(info: UpdateInfo): ReleaseFields {
  return withoutUndefined({
    version: info.version,
    releaseNotes: typeof info.releaseNotes === 'string' && info.releaseNotes !== '' ? info.releaseNotes : undefined,
    releaseDate: info.releaseDate || undefined,
  });
}

function progressOf(progress: ProgressInfo): DownloadProgress {
  const { percent, transferred, total, bytesPerSecond } = progress;
  return { percent, transferred, total, bytesPerSecond };
}

function withoutUndefined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

/** What was under way when the error came, from the status it interrupted. */
function failedAction(status: UpdateStatus): string {
  switch (status) {
    case 'checking':
      return 'Could not check for updates';
    case 'available':
    case 'downloading':
      return 'Could not download the update';
    case 'installing':
    case 'downloaded':
      return 'Could not install the update';
    default:
      return 'The update failed';
  }
}

/** Why, in the user's words, by error name (names survive IPC and bundling; see errors.ts). */
const REASONS: Readonly<Record<string, string>> = {
  ExpiredMetadataError: 'the update information has expired (the server is out of date, or replays old data)',
  BadVersionNumberError: 'the server offered older update information than this app already trusts',
  EqualVersionNumberError: 'the server offered older update information than this app already trusts',
  UnsignedMetadataError: 'the update information is not signed by the publisher',
  LengthOrHashMismatchError: 'a downloaded file does not match what the publisher signed, so it was discarded',
  DeserializationError: 'the update information is malformed',
  RepositoryError: 'the update repository is inconsistent',
  DownloadLengthMismatchError: 'the server sent a different amount of data than the publisher signed',
  SlowRetrievalError: 'the update server stopped responding',
  DownloadHTTPError: 'the update server answered with an error',
  DownloadError: 'the update server could not be reached',
  InstallError: 'the new version could not be put in place',
  StorageError: 'update files could not be read or written on this computer',
  CancelledError: 'it was cancelled',
  OrderError: 'there is nothing to do yet',
};

/**
 * "<action>: <reason> (<ErrorName>)". The name is only shown for electron-tuf's own errors;
 * the running version keeps running whatever failed, so the message says so for installs.
 */
export function userMessage(status: UpdateStatus, error: unknown): string {
  const name = error instanceof TufError ? error.name : undefined;
  const reason = (name && REASONS[name]) ?? 'something unexpected went wrong';
  const message = `${failedAction(status)}: ${reason}${name ? ` (${name})` : ''}.`;
  return status === 'installing' || status === 'downloaded' ? `${message} This version keeps running.` : message;
}

export interface PeriodicCheckOptions {
  /** Time between checks after the first one, which runs at once. */
  intervalMs: number;
  /** Told about failed checks (their user-facing side is already in the state). */
  onError?: (error: unknown) => void;
}

/**
 * Checks now and every `intervalMs`, skipping a check while an update is on its way in.
 * Returns a function that stops the checks (call it when the app quits).
 */
export function startPeriodicChecks(controller: TufUpdateController, options: PeriodicCheckOptions): () => void {
  const { intervalMs, onError = () => undefined } = options;
  if (!(Number.isFinite(intervalMs) && intervalMs > 0))
    throw new ValueError(`intervalMs must be a positive number, got ${intervalMs}`);
  const checkUnlessBusy = (): void => {
    if (!controller.updateInProgress) controller.check().catch(onError);
  };
  checkUnlessBusy();
  const timer = setInterval(checkUnlessBusy, intervalMs);
  timer.unref(); // the checks never keep a quitting process alive
  return () => clearInterval(timer);
}
