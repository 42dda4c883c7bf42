/**
 * Main-process side of the update IPC: serves the page's four invoke channels from an
 * UpdateController and broadcasts every new state to the windows.
 *
 * The page is untrusted (it renders text from the repository, and a renderer exploit must not
 * gain more than the buttons give), so every invoke is checked: it must come from our own page
 * (Electron security checklist, "validate the sender of all IPC messages") and carry no
 * arguments. Only the four channels are registered; anything else has no handler and fails in
 * the page. Errors from the controller are not passed on verbatim: they may hold paths or URLs,
 * and the user-facing message travels in the state instead.
 */
import { fileURLToPath } from 'node:url';
import { TufError, ValueError } from '../updater/core/errors.js';
import {
  INVOKE_CHANNELS,
  STATE_CHANNEL,
  type InvokeAction,
  type UpdateController,
  type UpdateState,
} from './ipc-contract.js';

/** The part of Electron's IpcMainInvokeEvent that the checks read. */
export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The part of Electron's WebContents used here. */
export interface StateReceiver {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

export interface RegisterUpdateIpcOptions {
  /** True when an invoke comes from our own page; see `senderIsPage`. */
  isTrustedSender(event: InvokeEventLike): boolean;
  /** Who gets state broadcasts, e.g. `() => BrowserWindow.getAllWindows().map((w) => w.webContents)`. */
  receivers(): Iterable<StateReceiver>;
  /** Told about controller failures, whose details the page does not get. */
  onError?(action: InvokeAction, error: unknown): void;
}

/**
 * Registers the update channels on `ipcMain`. Returns a function that removes the handlers
 * and stops the broadcasts.
 */
export function registerUpdateIpc(
  ipcMain: IpcMainLike,
  controller: UpdateController,
  options: RegisterUpdateIpcOptions,
): () => void {
  const runOnce = singleFlight();
  const actions: Record<InvokeAction, () => Promise<UpdateState | void>> = {
    getState: () => Promise.resolve(toWireState(controller.getState())),
    check: () => runOnce('check', () => controller.check()),
    download: () => runOnce('download', () => controller.download()),
    install: () => runOnce('install', () => controller.install()),
  };
  for (const action of Object.keys(INVOKE_CHANNELS) as InvokeAction[]) {
    ipcMain.handle(INVOKE_CHANNELS[action], async (event, ...args) => {
      checkInvoke(action, event, args, options);
      try {
        return await actions[action]();
      } catch (error) {
        options.onError?.(action, error);
        throw new TufError(`update ${action} failed`);
      }
    });
  }

  const broadcast = (state: UpdateState): void => {
    const wire = toWireState(state);
    for (const receiver of options.receivers()) {
      if (!receiver.isDestroyed()) receiver.send(STATE_CHANNEL, wire);
    }
  };
  controller.on('state', broadcast);

  return () => {
    for (const channel of Object.values(INVOKE_CHANNELS)) ipcMain.removeHandler(channel);
    controller.off('state', broadcast);
  };
}

function checkInvoke(
  action: InvokeAction,
  event: InvokeEventLike,
  args: unknown[],
  options: RegisterUpdateIpcOptions,
): void {
  if (!options.isTrustedSender(event)) throw new ValueError(`updates.${action}: sender not allowed`);
  if (args.length !== 0) throw new ValueError(`updates.${action} takes no arguments`);
}

/**
 * A sender check for a window that shows the local page at `pagePath` (as loaded with
 * `BrowserWindow.loadFile`). A frame that navigated elsewhere, or is gone, is not trusted.
 */
export function senderIsPage(pagePath: string): (event: InvokeEventLike) => boolean {
  return (event) => {
    const url = event.senderFrame?.url;
    if (typeof url !== 'string' || !url.startsWith('file:')) return false;
    try {
      return fileURLToPath(url) === pagePath;
    } catch {
      return false;
    }
  };
}

/**
 * While an action runs, further requests for it share its promise: a page that clicks (or a
 * compromised page that loops) cannot start a second check or download beside the first.
 */
function singleFlight(): (action: InvokeAction, start: () => Promise<void>) => Promise<void> {
  const running = new Map<InvokeAction, Promise<void>>();
  return (action, start) => {
    const current = running.get(action);
    if (current) return current;
    const started = start().finally(() => running.delete(action));
    running.set(action, started);
    return started;
  };
}

/**
 * Copies only the contract's fields, so a controller that carries more (file paths, URLs,
 * class instances) never hands them to the page, and the value survives structured cloning.
 */
export function toWireState(state: UpdateState): UpdateState {
  const wire: UpdateState = { currentVersion: state.currentVersion, status: state.status };
  if (state.version !== undefined) wire.version = state.version;
  if (state.releaseNotes !== undefined) wire.releaseNotes = state.releaseNotes;
  if (state.releaseDate !== undefined) wire.releaseDate = state.releaseDate;
  if (state.error !== undefined) wire.error = state.error;
  if (state.progress !== undefined) {
    const { percent, transferred, total, bytesPerSecond } = state.progress;
    wire.progress = { percent, transferred, total, bytesPerSecond };
  }
  return wire;
}
