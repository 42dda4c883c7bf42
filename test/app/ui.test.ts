/**
 * The demo app's window page (app/renderer) in headless Chromium, loaded from file:// as
 * Electron's loadFile does, with a fake `window.updates` that each test drives.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UpdateState, UpdateStatus, UpdatesApi } from '../../app/ipc-contract.js';
import { launchChromium } from '../helpers/chromium.js';
import { ROOT } from '../helpers/vectors.js';

const PAGE_URL = pathToFileURL(join(ROOT, 'app', 'renderer', 'index.html')).href;

// The project compiles without the DOM lib (it is Node code); these are the few page globals
// the callbacks below touch. They run in the browser, not here.
interface FakeUpdates {
  calls: string[];
  emit(state: UpdateState): void;
  failNext?: string;
}
interface PageWindow {
  updates?: UpdatesApi;
  __fake: FakeUpdates;
  __pwned?: number;
  __inlineRan?: boolean;
}
declare const window: PageWindow;
declare const document: {
  createElement(tag: 'script'): { textContent: string };
  body: { append(node: unknown): void };
};
type ProgressBar = { value: number };

/**
 * Stands in for the preload: frozen like contextBridge's copy, records calls, and lets the
 * test push states. `getState` answers with `initial`.
 */
function installFakeUpdates(initial: UpdateState): void {
  const listeners = new Set<(state: UpdateState) => void>();
  const calls: string[] = [];
  const fake: FakeUpdates = {
    calls,
    emit(state) {
      for (const listener of listeners) listener(state);
    },
  };
  const action = (name: string) => async () => {
    calls.push(name);
    if (fake.failNext === name) throw new Error(`${name} failed`);
  };
  window.__fake = fake;
  window.updates = Object.freeze({
    getState: async () => initial,
    onState(callback: (state: UpdateState) => void) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    check: action('check'),
    download: action('download'),
    install: action('install'),
  });
}

const BASE: UpdateState = { currentVersion: '1.0.0', status: 'idle' };
const RELEASE = { version: '1.1.0', releaseDate: '2025-03-01T12:00:00Z', releaseNotes: 'Faster startup.' };

let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  page = await browser.newPage();
  problems = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.addInitScript(installFakeUpdates, BASE);
  await page.goto(PAGE_URL);
  await expect.poll(() => page.textContent('#current-version')).toBe('1.0.0');
});

afterEach(async () => {
  await page.close();
});

const emit = (state: UpdateState) => page.evaluate((s) => window.__fake.emit(s), state);
const visible = (selector: string) => page.isVisible(selector);
const calls = () => page.evaluate(() => window.__fake.calls);

describe('demo app window', () => {
  it('shows the running version and the initial state without errors', async () => {
    expect(await page.textContent('#status-text')).toBe('Ready to check for updates.');
    expect(await visible('#check')).toBe(true);
    expect(await visible('#download')).toBe(false);
    expect(await visible('#install')).toBe(false);
    expect(problems).toEqual([]);
  });

  it('puts every status into words', async () => {
    const expected: Record<UpdateStatus, string> = {
      idle: 'Ready to check for updates.',
      checking: 'Checking for updates…',
      available: 'Version 1.1.0 is available.',
      'not-available': 'You’re up to date.',
      downloading: 'Downloading version 1.1.0…',
      downloaded: 'Version 1.1.0 is ready to install.',
      installing: 'Installing version 1.1.0… The app will restart.',
      error: 'The update did not complete.',
    };
    for (const [status, words] of Object.entries(expected)) {
      await emit({ ...BASE, ...RELEASE, status: status as UpdateStatus });
      expect(await page.textContent('#status-text'), status).toBe(words);
      expect(await page.getAttribute('#status-dot', 'data-status'), status).toBe(status);
    }
    expect(problems).toEqual([]);
  });

  it('shows Download only when a release is available, Restart only when downloaded', async () => {
    const buttons = async () => [await visible('#download'), await visible('#install')];
    await emit({ ...BASE, ...RELEASE, status: 'available' });
    expect(await buttons()).toEqual([true, false]);
    await emit({
      ...BASE,
      ...RELEASE,
      status: 'downloading',
      progress: { percent: 5, transferred: 5, total: 100, bytesPerSecond: 1 },
    });
    expect(await buttons()).toEqual([false, false]);
    expect(await page.isDisabled('#check')).toBe(true);
    await emit({ ...BASE, ...RELEASE, status: 'downloaded' });
    expect(await buttons()).toEqual([false, true]);
    expect(await page.isDisabled('#check')).toBe(false);
  });

  it('shows download progress as a bar with percent and speed', async () => {
    await emit({
      ...BASE,
      ...RELEASE,
      status: 'downloading',
      progress: { percent: 42.5, transferred: 4_200_000, total: 10_000_000, bytesPerSecond: 1_500_000 },
    });
    expect(await visible('#progress')).toBe(true);
    expect(await page.$eval('#progress-bar', (bar) => (bar as unknown as ProgressBar).value)).toBe(42.5);
    expect(await page.textContent('#progress-text')).toBe('42% · 1.5 MB/s · 4.2 MB of 10.0 MB');
    await emit({ ...BASE, ...RELEASE, status: 'downloaded' });
    expect(await visible('#progress')).toBe(false);
  });

  it('clamps a nonsensical progress report', async () => {
    await emit({
      ...BASE,
      ...RELEASE,
      status: 'downloading',
      progress: { percent: 250, transferred: -1, total: 0, bytesPerSecond: Number.NaN },
    });
    expect(await page.$eval('#progress-bar', (bar) => (bar as unknown as ProgressBar).value)).toBe(100);
    expect(await page.textContent('#progress-text')).toBe('100% · 0 B/s');
  });

  it('renders release notes as text, never as HTML', async () => {
    const notes = 'Fixes <img src=x onerror="window.__pwned=1"> and <b>bold</b>\nsecond line';
    await emit({ ...BASE, ...RELEASE, status: 'available', releaseNotes: notes });
    expect(await visible('#notes')).toBe(true);
    expect(await page.textContent('#release-notes')).toBe(notes);
    expect(await page.$$eval('#release-notes *', (nodes) => nodes.length)).toBe(0);
    await page.waitForTimeout(50); // an <img src=x> would have failed to load by now
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(await page.textContent('#release-date')).toMatch(/^Released .*2025/);
  });

  it('hides release details when no release is on offer', async () => {
    await emit({ ...BASE, ...RELEASE, status: 'available' });
    expect(await visible('#notes')).toBe(true);
    await emit({ ...BASE, status: 'not-available' });
    expect(await visible('#notes')).toBe(false);
    expect(await visible('#release-date')).toBe(false);
  });

  it('shows the error message in the error state, and only there', async () => {
    await emit({ ...BASE, status: 'error', error: 'The update repository’s signatures did not verify.' });
    expect(await visible('#error')).toBe(true);
    expect(await page.textContent('#error')).toBe('The update repository’s signatures did not verify.');
    await emit({ ...BASE, status: 'checking', error: 'stale' });
    expect(await visible('#error')).toBe(false);
  });

  it('calls the matching action for each button', async () => {
    await page.click('#check');
    await emit({ ...BASE, ...RELEASE, status: 'available' });
    await page.click('#download');
    await emit({ ...BASE, ...RELEASE, status: 'downloaded' });
    await page.click('text=Restart to update');
    await expect.poll(calls).toEqual(['check', 'download', 'install']);
  });

  it('re-enables a button whose action failed', async () => {
    await page.evaluate(() => {
      window.__fake.failNext = 'check';
    });
    await page.click('#check');
    await expect.poll(() => page.isEnabled('#check')).toBe(true);
    expect(await calls()).toEqual(['check']);
  });

  it('runs no inline script: the CSP blocks it', async () => {
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
    });
    expect(await page.evaluate(() => window.__inlineRan)).toBeUndefined();
  });
});
