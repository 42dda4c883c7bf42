/**
 * The key ceremony against the service with the CLI (publisher/cli/remote-root-commands.ts):
 * `repo bootstrap --server` (refused, with nothing kept, when the referenced online keys cannot
 * sign for the root), then a 2-of-3 root rotation signed by two holders with `repo sign --server`
 * (one signing here in one go, one uploading a signature made offline); the new root is
 * published and our client and tuf-js follow it.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyDirectory, signStaged } from 'electron-tuf/publisher';
import { cli, makeRepo, ourClient, tempDir, tufJsClient, type TestRepo } from '../../test/publisher/helpers.js';
import { call, settled, splitRootKeys, startAppServer, stopTestServer, type TestServer } from './helpers.js';

let server: TestServer;
let repo: TestRepo;
let serviceKeys: string;
let rootKeyFiles: string[];
let work: string;

/** Runs `electron-tuf repo ...args --server URL --token ADMIN`. */
async function remote(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = cli(work);
  const code = await o.run('repo', ...args, '--server', server.url, '--token', server.adminToken);
  return { code, out: o.out.join('\n'), err: o.err.join('\n') };
}

beforeAll(async () => {
  ({ server, repo } = await startAppServer({ init: { rootKeys: 3, rootThreshold: 2 } }));
  work = await tempDir('etuf-ceremony-');
  // The service gets the online keys only: the root key files stay with their holders.
  ({ serviceKeys, rootKeyFiles } = await splitRootKeys(repo));
  expect(rootKeyFiles).toHaveLength(3);
}, 120_000);

afterAll(() => stopTestServer(server));

/** A signer module claiming the repository's timestamp key id while signing with another key. */
async function lyingSigners(): Promise<string> {
  const root = JSON.parse(await readFile(join(repo.repo, 'metadata', '1.root.json'), 'utf8')) as {
    signed: { roles: { timestamp: { keyids: string[] } }; keys: Record<string, unknown> };
  };
  const keyid = root.signed.roles.timestamp.keyids[0];
  const file = join(work, 'lying-signers.mjs');
  await writeFile(
    file,
    `import { generateKeyPairSync, sign } from 'node:crypto';
const { privateKey } = generateKeyPairSync('ed25519');
export function signers() {
  return { timestamp: [{ keyid: ${JSON.stringify(keyid)}, publicKey: ${JSON.stringify(root.signed.keys[keyid])},
    sign: async (data) => sign(null, data, privateKey).toString('hex') }] };
}
`,
  );
  return file;
}

describe('repo bootstrap --server', () => {
  it('refuses online keys that are missing or not the root’s, keeping nothing; then bootstraps', async () => {
    const other = await makeRepo();
    for (const [keys, why] of [
      [['--keys-dir', join(work, 'no-such-keys')], /keys directory .* does not exist/],
      [['--keys-dir', other.keys], /need 1 timestamp key/],
      [
        ['--keys-env', 'targets=APP_TARGETS', '--keys-env', 'snapshot=APP_SNAP', '--keys-env', 'timestamp=APP_TS'],
        /need 1/,
      ],
      [
        ['--keys-dir', serviceKeys, '--keys-module', await lyingSigners()],
        /timestamp signer for key \w{8} makes signatures that do not verify/,
      ],
    ] as const) {
      const r = await remote('bootstrap', repo.repo, '--name', 'app', ...keys);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error: POST \/repositories: 400 the online keys given for app cannot sign for its root/);
      expect(r.err).toMatch(why);
      expect(r.err.split('\n')).toHaveLength(1);
    }
    expect((await call(server, 'GET', '/api/v1/repositories', { token: server.adminToken })).body).toEqual({
      repositories: [],
    });
    expect(await readdir(join(server.data, 'repositories'))).toEqual([]);

    const relative = await remote('bootstrap', repo.repo, '--name', 'app', '--keys-dir', 'keys');
    expect([relative.code, relative.err]).toEqual([1, expect.stringMatching(/absolute/)]);

    const local = cli(work);
    expect(await local.run('repo', 'bootstrap', repo.repo, '--name', 'app')).toBe(1);
    expect(local.err).toEqual([expect.stringMatching(/works with the repository service: add --server URL/)]);
    const help = cli(work);
    expect(await help.run('repo', '--server', server.url, '--help')).toBe(0);
    expect(help.out.join('\n')).toMatch(/repo bootstrap <repo-dir> --name N[\s\S]*repo sign <name> root \(--key/);

    const ok = await remote('bootstrap', repo.repo, '--name', 'app', '--keys-dir', serviceKeys);
    expect([ok.code, ok.out]).toEqual([0, expect.stringMatching(/^Bootstrapped app: root version 1/)]);
  }, 60_000);
});

describe('repo staged / repo sign --server', () => {
  it('two holders sign a 2-of-3 root rotation; it is published and both clients follow it', async () => {
    const tree = {
      metadataUrl: `${server.url}/repositories/app/metadata/`,
      targetsUrl: `${server.url}/repositories/app/targets/`,
    };
    const trusted = join(repo.repo, 'metadata', '1.root.json');
    // Rotate the timestamp key: only root 2 trusts the new key, so a client that reads the new
    // timestamp has accepted root 2.
    const root1 = JSON.parse(await readFile(trusted, 'utf8')) as {
      signed: { roles: { timestamp: { keyids: string[] } } };
    };
    const newKey = await (await KeyDirectory.open(serviceKeys)).generate('timestamp', 'ed25519');
    const rotation = await call(server, 'POST', '/api/v1/repositories/app/root/rotations', {
      token: server.adminToken,
      json: {
        role: 'timestamp',
        addKeys: [JSON.stringify(newKey.publicKey)],
        removeKeys: root1.signed.roles.timestamp.keyids,
      },
    });
    expect((await settled(server, server.adminToken, rotation.body.task)).body).toMatchObject({ state: 'succeeded' });

    const shown = await remote('staged', 'app', '--root', trusted, '--out', 'staged.json');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/Staged root version 2 of app/);
    expect(shown.out).toMatch(new RegExp(`timestamp +1 of ${newKey.keyid.slice(0, 8)} +\\(was 1 of`));
    const saved = await readFile(join(work, 'staged.json'), 'utf8');

    // A key that is no root key of this repository signs nothing; a root of another repository is no trust anchor.
    const stranger = await makeRepo();
    const strangerKey = join(stranger.keys, 'root-1.key.pem');
    const wrongKey = await remote('sign', 'app', 'root', '--key', strangerKey, '--root', trusted);
    expect([wrongKey.code, wrongKey.err]).toEqual([1, expect.stringMatching(/is not a root key of version 1 or 2/)]);
    const strangerRoot = join(stranger.repo, 'metadata', '1.root.json');
    const wrongRoot = await remote('sign', 'app', 'root', '--key', rootKeyFiles[0], '--root', strangerRoot);
    expect(wrongRoot.code).toBe(1);
    expect(wrongRoot.err).toMatch(/is not root version 1 of repository app on the service/);

    // Holder 1 signs here in one go.
    const first = await remote('sign', 'app', 'root', '--key', rootKeyFiles[0], '--root', trusted);
    expect(first.err).toMatch(/Staged root version 2 of app/);
    expect([first.code, first.out]).toEqual([0, expect.stringMatching(/^signature accepted; the staged root waits/)]);
    expect((await ourClient(tree, repo.trustedRoot, [])).rootVersion).toBe(1);

    // Holder 2 signs offline (a copy of the metadata and the saved staged root) and uploads the signature.
    const copy = join(await tempDir('etuf-holder-'), 'repo');
    await cp(join(repo.repo, 'metadata'), join(copy, 'metadata'), { recursive: true });
    await mkdir(join(copy, 'staged'), { recursive: true });
    await writeFile(join(copy, 'staged', 'root.json'), saved);
    await signStaged({ repo: copy, role: 'root', keyFile: rootKeyFiles[2], out: join(work, 'sig.json'), env: {} });
    const second = await remote('sign', 'app', 'root', '--signature', 'sig.json');
    expect([second.code, second.out]).toEqual([0, expect.stringMatching(/^published root version 2/)]);

    expect((await ourClient(tree, repo.trustedRoot, [])).rootVersion).toBe(2);
    await expect(tufJsClient(tree, repo.trustedRoot, [])).resolves.toBeDefined();
    const timestamp = JSON.parse(
      await readFile(join(server.data, 'repositories', 'app', 'metadata', 'timestamp.json'), 'utf8'),
    ) as { signatures: Array<{ keyid: string }> };
    expect(timestamp.signatures.map((s) => s.keyid)).toEqual([newKey.keyid]);

    const none = await remote('staged', 'app');
    expect([none.code, none.err]).toEqual([1, expect.stringMatching(/404 no root change is staged/)]);
  }, 120_000);
});
