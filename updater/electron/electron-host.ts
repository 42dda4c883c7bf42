/**
 * Everything the app updater needs from Electron, behind one small interface, so the updater
 * runs and is tested in plain Node (docs/architecture.md, "Electron's binary": it is not available here, and
 * `npm run demo` runs the updater without a window).
 *
 * `electronHost()` loads the 'electron' module lazily, the first time a method needs it: no
 * module in updater/ imports 'electron' at load time, so importing the library in plain Node
 * (or in a renderer bundle by mistake) does not fail. `NodeHost` plays Electron for tests and
 * for the demo.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ValueError } from '../core/errors.js';

type ElectronModule = typeof import('electron');
/** Electron's Session (a type only: nothing here loads 'electron' at import time). */
export type ElectronSession = ReturnType<ElectronModule['session']['fromPartition']>;

/** What a `before-quit` listener may do: stop this quit (to finish work first, then quit again). */
export interface QuitEvent {
  preventDefault(): void;
}

export interface RelaunchOptions {
  /** The executable to start (default: the running one). */
  execPath?: string;
  /** Its arguments (default: this process's). */
  args?: string[];
}

/** The part of Electron's `autoUpdater` (Squirrel.Mac) that the macOS installer uses. */
export interface SquirrelUpdater {
  setFeedURL(options: { url: string; headers?: Record<string, string>; serverType?: 'json' | 'default' }): void;
  checkForUpdates(): void;
  quitAndInstall(): void;
  on(event: 'update-downloaded' | 'error', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: 'update-downloaded' | 'error', listener: (...args: unknown[]) => void): unknown;
}

/** Electron's AuthInfo: who asks for credentials (a proxy, for the updater's requests). */
export interface AuthInfo {
  isProxy: boolean;
  scheme: string;
  host: string;
  port: number;
  realm: string;
}

/** Answers a `login`: credentials, or no arguments to give up. */
export type LoginCallback = (username?: string, password?: string) => void;

/** What the updater needs of Electron's `net` (inside Electron only). */
export interface NetAccess {
  /** `session.fetch` of the updater's own session (system proxy, OS certificate store). */
  fetch: (
    url: string,
    init: { headers: Record<string, string>; signal: AbortSignal; redirect: 'follow' },
  ) => Promise<Response>;
  /** The Electron Session the requests use (electron-updater's `netSession`). */
  session: unknown;
}

export interface ElectronHost {
  /** `app.getVersion()`. */
  appVersion(): string;
  /** `app.getPath('userData')`. */
  userDataPath(): string;
  /** `process.resourcesPath`: where the build hook embeds the trusted root. */
  resourcesPath(): string;
  /** The running executable (`process.execPath`). */
  execPath(): string;
  /** The environment, for `$APPIMAGE`. */
  env(): Readonly<Record<string, string | undefined>>;
  /** `app.relaunch()`: start the app again once this process has quit. */
  relaunch(options?: RelaunchOptions): void;
  /** `app.quit()`: emits `before-quit`, whose listeners may prevent it. */
  quit(): void;
  /** `app.on('before-quit')`; returns a function that removes the listener. */
  onBeforeQuit(listener: (event: QuitEvent) => void): () => void;
  /** Electron's built-in `autoUpdater` (Squirrel.Mac on macOS). */
  squirrelUpdater(): SquirrelUpdater;
  /** `app.isPackaged`; false runs the updater in dev mode (a check logs and resolves null). Default true. */
  isPackaged?(): boolean;
  /** `app.getAppPath()`: where dev mode looks for dev-app-update.json. */
  appPath?(): string;
  /** `app.name`, for checkForUpdatesAndNotify's texts. */
  appName?(): string;
  /** Shows an OS notification (Electron's `Notification`). */
  notify?(content: { title: string; body: string }): void;
  /** Electron's network stack; undefined outside Electron (then Node's http is used). */
  net?(): NetAccess | undefined;
  /** Proxy logins of the updater's requests; returns a function that removes the listener. */
  onLogin?(listener: (authInfo: AuthInfo, callback: LoginCallback) => boolean): () => void;
}

/** The Electron session partition the updater's requests use, apart from the app's windows. */
export const NET_PARTITION = 'electron-tuf';

/** The real host, inside Electron's main process. 'electron' is loaded on first use. */
export function electronHost(): ElectronHost {
  let loaded: ElectronModule | undefined;
  const electron = (): ElectronModule => {
    if (!loaded) {
      // Lazy by design (see the file comment). createRequire: Electron resolves 'electron' to its
      // built-in module for require() in the main process, from CommonJS and ESM alike.
      let candidate: unknown;
      try {
        candidate = createRequire(import.meta.url)('electron');
      } catch (error) {
        throw new ValueError("'electron' cannot be loaded: run inside Electron's main process, or pass a NodeHost", {
          cause: error,
        });
      }
      // In plain Node, the npm package 'electron' exports the path of its binary, not the API.
      if (typeof candidate !== 'object' || candidate === null || !('app' in candidate)) {
        throw new ValueError("'electron' is not available: run inside Electron's main process, or pass a NodeHost");
      }
      loaded = candidate as ElectronModule;
    }
    return loaded;
  };
  return {
    appVersion: () => electron().app.getVersion(),
    userDataPath: () => electron().app.getPath('userData'),
    // Electron sets process.resourcesPath; fall back to the executable's folder when it does not.
    resourcesPath: () => (process as { resourcesPath?: string }).resourcesPath ?? dirname(process.execPath),
    execPath: () => process.execPath,
    env: () => process.env,
    relaunch: (options) =>
      electron().app.relaunch(
        options?.execPath ? { execPath: options.execPath, args: options.args ?? process.argv.slice(1) } : undefined,
      ),
    quit: () => electron().app.quit(),
    onBeforeQuit: (listener) => {
      const app = electron().app;
      app.on('before-quit', listener);
      return () => void app.removeListener('before-quit', listener);
    },
    squirrelUpdater: () => electron().autoUpdater,
    isPackaged: () => electron().app.isPackaged,
    appPath: () => electron().app.getAppPath(),
    appName: () => electron().app.getName(),
    notify: (content) => new (electron().Notification)(content).show(),
    net: () => {
      const session = electron().session.fromPartition(NET_PARTITION, { cache: false });
      return { fetch: (url, init) => session.fetch(url, init), session };
    },
    onLogin: (listener) => {
      const app = electron().app;
      // Requests of a session (not of a window) arrive here without webContents.
      const onLogin = (
        event: { preventDefault(): void },
        webContents: unknown,
        _details: unknown,
        authInfo: AuthInfo,
        callback: LoginCallback,
      ) => {
        if (webContents) return;
        if (listener(authInfo, callback)) event.preventDefault();
      };
      app.on('login', onLogin as never);
      return () => void app.removeListener('login', onLogin as never);
    },
  };
}

export interface NodeHostOptions {
  /** The "running" app version. */
  version: string;
  userDataPath: string;
  /** Default: the folder of execPath. */
  resourcesPath?: string;
  /** The "running" executable (default: process.execPath). */
  execPath?: string;
  env?: Record<string, string | undefined>;
  /** Stands in for Electron's autoUpdater (tests of the macOS installer). */
  squirrel?: SquirrelUpdater;
  /** Called when a quit is not prevented (the demo ends here). */
  onQuit?: () => void;
  /** `app.isPackaged` (default true); false plays `electron .` (dev mode). */
  isPackaged?: boolean;
  /** `app.getAppPath()` (default: the folder of execPath). */
  appPath?: string;
  /** `app.name` (default `NodeHost`). */
  appName?: string;
  /** Plays Electron's `net` (a WHATWG fetch, e.g. globalThis.fetch). Default: none, as outside Electron. */
  netFetch?: NetAccess['fetch'];
}

/**
 * Electron's `app` played in plain Node. `quit()` emits before-quit like Electron and only
 * counts as quitting when no listener prevented it; `relaunch()` really starts the executable
 * (detached), as Electron would after quitting, so a test can see which binary came up.
 */
export class NodeHost implements ElectronHost {
  /** Every relaunch asked for, in order. */
  readonly relaunches: RelaunchOptions[] = [];
  /** Quits that went through (not prevented by a before-quit listener). */
  quitCount = 0;
  /** Every notification shown, in order. */
  readonly notifications: Array<{ title: string; body: string }> = [];
  private readonly quitEvents = new EventEmitter();
  private readonly loginListeners = new Set<(authInfo: AuthInfo, callback: LoginCallback) => boolean>();

  constructor(private readonly options: NodeHostOptions) {}

  appVersion(): string {
    return this.options.version;
  }

  userDataPath(): string {
    return this.options.userDataPath;
  }

  resourcesPath(): string {
    return this.options.resourcesPath ?? dirname(this.execPath());
  }

  execPath(): string {
    return this.options.execPath ?? process.execPath;
  }

  env(): Readonly<Record<string, string | undefined>> {
    return this.options.env ?? process.env;
  }

  relaunch(options: RelaunchOptions = {}): void {
    this.relaunches.push(options);
    const child = spawn(options.execPath ?? this.execPath(), options.args ?? [], {
      detached: true,
      stdio: 'ignore',
      shell: false,
    });
    child.on('error', () => {}); // a relaunch that fails to start is visible to the test through its absence
    child.unref();
  }

  quit(): void {
    let prevented = false;
    this.quitEvents.emit('before-quit', { preventDefault: () => void (prevented = true) } satisfies QuitEvent);
    if (prevented) return;
    this.quitCount++;
    this.options.onQuit?.();
  }

  onBeforeQuit(listener: (event: QuitEvent) => void): () => void {
    this.quitEvents.on('before-quit', listener);
    return () => void this.quitEvents.removeListener('before-quit', listener);
  }

  squirrelUpdater(): SquirrelUpdater {
    if (!this.options.squirrel) throw new ValueError("Electron's autoUpdater is not available outside Electron");
    return this.options.squirrel;
  }

  isPackaged(): boolean {
    return this.options.isPackaged ?? true;
  }

  appPath(): string {
    return this.options.appPath ?? dirname(this.execPath());
  }

  appName(): string {
    return this.options.appName ?? 'NodeHost';
  }

  notify(content: { title: string; body: string }): void {
    this.notifications.push(content);
  }

  net(): NetAccess | undefined {
    const fetch = this.options.netFetch;
    return fetch && { fetch, session: { partition: NET_PARTITION } };
  }

  onLogin(listener: (authInfo: AuthInfo, callback: LoginCallback) => boolean): () => void {
    this.loginListeners.add(listener);
    return () => void this.loginListeners.delete(listener);
  }

  /** Plays Electron's `app` 'login' for a session request; true when a listener took it. */
  emitLogin(authInfo: AuthInfo, callback: LoginCallback): boolean {
    let taken = false;
    for (const listener of this.loginListeners) taken = listener(authInfo, callback) || taken;
    return taken;
  }
}
