/**
 * The embedded mode end to end: bootstrap from `repo init` output, releases through the API,
 * our client and tuf-js download the newest installer from the served tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ourClient, tufJsClient, type TestRepo } from '../../test/publisher/helpers.js';
import {
  addRelease,
  bootstrapBody,
  call,
  installerBytes,
  settled,
  sha256,
  startAppServer,
  stopTestServer,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let repo: TestRepo;
const tree = (): { metadataUrl: string; targetsUrl: string } => ({
  metadataUrl: `${server.url}/repositories/app/metadata/`,
  targetsUrl: `${server.url}/repositories/app/targets/`,
});

/** The signed channel index, as our client downloads it. */
async function channelIndex(): Promise<{ releases: Array<{ version: string; stagingPercentage?: number }> }> {
  const path = 'channels/stable/linux-x64.json';
  const view = await ourClient(tree(), repo.trustedRoot, [path]);
  return JSON.parse(view.files.get(path)!.toString('utf8')) as {
    releases: Array<{ version: string; stagingPercentage?: number }>;
  };
}

beforeAll(async () => {
  ({ server, repo } = await startAppServer({ init: { bins: 4 } }));
}, 120_000);

afterAll(() => stopTestServer(server));

describe('embedded server', () => {
  it('bootstraps a repository from repo init output and publishes two releases that both clients download', async () => {
    const boot = await call(server, 'POST', '/api/v1/repositories', {
      token: server.adminToken,
      json: await bootstrapBody('app', repo),
    });
    expect(boot.status).toBe(201);
    expect(boot.body).toMatchObject({ name: 'app', rootVersion: 1 });

    const token = await call(server, 'POST', '/api/v1/tokens', {
      token: server.adminToken,
      json: { scope: 'publish', repository: 'app', label: 'ci' },
    });
    expect(token.status).toBe(201);
    const ci = token.body.token;

    const v1 = installerBytes('one');
    const v2 = installerBytes('two', 20_000);
    const a1 = await addRelease(server, ci, 'app', { version: '1.0.0', files: { 'App-1.0.0.tar.gz': v1 } });
    const a2 = await addRelease(server, ci, 'app', { version: '1.1.0', files: { 'App-1.1.0.tar.gz': v2 } });
    expect([a1.status, a2.status]).toEqual([202, 202]);
    const t1 = await settled(server, ci, a1.body.task);
    const t2 = await settled(server, ci, a2.body.task);
    expect([t1.body.state, t2.body.state]).toEqual(['succeeded', 'succeeded']);

    const paths = ['1.0.0/App-1.0.0.tar.gz', '1.1.0/App-1.1.0.tar.gz'];
    const ours = await ourClient(tree(), repo.trustedRoot, paths);
    const theirs = await tufJsClient(tree(), repo.trustedRoot, paths);
    for (const view of [ours, theirs]) {
      expect(sha256(view.files.get(paths[1])!)).toBe(sha256(v2));
      expect(sha256(view.files.get(paths[0])!)).toBe(sha256(v1));
    }
    // The channel index names the newest release first.
    expect((await channelIndex()).releases.map((r) => r.version)).toEqual(['1.1.0', '1.0.0']);

    // Every write was audited, with the token's id and never the token.
    const audit = await server.db.query<{ token_id: string | null; action: string; status: number }>(
      'SELECT token_id, action, status FROM audit_log ORDER BY id',
    );
    expect(audit.map((a) => `${a.action} ${a.status}`)).toContain('POST /api/v1/repositories/:repo/releases 202');
    expect(audit.every((a) => a.token_id !== null)).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(ci);
  });

  it('yanks a release and changes a staged rollout through the worker', async () => {
    const yank = await call(server, 'DELETE', '/api/v1/repositories/app/releases/1.1.0', { token: server.adminToken });
    expect(yank.status).toBe(202);
    expect((await settled(server, server.adminToken, yank.body.task)).body.state).toBe('succeeded');
    const after = await ourClient(tree(), repo.trustedRoot, ['1.1.0/App-1.1.0.tar.gz', '1.0.0/App-1.0.0.tar.gz']);
    expect(after.files.get('1.1.0/App-1.1.0.tar.gz')).toBeUndefined();
    expect(after.files.get('1.0.0/App-1.0.0.tar.gz')).toBeDefined();
    expect((await channelIndex()).releases.map((r) => r.version)).toEqual(['1.0.0']);

    const stage = await call(server, 'PATCH', '/api/v1/repositories/app/releases/1.0.0', {
      token: server.adminToken,
      json: { platform: 'linux', arch: 'x64', channel: 'stable', staging: 10 },
    });
    expect(stage.status).toBe(202);
    const done = await settled(server, server.adminToken, stage.body.task);
    expect(done.body.state).toBe('succeeded');
    const index = await channelIndex();
    expect(index.releases.map((r) => [r.version, r.stagingPercentage])).toEqual([['1.0.0', 10]]);
  });

  it('serves the OpenAPI document', async () => {
    const doc = await call(server, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/repositories/{repo}/releases');
  });
});
