import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeserializationError, ValueError } from '../../updater/core/errors.js';
import { TufAppUpdater } from '../../updater/electron/app-updater.js';
import { CancellationToken } from '../../updater/electron/cancellation.js';
import { electronHost, NodeHost } from '../../updater/electron/electron-host.js';
import {
  embeddedRootPath,
  embeddedSettingsPath,
  parseEmbeddedSettings,
  serializeEmbeddedSettings,
} from '../../updater/electron/embedded-config.js';
import * as api from '../../updater/electron/index.js';
import { METADATA_URL, TARGETS_URL } from '../helpers/simulator.js';
import { appHarness, cleanupTempDirs, ReleaseRepo } from './fixtures.js';

afterEach(cleanupTempDirs);

describe('no Electron at import time', () => {
  it('no module under updater/ imports electron at run time (type-only references are erased)', async () => {
    const root = join(__dirname, '..', '..', 'updater');
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const source = await readFile(join(root, file), 'utf8');
      expect(source, file).not.toMatch(/^\s*import\s+(?!type\b)[^;]*from\s+['"]electron['"]/m);
      expect(source, file).not.toMatch(/^\s*import\s+['"]electron['"]/m);
      expect(source, file).not.toMatch(/(?<!typeof )import\(\s*['"]electron['"]\s*\)/);
    }
  });

  it('the index loads in plain Node, and the real host fails only when used, with a clear error', () => {
    expect(typeof api.TufAppUpdater).toBe('function');
    const host = electronHost();
    expect(() => host.appVersion()).toThrow(ValueError);
  });
});

describe('NodeHost', () => {
  it("quit() emits before-quit like Electron's app, and a prevented quit does not count", () => {
    const onQuit = vi.fn();
    const host = new NodeHost({ version: '1.0.0', userDataPath: '/tmp/x', onQuit });
    const off = host.onBeforeQuit((event) => event.preventDefault());
    host.quit();
    expect(host.quitCount).toBe(0);
    off();
    host.quit();
    expect(host.quitCount).toBe(1);
    expect(onQuit).toHaveBeenCalledOnce();
  });
});

describe('embedded config', () => {
  it('defines where the build hook puts the root and settings', () => {
    expect(embeddedRootPath('/app/resources')).toBe(join('/app/resources', 'electron-tuf', 'root.json'));
    expect(embeddedSettingsPath('/app/resources')).toBe(join('/app/resources', 'electron-tuf', 'settings.json'));
  });

  it('round-trips settings and refuses bad ones', () => {
    const settings = {
      metadataUrl: 'https://updates.example/metadata',
      targetsUrl: 'https://cdn.example/targets',
      channel: 'beta',
    };
    expect(parseEmbeddedSettings(serializeEmbeddedSettings(settings))).toEqual(settings);
    const bad = [
      '{',
      '{"metadataUrl":"file:///etc","targetsUrl":"https://x"}',
      '{"metadataUrl":"https://x"}',
      '{"metadataUrl":"https://x","targetsUrl":"https://y","channel":"../up"}',
    ];
    for (const text of bad) expect(() => parseEmbeddedSettings(Buffer.from(text)), text).toThrow(/settings|channel/);
    expect(() => parseEmbeddedSettings(Buffer.from('[]'))).toThrow(DeserializationError);
  });
});

describe('CancellationToken', () => {
  it('cancels once, aborts its signal and follows a parent signal', () => {
    const token = new CancellationToken();
    const onCancel = vi.fn();
    token.on('cancel', onCancel);
    token.cancel();
    token.cancel();
    expect(token.cancelled).toBe(true);
    expect(token.signal.aborted).toBe(true);
    expect(onCancel).toHaveBeenCalledOnce();
    const parent = new AbortController();
    const child = new CancellationToken(parent.signal);
    expect(child.cancelled).toBe(false);
    parent.abort();
    expect(child.cancelled).toBe(true);
  });
});

describe('TufAppUpdater defaults', () => {
  it("match electron-updater's, except that downgrades stay off", () => {
    const updater = new TufAppUpdater({
      host: new NodeHost({ version: '1.2.3', userDataPath: '/tmp/x' }),
      logger: null,
    });
    expect(updater.autoDownload).toBe(true);
    expect(updater.autoInstallOnAppQuit).toBe(true);
    expect(updater.allowPrerelease).toBe(false);
    expect(updater.allowDowngrade).toBe(false);
    expect(updater.channel).toBe('stable');
    expect(updater.currentVersion.version).toBe('1.2.3');
    updater.channel = 'beta';
    expect(updater.allowDowngrade).toBe(false);
  });

  it('refuses an app version that is not semver', () => {
    expect(() => new TufAppUpdater({ host: new NodeHost({ version: '1.0', userDataPath: '/tmp/x' }) })).toThrow(
      ValueError,
    );
  });

  it('logs through the given logger, and is silent with null', async () => {
    const repo = await ReleaseRepo.create();
    repo.publish({ version: '1.1.0' });
    const lines: string[] = [];
    const logger = { info: (m: unknown) => void lines.push(String(m)), warn: () => {}, error: () => {} };
    const app = await appHarness(repo, { version: '1.0.0', logger });
    await app.updater.checkForUpdates();
    expect(lines.some((l) => l.includes('update available: 1.1.0'))).toBe(true);
    app.updater.logger = null;
    lines.length = 0;
    await app.updater.checkForUpdates();
    expect(lines).toEqual([]);
  });
});

describe('over real HTTP with the default fetcher', () => {
  it('checks and downloads from 127.0.0.1, sending the configured headers with every request', async () => {
    const repo = await ReleaseRepo.create();
    repo.publish({ version: '1.1.0', bytes: 'the installer' });
    const seen: Array<string | undefined> = [];
    // Serves the simulator's repository over HTTP.
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      const path = req.url ?? '/';
      const url = path.startsWith('/metadata/')
        ? METADATA_URL + path.slice('/metadata'.length)
        : TARGETS_URL + path.slice('/targets'.length);
      repo.sim.fetch(url).then(
        async (response) => {
          const chunks: Uint8Array[] = [];
          for await (const chunk of response.body) chunks.push(chunk);
          res.writeHead(200).end(Buffer.concat(chunks));
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const app = await appHarness(repo, {
        version: '1.0.0',
        fetcher: undefined,
        metadataUrl: `${origin}/metadata`,
        targetsUrl: `${origin}/targets`,
        headers: { Authorization: 'Bearer private-repo' },
      });
      expect((await app.updater.checkForUpdates())?.isUpdateAvailable).toBe(true);
      const [file] = await app.updater.downloadUpdate();
      expect(await readFile(file, 'utf8')).toBe('the installer');
      expect(seen.length).toBeGreaterThan(4);
      expect(new Set(seen)).toEqual(new Set(['Bearer private-repo']));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
