/**
 * Runs app/preload.cjs against a fake 'electron' module: the page must get exactly
 * `window.updates`, wired to the channels of app/ipc-contract.ts, forwarding nothing the page
 * passes and never handing it Electron's event object.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { INVOKE_CHANNELS, STATE_CHANNEL, type UpdatesApi } from '../../app/ipc-contract.js';
import { ROOT } from '../helpers/vectors.js';

type Listener = (event: unknown, ...args: unknown[]) => void;

let source: string;

beforeAll(async () => {
  source = await readFile(join(ROOT, 'app', 'preload.cjs'), 'utf8');
});

function loadPreload() {
  const exposed = new Map<string, unknown>();
  const listeners = new Map<string, Set<Listener>>();
  const required: string[] = [];
  const ipcRenderer = {
    invoke: vi.fn(async (..._args: unknown[]) => 'answer from main'),
    on(channel: string, listener: Listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    removeListener(channel: string, listener: Listener) {
      listeners.get(channel)?.delete(listener);
    },
  };
  const contextBridge = {
    exposeInMainWorld(key: string, api: unknown) {
      if (exposed.has(key)) throw new Error(`exposed twice: ${key}`);
      exposed.set(key, api);
    },
  };
  const require = (name: string) => {
    required.push(name);
    if (name !== 'electron') throw new Error(`preload may not require ${name}`);
    return { contextBridge, ipcRenderer };
  };
  runInNewContext(source, { require, module: { exports: {} }, exports: {} }, { filename: 'preload.cjs' });
  const send = (channel: string, ...args: unknown[]) => {
    for (const listener of listeners.get(channel) ?? []) listener({ sender: 'the event object' }, ...args);
  };
  return { exposed, listeners, required, ipcRenderer, send, updates: exposed.get('updates') as UpdatesApi };
}

describe('app/preload.cjs', () => {
  it('exposes exactly window.updates with the five UpdatesApi members', () => {
    const { exposed, required, updates } = loadPreload();
    expect([...exposed.keys()]).toEqual(['updates']);
    expect(Object.keys(updates).sort()).toEqual(['check', 'download', 'getState', 'install', 'onState']);
    expect(required).toEqual(['electron']);
  });

  it('invokes the contract channels and forwards no arguments', async () => {
    const { updates, ipcRenderer } = loadPreload();
    const call = updates as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const action of ['getState', 'check', 'download', 'install'] as const) {
      await call[action]('--evil', { path: '/etc/passwd' });
    }
    expect(ipcRenderer.invoke.mock.calls).toEqual([
      [INVOKE_CHANNELS.getState],
      [INVOKE_CHANNELS.check],
      [INVOKE_CHANNELS.download],
      [INVOKE_CHANNELS.install],
    ]);
  });

  it('resolves actions with nothing and getState with main’s answer', async () => {
    const { updates } = loadPreload();
    expect(await updates.check()).toBeUndefined();
    expect(await updates.getState()).toBe('answer from main');
  });

  it('passes states, not Electron events, to onState listeners until unsubscribed', () => {
    const { updates, send, listeners } = loadPreload();
    const seen: unknown[][] = [];
    const stop = updates.onState((...args: unknown[]) => void seen.push(args));
    send(STATE_CHANNEL, { status: 'checking' });
    stop();
    send(STATE_CHANNEL, { status: 'idle' });
    expect(seen).toEqual([[{ status: 'checking' }]]);
    expect(listeners.get(STATE_CHANNEL)?.size).toBe(0);
  });

  it('refuses a listener that is not a function', () => {
    const { updates } = loadPreload();
    // The preload runs in its own realm here, so compare by name rather than instanceof.
    expect(() => updates.onState('alert(1)' as never)).toThrow(expect.objectContaining({ name: 'TypeError' }) as Error); // an asymmetric matcher stands in for the error
  });
});
