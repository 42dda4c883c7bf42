/**
 * The package's public entry points resolve from the built dist/ (npm test builds first) and
 * expose what the docs promise, with one error hierarchy shared by all of them.
 */
import { describe, expect, it } from 'vitest';

describe('package exports', () => {
  it('electron-tuf exposes the app updater, the client and the errors', async () => {
    const m = await import('electron-tuf');
    expect(typeof m.TufAppUpdater).toBe('function');
    expect(typeof m.CancellationToken).toBe('function');
    expect(typeof m.Updater).toBe('function');
    expect(new m.UnsignedMetadataError('x')).toBeInstanceOf(m.RepositoryError);
  });

  it("electron-tuf exposes electron-updater's names: the autoUpdater singleton (lazy), NoOpLogger, CancellationError", async () => {
    const m = await import('electron-tuf');
    expect(m.autoUpdater).toBeInstanceOf(m.TufAppUpdater); // no instance yet: Electron is not loaded here
    expect(typeof m.NoOpLogger).toBe('function');
    expect(typeof m.UpdaterSignal).toBe('function');
    expect(new m.CancellationError()).toBeInstanceOf(m.CancelledError);
    expect([m.DOWNLOAD_PROGRESS, m.UPDATE_DOWNLOADED]).toEqual(['download-progress', 'update-downloaded']);
  });

  it('subpaths share one error hierarchy', async () => {
    const root = await import('electron-tuf');
    const core = await import('electron-tuf/core');
    const client = await import('electron-tuf/client');
    expect(core.TufError).toBe(root.TufError);
    expect(client.DownloadHTTPError).toBe(root.DownloadHTTPError);
    expect(new client.SlowRetrievalError('x').name).toBe('SlowRetrievalError');
  });

  it('electron-tuf/publisher exposes the repository commands', async () => {
    const pub = await import('electron-tuf/publisher');
    expect(Object.keys(pub).length).toBeGreaterThan(5);
  });

  it('electron-tuf/release exposes the release layout shared by publisher and app updater', async () => {
    const release = await import('electron-tuf/release');
    expect(release.channelIndexPath('stable', 'linux', 'x64')).toBe('channels/stable/linux-x64.json');
  });
});
