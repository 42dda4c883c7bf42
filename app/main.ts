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
import { autoUpdater } from '../updater/electron/index.js';
import { registerUpdateIpc, senderIsPage } from './ipc-main.js';
import { startPeriodicChecks, TufUpdateController } from './update-controller.js';

const APP_DIR = fileURLToPath(new URL('../../app/', import.meta.url));
const PRELOAD_PATH = join(APP_DIR, 'preload.cjs');
const PAGE_PATH = join(APP_DIR, 'renderer', 'index.html');

/** Often enough that a security fix reaches a long-running app the same day. */
const CHECK_INTERVAL_MS = 4 * 60 * 60 * 1000;

/**
 * The TUF app updater (electron-updater's `autoUpdater`, fetching through Electron's net by
 * default, so the system proxy and certificate store apply): the repository URLs, the channel and the trusted root
 * come from what the build hook embedded under <resources>/electron-tuf/
 * (updater/electron/embedded-config.ts), so trust never comes from the network (TUF 5.2).
 * userData/electron-tuf holds its cache. Run unpackaged (`electron .` from the checkout), the
 * updater is in dev mode, as electron-updater: a check logs and resolves null, nothing else
 * changes (docs/app-updater.md, "Dev mode").
 */
function createUpdateController(): TufUpdateController {
  return new TufUpdateController(autoUpdater);
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
  const controller = createUpdateController();
  registerUpdateIpc(ipcMain, controller, {
    isTrustedSender: senderIsPage(PAGE_PATH),
    receivers: () => BrowserWindow.getAllWindows().map((window) => window.webContents),
    onError: (action, error) => console.error(`update ${action} failed:`, error),
  });
  createWindow();
  const stopChecks = startPeriodicChecks(controller, {
    intervalMs: CHECK_INTERVAL_MS,
    onError: (error) => console.error('update check failed:', error),
  });
  // 'will-quit', not 'before-quit': the updater may hold a quit back to install first.
  app.once('will-quit', stopChecks);
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
