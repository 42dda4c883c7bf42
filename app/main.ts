/**
 * Main process of the demo app: one window showing app/renderer/index.html, hardened the
 * way Electron's security checklist asks (context isolation, sandbox, no Node in the page,
 * no navigation, no new windows, no permissions), and the update IPC behind it.
 *
 * Compiled to dist/app/main.js. The files this loads at run time sit beside the sources, so
 * the same relative paths work in the checkout and in the staged app (build/README.md):
 *   dist/app/main.js -> ../../app/preload.cjs, ../../app/renderer/index.html
 */
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UpdateController } from './ipc-contract.js';
import { registerUpdateIpc, senderIsPage } from './ipc-main.js';
import { PlaceholderUpdateController } from './placeholder-controller.js';

const APP_DIR = fileURLToPath(new URL('../../app/', import.meta.url));
const PRELOAD_PATH = join(APP_DIR, 'preload.cjs');
const PAGE_PATH = join(APP_DIR, 'renderer', 'index.html');

function createUpdateController(): UpdateController {
  // ------------------------------------------------------------------------------------------
  // UPDATER WIRING POINT. The placeholder below always reports 'idle'; the next step replaces
  // it with the TUF app updater from updater/electron (trusted root shipped as extraResources
  // at join(process.resourcesPath, 'trust', 'root.json'), see build/electron-builder.config.ts),
  // adapted to UpdateController. Nothing else in this file needs to change.
  // ------------------------------------------------------------------------------------------
  return new PlaceholderUpdateController(app.getVersion());
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 560,
    height: 620,
    minWidth: 420,
    minHeight: 420,
    show: false,
    title: 'Electron TUF Demo',
    webPreferences: {
      preload: PRELOAD_PATH,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  // The page never needs to leave index.html: a link in release notes must not turn the
  // window into a browser for the repository's content.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void window.loadFile(PAGE_PATH);
  return window;
}

async function start(): Promise<void> {
  await app.whenReady();
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, grant) => grant(false));
  registerUpdateIpc(ipcMain, createUpdateController(), {
    isTrustedSender: senderIsPage(PAGE_PATH),
    receivers: () => BrowserWindow.getAllWindows().map((window) => window.webContents),
    onError: (action, error) => console.error(`update ${action} failed:`, error),
  });
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

start().catch((error: unknown) => {
  console.error('electron-tuf-demo failed to start:', error);
  app.exit(1);
});
