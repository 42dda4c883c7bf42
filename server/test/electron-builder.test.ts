/**
 * The electron-builder hook publishing through the service (ELECTRON_TUF_SERVER and
 * ELECTRON_TUF_TOKEN set): the build machine holds a token and no key; the installers are
 * uploaded, published in one round, and a client downloads them. A refused release fails the
 * hook with one line naming it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElectronBuilderHooks } from '../../publisher/electron-builder.js';
import {
  cleanupTemp,
  makeRepo,
  ourClient,
  tempDir,
  writeInstaller,
  type TestRepo,
} from '../../test/publisher/helpers.js';
import { bootstrapRepository, publishToken, sha256, startTestServer, type TestServer } from './helpers.js';

let server: TestServer;
let repo: TestRepo;
let out: string;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  repo = await makeRepo({ bins: 4 });
  await bootstrapRepository(server, server.adminToken, 'demo', repo);
  token = await publishToken(server, server.adminToken, 'demo');
  out = await tempDir('etuf-eb-remote-');
  // No afterPack: the build result alone says what was built; the repository's name is package.json's.
  await writeFile(join(out, 'package.json'), JSON.stringify({ name: 'demo', version: '2.0.0' }));
}, 60_000);

afterAll(async () => {
  await server?.close();
  await cleanupTemp();
});

const targets = (platform: string, ...names: string[]) =>
  new Map([[{ nodeName: platform }, new Map(names.map((n) => [n, {}]))]]);

describe('electron-builder hook through the service', () => {
  it('uploads and publishes the build with a token, no key', async () => {
    expect(typeof token).toBe('string');
    const logs: string[] = [];
    const env = { ELECTRON_TUF_SERVER: server.url, ELECTRON_TUF_TOKEN: token, ELECTRON_TUF_STAGING: '25' };
    const hooks = createElectronBuilderHooks({ env, log: (line) => logs.push(line), projectDir: out });
    const mac = await writeInstaller(out, 'Demo-2.0.0-universal-mac.zip');
    const dmg = await writeInstaller(out, 'Demo-2.0.0-universal.dmg');
    expect(
      await hooks.afterAllArtifactBuild({
        artifactPaths: [mac, dmg],
        platformToTargets: targets('darwin', 'zip', 'dmg'),
      }),
    ).toEqual([]);
    expect(
      logs.some((l) => /^electron-tuf: 2\.0\.0 darwin-universal published through the service \(task /.test(l)),
    ).toBe(true);

    const paths = ['2.0.0/Demo-2.0.0-universal-mac.zip', '2.0.0/Demo-2.0.0-universal.dmg'];
    const view = await ourClient(
      {
        metadataUrl: `${server.url}/repositories/demo/metadata/`,
        targetsUrl: `${server.url}/repositories/demo/targets/`,
      },
      repo.trustedRoot,
      paths,
    );
    expect(sha256(view.files.get(paths[0])!)).toBe(sha256(await readFile(mac)));
    expect(sha256(view.files.get(paths[1])!)).toBe(sha256(await readFile(dmg)));
  }, 60_000);

  it('fails with one line naming the release the service refused', async () => {
    const hooks = createElectronBuilderHooks({
      env: { ELECTRON_TUF_SERVER: server.url, ELECTRON_TUF_TOKEN: token },
      log: () => undefined,
      projectDir: out,
    });
    // A second zip for 2.0.0 darwin-universal under another name: one installer of each kind.
    const other = await writeInstaller(out, 'Demo-2.0.0-universal-mac-other.zip', 4096, 'other');
    await expect(
      hooks.afterAllArtifactBuild({ artifactPaths: [other], platformToTargets: targets('darwin', 'zip') }),
    ).rejects.toThrow(
      /signing 1 installer\(s\) of 2\.0\.0 through http:\/\/127\.0\.0\.1:\d+ \(repository demo\) failed: the service did not publish 2\.0\.0 darwin-universal \(task [^)]+\): .*already has a zip installer/,
    );
  }, 60_000);

  it('refuses a server without a token before uploading anything', async () => {
    const hooks = createElectronBuilderHooks({
      env: { ELECTRON_TUF_SERVER: server.url },
      log: () => undefined,
      projectDir: out,
    });
    const file = await writeInstaller(out, 'Demo-2.0.0-universal-mac-x.zip');
    await expect(
      hooks.afterAllArtifactBuild({ artifactPaths: [file], platformToTargets: targets('darwin', 'zip') }),
    ).rejects.toThrow(/ELECTRON_TUF_SERVER is set but ELECTRON_TUF_TOKEN is not/);
  });
});
