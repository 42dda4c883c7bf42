/**
 * Distributed root signing with a 2-of-3 root: the service holds no root key; an admin stages a
 * root renewal, two holders sign it offline (`repo sign --out`) and upload their signatures; the
 * root is published with the second one, and clients move to it.
 */
import { cp, mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStaged } from 'electron-tuf/publisher';
import { ourClient, publishedDigest, tempDir, type TestRepo } from '../../test/publisher/helpers.js';
import {
  bootstrapBody,
  call,
  settled,
  splitRootKeys,
  startAppServer,
  stopTestServer,
  type ApiBody,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let repo: TestRepo;
let rootKeyFiles: string[];

beforeAll(async () => {
  ({ server, repo } = await startAppServer({ init: { rootKeys: 3, rootThreshold: 2 } }));
  // The service gets the online keys only: the root key files stay with their holders.
  const split = await splitRootKeys(repo);
  rootKeyFiles = split.rootKeyFiles;
  expect(rootKeyFiles).toHaveLength(3);
  const serviceKeys = split.serviceKeys;
  const body = { ...(await bootstrapBody('app', repo)), keys: { dir: serviceKeys } };
  expect((await call(server, 'POST', '/api/v1/repositories', { token: server.adminToken, json: body })).status).toBe(
    201,
  );
}, 120_000);

afterAll(() => stopTestServer(server));

/** A holder's offline signature over the staged root fetched from the service. */
async function holderSignature(staged: string, keyFile: string): Promise<string> {
  const copy = join(await tempDir('etuf-holder-'), 'repo');
  await cp(join(server.data, 'repositories', 'app', 'metadata'), join(copy, 'metadata'), { recursive: true });
  await mkdir(join(copy, 'staged'), { recursive: true });
  await writeFile(join(copy, 'staged', 'root.json'), staged);
  const out = join(copy, '..', 'sig.json');
  await signStaged({ repo: copy, role: 'root', keyFile, out, env: {} });
  return readFile(out, 'utf8');
}

async function run(path: string, json: unknown): Promise<ApiBody> {
  const a = await call(server, 'POST', path, { token: server.adminToken, json });
  expect(a.status).toBe(202);
  return (await settled(server, server.adminToken, a.body.task)).body;
}

describe('distributed root signing', () => {
  it('publishes a staged root once 2 of 3 offline holders have signed', async () => {
    const tree = {
      metadataUrl: `${server.url}/repositories/app/metadata/`,
      targetsUrl: `${server.url}/repositories/app/targets/`,
    };
    const rotated = await run('/api/v1/repositories/app/root/rotations', { role: 'root', expiresDays: 400 });
    expect(rotated).toMatchObject({
      state: 'succeeded',
      result: { published: false, staged: { version: 2, ready: false } },
    });

    const staged = await call(server, 'GET', '/api/v1/repositories/app/root/staged', { token: server.adminToken });
    expect(staged.status).toBe(200);
    const before = await publishedDigest(join(server.data, 'repositories', 'app'));

    // A signature that does not verify fails its task and changes nothing.
    const bad = JSON.parse(await holderSignature(staged.body.staged, rootKeyFiles[0])) as { sig: string };
    bad.sig = bad.sig.replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
    expect(await run('/api/v1/repositories/app/root/signatures', { signature: JSON.stringify(bad) })).toMatchObject({
      state: 'failed',
    });

    const first = await run('/api/v1/repositories/app/root/signatures', {
      signature: await holderSignature(staged.body.staged, rootKeyFiles[0]),
    });
    expect(first).toMatchObject({ state: 'succeeded', result: { status: { ready: false } } });
    expect(await publishedDigest(join(server.data, 'repositories', 'app'))).toEqual(before);
    expect((await ourClient(tree, repo.trustedRoot, [])).rootVersion).toBe(1);

    const second = await run('/api/v1/repositories/app/root/signatures', {
      signature: await holderSignature(staged.body.staged, rootKeyFiles[2]),
    });
    expect(second).toMatchObject({ state: 'succeeded', result: { published: 2 } });
    expect((await ourClient(tree, repo.trustedRoot, [])).rootVersion).toBe(2);
  }, 60_000);
});
