/**
 * A real (offline) electron-builder build with electron-tuf's afterAllArtifactBuild and no
 * afterPack of ours: the hook learns platform, arch and version from electron-builder's own
 * BuildResult (publisher/electron-builder/infer.ts) and signs the installer.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDemoApp } from '../../build/build-app.js';
import { createElectronBuilderHooks } from '../../publisher/electron-builder.js';
import { serveRepository, verifyRepository } from '../../publisher/index.js';
import { parseChannelIndex } from '../../updater/release/index.js';
import { cleanupTemp, makeRepo, ourClient, tempDir } from '../publisher/helpers.js';

afterAll(cleanupTemp);

describe('afterAllArtifactBuild alone in a real build', () => {
  it('signs the one-platform, one-arch build from the build result', async () => {
    const r = await makeRepo();
    const logs: string[] = [];
    const hooks = createElectronBuilderHooks({
      env: { ELECTRON_TUF_REPOSITORY: r.repo, ELECTRON_TUF_KEYS: r.keys },
      log: (line) => logs.push(line),
    });
    const out = await tempDir();
    const build = await buildDemoApp({
      version: '1.3.0',
      outDir: join(out, 'out'),
      targets: ['tar.gz'],
      hooks: { afterPack: () => undefined, afterAllArtifactBuild: hooks.afterAllArtifactBuild },
    });
    expect(build.artifacts.map((p) => p.slice(p.lastIndexOf('/') + 1))).toEqual([
      'electron-tuf-demo-1.3.0-linux-x64.tar.gz',
    ]);
    expect(logs).toContain('electron-tuf: 1.3.0 linux-x64 on stable: electron-tuf-demo-1.3.0-linux-x64.tar.gz added');
    expect((await verifyRepository({ repo: r.repo, checkTargetFiles: true })).problems).toEqual([]);
    const server = await serveRepository({ repo: r.repo });
    try {
      const path = 'channels/stable/linux-x64.json';
      const index = parseChannelIndex((await ourClient(server, r.trustedRoot, [path])).files.get(path)!);
      expect(index.releases.map((release) => release.version)).toEqual(['1.3.0']);
    } finally {
      await server.close();
    }
  }, 120_000);
});
