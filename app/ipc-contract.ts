/**
 * The contract between the demo app's main process, its preload and its window page.
 *
 * The page is untrusted: it only ever sees `window.updates` (UpdatesApi), which the preload
 * builds from the four invoke channels and the one state channel below. No channel takes an
 * argument, so nothing the page sends can steer the updater beyond "check", "download" and
 * "install". app/preload.cjs cannot import this file (sandboxed preloads are CommonJS and may
 * only require 'electron'), so it repeats the channel names; test/app/preload.test.ts keeps
 * the two in step.
 */

export type UpdateStatus =
  'idle' | 'checking' | 'available' | 'not-available' | 'downloading' | 'downloaded' | 'installing' | 'error';

export interface DownloadProgress {
  percent: number;
  transferred: number;
  total: number;
  bytesPerSecond: number;
}

/** What the window shows. Sent from main to the page, so it holds nothing the page must not see. */
export interface UpdateState {
  /** The running app's version. */
  currentVersion: string;
  status: UpdateStatus;
  /** The offered release, once one is known (available .. installing). */
  version?: string;
  /** Plain text from the repository's signed metadata; the page must render it as text. */
  releaseNotes?: string;
  releaseDate?: string;
  progress?: DownloadProgress;
  /** A message fit for the user, set when status is 'error'. */
  error?: string;
}

/** What the preload exposes to the page as `window.updates`. */
export interface UpdatesApi {
  getState(): Promise<UpdateState>;
  /** Calls `cb` with every new state; returns a function that stops the calls. */
  onState(cb: (state: UpdateState) => void): () => void;
  check(): Promise<void>;
  download(): Promise<void>;
  install(): Promise<void>;
}

/**
 * What the main process needs from the updater: app/update-controller.ts implements it over
 * TufAppUpdater (updater/electron), and app/main.ts wires it to the window.
 *
 * Failures of check/download belong in the state (status 'error' with a user-facing `error`),
 * so the window can show them; the promises may still reject, and the IPC layer hides the
 * rejection's details from the page.
 */
export interface UpdateController {
  getState(): UpdateState;
  check(): Promise<void>;
  download(): Promise<void>;
  install(): Promise<void>;
  on(event: 'state', listener: (state: UpdateState) => void): unknown;
  off(event: 'state', listener: (state: UpdateState) => void): unknown;
}

/** Channels the page may invoke (ipcRenderer.invoke -> ipcMain.handle). None takes arguments. */
export const INVOKE_CHANNELS = {
  getState: 'updates:get-state',
  check: 'updates:check',
  download: 'updates:download',
  install: 'updates:install',
} as const;

export type InvokeAction = keyof typeof INVOKE_CHANNELS;

/** Main -> page: every new UpdateState (webContents.send -> ipcRenderer.on). */
export const STATE_CHANNEL = 'updates:state';
