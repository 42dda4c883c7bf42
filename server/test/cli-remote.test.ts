/** `electron-tuf repo add|remove|list --server URL --token T` against an embedded server. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ourClient, tempDir, tufJsClient, type TestRepo } from '../../test/publisher/helpers.js';
import { parseChunkMap } from '../../updater/release/index.js';
import { CHUNK_MAP_MIN_BYTES } from 'electron-tuf/publisher';
import { installerBytes, settled, sha256, startPublishingServer, stopTestServer, type TestServer } from './helpers.js';

let server: TestServer;
let repo: TestRepo;
let token: string;
let work: string;

beforeAll(async () => {
  ({ server, repo, token } = await startPublishingServer());
  work = await tempDir('etuf-cli-remote-');
}, 120_000);

afterAll(() => stopTestServer(server));

describe('repo commands with --server', () => {
  it('adds two releases (waiting, then --no-wait), lists them, and both clients download the newest', async () => {
    const v1 = installerBytes('cli-1');
    const v2 = installerBytes('cli-2', CHUNK_MAP_MIN_BYTES); // large enough for a chunk map
    await writeFile(join(work, 'App-1.0.0.zip'), v1);
    await writeFile(join(work, 'App-2.0.0.zip'), v2);
    const first = cli(work);
    const code = await first.run(
      'repo',
      'add',
      'app',
      'App-1.0.0.zip',
      '--server',
      server.url,
      '--token',
      token,
      '--version',
      '1.0.0',
      '--platform',
      'linux',
      '--arch',
      'x64',
    );
    expect(first.err.join('\n')).toMatch(/uploading App-1.0.0.zip/);
    expect([code, first.out.at(-1)]).toEqual([0, expect.stringMatching(/^published/)]);

    // The token from the environment; --no-wait answers with the task id at once.
    const second = cli(work, { ELECTRON_TUF_TOKEN: token });
    expect(
      await second.run(
        'repo',
        'add',
        'app',
        'App-2.0.0.zip',
        '--server',
        server.url,
        '--version',
        '2.0.0',
        '--platform',
        'linux',
        '--arch',
        'x64',
        '--no-wait',
      ),
    ).toBe(0);
    const task = /^task (\S+)$/.exec(second.out[0])![1];
    expect((await settled(server, token, task)).body.state).toBe('succeeded');

    const listed = cli(work);
    expect(await listed.run('repo', 'list', 'app', '--server', server.url, '--token', token)).toBe(0);
    expect(listed.out.map((l) => l.split(/\s+/)[0])).toEqual(['1.0.0', '2.0.0']);

    const tree = {
      metadataUrl: `${server.url}/repositories/app/metadata/`,
      targetsUrl: `${server.url}/repositories/app/targets/`,
    };
    // The service publishes through the same staging as `repo add`: the zip's chunk map comes too.
    const map = '2.0.0/App-2.0.0.zip.chunks.json';
    for (const client of [ourClient, tufJsClient]) {
      const view = await client(tree, repo.trustedRoot, ['2.0.0/App-2.0.0.zip', map]);
      expect(sha256(view.files.get('2.0.0/App-2.0.0.zip')!)).toBe(sha256(v2));
      expect(parseChunkMap(view.files.get(map)!).file).toEqual({ length: v2.length, sha256: sha256(v2) });
    }

    const removed = cli(work);
    expect(
      await removed.run('repo', 'remove', 'app', '--version', '2.0.0', '--server', server.url, '--token', token),
    ).toBe(0);
    const after = await ourClient(tree, repo.trustedRoot, ['2.0.0/App-2.0.0.zip', map]);
    expect(after.files.get('2.0.0/App-2.0.0.zip')).toBeUndefined();
    expect(after.files.get(map)).toBeUndefined();
  });

  it('fails with one line for a refused token, and refuses plain http to another host', async () => {
    await writeFile(join(work, 'App-3.0.0.zip'), installerBytes('cli-3'));
    const bad = cli(work);
    expect(
      await bad.run(
        'repo',
        'add',
        'app',
        'App-3.0.0.zip',
        '--server',
        server.url,
        '--token',
        'etuf_' + 'B'.repeat(43),
        '--version',
        '3.0.0',
        '--platform',
        'linux',
        '--arch',
        'x64',
      ),
    ).toBe(1);
    expect(bad.err.at(-1)).toMatch(/401 unknown token/);
    const insecure = cli(work);
    expect(await insecure.run('repo', 'list', 'app', '--server', 'http://example.com', '--token', token)).toBe(1);
    expect(insecure.err.at(-1)).toMatch(/https/);
  });

  it('electron-tuf server loads the service package lazily', async () => {
    const help = cli(work);
    expect(await help.run('server', '--help')).toBe(0);
    expect(help.out.join('\n')).toMatch(/server start --data DIR/);
    const bad = cli(work);
    expect(await bad.run('server', 'start')).toBe(1);
    expect(bad.err.at(-1)).toMatch(/--data DIR is required/);
  });
});
