/**
 * The app updater (TufAppUpdater, with a NodeHost instead of Electron) against the embedded
 * server: a staged rollout moved through the API and a yank change what the app is offered.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHost, TufAppUpdater } from '../../updater/electron/index.js';
import { tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import {
  addRelease,
  bootstrapRepository,
  call,
  installerBytes,
  settled,
  startAppServer,
  stopTestServer,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let repo: TestRepo;

beforeAll(async () => {
  ({ server, repo } = await startAppServer());
  await bootstrapRepository(server, server.adminToken, 'app', repo);
}, 120_000);

afterAll(() => stopTestServer(server));

async function offered(): Promise<string | undefined> {
  const dir = await tempDir('etuf-app-');
  const updater = new TufAppUpdater({
    host: new NodeHost({ version: '1.0.0', userDataPath: join(dir, 'userData') }),
    metadataUrl: `${server.url}/repositories/app/metadata/`,
    targetsUrl: `${server.url}/repositories/app/targets/`,
    trustedRoot: repo.trustedRoot,
    platform: 'linux',
    arch: 'x64',
    installKind: 'tar.gz',
    logger: null,
  });
  updater.autoDownload = false;
  const result = await updater.checkForUpdates();
  return result?.isUpdateAvailable ? result.updateInfo.version : undefined;
}

async function publish(version: string, staging?: number): Promise<void> {
  const a = await addRelease(server, server.adminToken, 'app', {
    version,
    staging,
    files: { [`App-${version}.tar.gz`]: installerBytes(version) },
  });
  expect((await settled(server, server.adminToken, a.body.task)).body.state).toBe('succeeded');
}

async function settle(answer: { status: number; body: { task: string } }): Promise<void> {
  expect(answer.status).toBe(202);
  expect((await settled(server, server.adminToken, answer.body.task)).body.state).toBe('succeeded');
}

describe('app updater against the service', () => {
  it('follows a staged rollout moved through the API, and a yank', async () => {
    await publish('1.0.0');
    await publish('1.1.0');
    await publish('2.0.0', 0);
    expect(await offered()).toBe('1.1.0'); // 2.0.0 is staged to nobody yet

    await settle(
      await call(server, 'PATCH', '/api/v1/repositories/app/releases/2.0.0', {
        token: server.adminToken,
        json: { platform: 'linux', arch: 'x64', channel: 'stable', staging: 100 },
      }),
    );
    expect(await offered()).toBe('2.0.0');

    await settle(await call(server, 'DELETE', '/api/v1/repositories/app/releases/2.0.0', { token: server.adminToken }));
    expect(await offered()).toBe('1.1.0');
  }, 60_000);
});
