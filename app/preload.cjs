'use strict';
/**
 * Preload of the demo app's window. Sandboxed preloads run as CommonJS and may only require
 * 'electron' (and a few Node built-ins), so this file cannot import app/ipc-contract.ts: the
 * channel names below repeat INVOKE_CHANNELS and STATE_CHANNEL from there, and
 * test/app/preload.test.ts fails when they drift apart.
 *
 * The page gets exactly `window.updates` (UpdatesApi). Each method forwards no arguments, and
 * state listeners never see Electron's event object (it would hand the page `sender`).
 */
const { contextBridge, ipcRenderer } = require('electron');

const INVOKE_CHANNELS = Object.freeze({
  getState: 'updates:get-state',
  check: 'updates:check',
  download: 'updates:download',
  install: 'updates:install',
});
const STATE_CHANNEL = 'updates:state';

/** Resolves with nothing: the outcome of an action arrives as a new state. */
function invokeAction(channel) {
  return ipcRenderer.invoke(channel).then(() => undefined);
}

const updates = {
  getState: () => ipcRenderer.invoke(INVOKE_CHANNELS.getState),
  onState(callback) {
    if (typeof callback !== 'function') throw new TypeError('updates.onState needs a function');
    const listener = (_event, state) => callback(state);
    ipcRenderer.on(STATE_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(STATE_CHANNEL, listener);
    };
  },
  check: () => invokeAction(INVOKE_CHANNELS.check),
  download: () => invokeAction(INVOKE_CHANNELS.download),
  install: () => invokeAction(INVOKE_CHANNELS.install),
};

contextBridge.exposeInMainWorld('updates', updates);
