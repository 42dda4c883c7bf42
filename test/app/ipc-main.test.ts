import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { INVOKE_CHANNELS, STATE_CHANNEL, type UpdateController, type UpdateState } from '../../app/ipc-contract.js';
import { registerUpdateIpc, senderIsPage, type InvokeEventLike, type StateReceiver } from '../../app/ipc-main.js';
import { ValueError } from '../../updater/core/errors.js';

const PAGE = '/opt/demo/resources/app/app/renderer/index.html';
const PAGE_EVENT: InvokeEventLike = { senderFrame: { url: pathToFileURL(PAGE).href } };

type Handler = (event: InvokeEventLike, ...args: unknown[]) => unknown;

class FakeIpcMain {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  async invoke(channel: string, event: InvokeEventLike = PAGE_EVENT, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}

class FakeController extends EventEmitter implements UpdateController {
  state: UpdateState = { currentVersion: '1.0.0', status: 'idle' };
  check = vi.fn(async () => {});
  download = vi.fn(async () => {});
  install = vi.fn(async () => {});
  getState(): UpdateState {
    return this.state;
  }
}

function receiver(destroyed = false): StateReceiver & { sent: unknown[][] } {
  const sent: unknown[][] = [];
  return { sent, isDestroyed: () => destroyed, send: (...args: unknown[]) => void sent.push(args) };
}

function setUp(receivers: StateReceiver[] = []) {
  const ipcMain = new FakeIpcMain();
  const controller = new FakeController();
  const onError = vi.fn();
  const dispose = registerUpdateIpc(ipcMain, controller, {
    isTrustedSender: senderIsPage(PAGE),
    receivers: () => receivers,
    onError,
  });
  return { ipcMain, controller, onError, dispose };
}

describe('registerUpdateIpc', () => {
  it('registers exactly the four invoke channels', () => {
    const { ipcMain } = setUp();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([
      'updates:check',
      'updates:download',
      'updates:get-state',
      'updates:install',
    ]);
    expect(Object.values(INVOKE_CHANNELS).sort()).toEqual([...ipcMain.handlers.keys()].sort());
  });

  it('routes each channel to its controller method', async () => {
    const { ipcMain, controller } = setUp();
    await ipcMain.invoke(INVOKE_CHANNELS.check);
    await ipcMain.invoke(INVOKE_CHANNELS.download);
    await ipcMain.invoke(INVOKE_CHANNELS.install);
    expect([controller.check, controller.download, controller.install].map((m) => m.mock.calls.length)).toEqual([
      1, 1, 1,
    ]);
  });

  it('answers getState with the contract fields only', async () => {
    const { ipcMain, controller } = setUp();
    controller.state = {
      currentVersion: '1.0.0',
      status: 'downloading',
      version: '1.1.0',
      progress: { percent: 10, transferred: 1, total: 10, bytesPerSecond: 5, extra: 'x' } as never,
      installerPath: '/home/user/.cache/secret.AppImage',
    } as UpdateState;
    expect(await ipcMain.invoke(INVOKE_CHANNELS.getState)).toEqual({
      currentVersion: '1.0.0',
      status: 'downloading',
      version: '1.1.0',
      progress: { percent: 10, transferred: 1, total: 10, bytesPerSecond: 5 },
    });
  });

  it('refuses any argument from the page', async () => {
    const { ipcMain, controller } = setUp();
    for (const channel of Object.values(INVOKE_CHANNELS)) {
      await expect(ipcMain.invoke(channel, PAGE_EVENT, { allowDowngrade: true })).rejects.toThrow(ValueError);
      await expect(ipcMain.invoke(channel, PAGE_EVENT, undefined)).rejects.toThrow(/takes no arguments/);
    }
    expect(controller.check).not.toHaveBeenCalled();
    expect(controller.download).not.toHaveBeenCalled();
    expect(controller.install).not.toHaveBeenCalled();
  });

  it('refuses senders other than our page', async () => {
    const { ipcMain, controller } = setUp();
    const strangers: InvokeEventLike[] = [
      { senderFrame: { url: 'https://evil.example/index.html' } },
      { senderFrame: { url: pathToFileURL('/tmp/other.html').href } },
      { senderFrame: { url: 'file://remote-host/opt/demo/resources/app/app/renderer/index.html' } },
      { senderFrame: null },
      {},
    ];
    for (const event of strangers) {
      await expect(ipcMain.invoke(INVOKE_CHANNELS.install, event)).rejects.toThrow(/sender not allowed/);
      await expect(ipcMain.invoke(INVOKE_CHANNELS.getState, event)).rejects.toThrow(ValueError);
    }
    expect(controller.install).not.toHaveBeenCalled();
  });

  it('runs one check at a time however often the page asks', async () => {
    const { ipcMain, controller } = setUp();
    let finish!: () => void;
    controller.check.mockImplementationOnce(() => new Promise<void>((resolve) => (finish = resolve)));
    const first = ipcMain.invoke(INVOKE_CHANNELS.check);
    const second = ipcMain.invoke(INVOKE_CHANNELS.check);
    await Promise.resolve();
    expect(controller.check).toHaveBeenCalledTimes(1);
    finish();
    await Promise.all([first, second]);
    await ipcMain.invoke(INVOKE_CHANNELS.check);
    expect(controller.check).toHaveBeenCalledTimes(2);
  });

  it('hides controller failure details from the page', async () => {
    const { ipcMain, controller, onError } = setUp();
    const failure = new Error('ENOENT: /home/user/.config/demo/metadata/root.json');
    controller.download.mockRejectedValueOnce(failure);
    const rejection = await ipcMain.invoke(INVOKE_CHANNELS.download).catch((error: Error) => error);
    expect(rejection).toBeInstanceOf(Error);
    expect((rejection as Error).message).toBe('update download failed');
    expect(onError).toHaveBeenCalledWith('download', failure);
  });

  it('broadcasts each state to live windows, in contract shape', () => {
    const live = receiver();
    const closed = receiver(true);
    const { controller } = setUp([live, closed]);
    controller.emit('state', { currentVersion: '1.0.0', status: 'available', version: '1.1.0', secret: 1 });
    expect(live.sent).toEqual([[STATE_CHANNEL, { currentVersion: '1.0.0', status: 'available', version: '1.1.0' }]]);
    expect(closed.sent).toEqual([]);
  });

  it('unregisters handlers and broadcasts when disposed', () => {
    const live = receiver();
    const { ipcMain, controller, dispose } = setUp([live]);
    dispose();
    expect(ipcMain.handlers.size).toBe(0);
    expect(controller.listenerCount('state')).toBe(0);
    controller.emit('state', { currentVersion: '1.0.0', status: 'checking' });
    expect(live.sent).toEqual([]);
  });
});

describe('senderIsPage', () => {
  it('trusts the page itself, with or without a fragment', () => {
    const trusted = senderIsPage(PAGE);
    expect(trusted(PAGE_EVENT)).toBe(true);
    expect(trusted({ senderFrame: { url: `${pathToFileURL(PAGE).href}#top` } })).toBe(true);
  });

  it('rejects look-alikes', () => {
    const trusted = senderIsPage(PAGE);
    for (const url of [
      `${pathToFileURL(PAGE).href}.evil.html`,
      pathToFileURL('/opt/demo/resources/app/app/renderer/other.html').href,
      'http://127.0.0.1/opt/demo/resources/app/app/renderer/index.html',
      'file:not a url',
      '',
    ]) {
      expect(trusted({ senderFrame: { url } }), url).toBe(false);
    }
  });
});
