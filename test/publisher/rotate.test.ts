/**
 * Key rotation: a 2-of-3 root rotated with detached signatures gathered from offline holders,
 * online-key rotations that re-sign what the new keys sign, bins keys, and root expiry. Clients
 * that trusted root 1 follow the chain.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addRelease,
  generateKeyFile,
  KeyDirectory,
  repositoryStatus,
  rotateKeys,
  serveRepository,
  signStaged,
  verifyRepository,
  type RepositoryServer,
} from '../../publisher/index.js';
import {
  cleanupTemp,
  cli,
  exists,
  makeRepo,
  ourClient,
  tempDir,
  tufJsClient,
  writeInstaller,
  type TestRepo,
} from './helpers.js';

afterAll(cleanupTemp);

const DAY = 86_400_000;

describe('root rotation with offline holders (2 of 3)', () => {
  let r: TestRepo;
  let server: RepositoryServer;
  const holders: string[] = [];
  const rootKeyids: string[] = [];

  beforeEach(async () => {
    r = await makeRepo({ rootKeys: 3, rootThreshold: 2 });
    server = await serveRepository({ repo: r.repo });
    // The ceremony's root keys go to three holders; the publishing machine keeps none.
    const dir = await KeyDirectory.open(r.keys);
    holders.length = 0;
    rootKeyids.length = 0;
    for (const entry of dir.list('root')) {
      const holder = await tempDir('etuf-holder-');
      await rename(join(r.keys, entry.file), join(holder, 'root.key.pem'));
      holders.push(join(holder, 'root.key.pem'));
      rootKeyids.push(entry.keyid);
    }
  });
  afterEach(() => server.close());

  it('stages root 2, gathers detached signatures, publishes at both thresholds; clients follow the chain', async () => {
    const file = await writeInstaller(r.dir, 'app-1.0.0.zip', 2000);
    await addRelease({
      repo: r.repo,
      keys: r.keys,
      env: {},
      files: [file],
      version: '1.0.0',
      platform: 'win32',
      arch: 'x64',
    });
    const appDir = join(await tempDir('etuf-app-'), 'metadata');
    expect((await ourClient(server, r.trustedRoot, [], appDir)).rootVersion).toBe(1);

    // Holder 1 leaves, a new holder 4 joins with a key made on their own machine.
    const newcomer = await generateKeyFile(join(await tempDir('etuf-holder-'), 'root4.key.pem'));
    const rotated = await rotateKeys({
      repo: r.repo,
      keys: r.keys,
      env: {},
      role: 'root',
      addKeyFiles: [newcomer.publicKeyFile],
      removeKeys: [rootKeyids[0].slice(0, 10)],
    });
    expect(rotated.published).toBeUndefined();
    expect(rotated.staged!.version).toBe(2);
    expect(rotated.staged!.ready).toBe(false);
    expect(await exists(join(r.repo, 'metadata', '2.root.json'))).toBe(false);

    // Holders 1 and 2 sign on their machines (copies of the repo would do; --out keeps it detached).
    const sigDir = await tempDir('etuf-sigs-');
    for (const [i, key] of holders.slice(0, 2).entries()) {
      const out = join(sigDir, `sig${i + 1}.json`);
      const made = await signStaged({ repo: r.repo, env: {}, role: 'root', keyFile: key, out });
      expect(made.out).toBe(out);
      expect(made.published).toBeUndefined();
    }
    // A key that is not a root key is refused; a signature for other content too.
    const stranger = await generateKeyFile(join(sigDir, 'stranger.key.pem'));
    await expect(signStaged({ repo: r.repo, env: {}, role: 'root', keyFile: stranger.privateKeyFile })).rejects.toThrow(
      /not a root key/,
    );

    // The publisher imports them: old threshold (1, 2 of 1-2-3) is met, new (2 of 2-3-4) is not.
    const imported = await signStaged({
      repo: r.repo,
      env: {},
      role: 'root',
      signatureFiles: [join(sigDir, 'sig1.json'), join(sigDir, 'sig2.json')],
    });
    expect(imported.status.current.signedBy.length).toBe(2);
    expect(imported.status.next.signedBy).toEqual([rootKeyids[1]]);
    expect(imported.status.ready).toBe(false);
    expect(imported.status.waitingFor.sort()).toEqual([rootKeyids[2], newcomer.keyid].sort());

    const { run, out } = cli(r.dir);
    expect(await run('repo', 'status', r.repo)).toBe(0);
    expect(out.join('\n')).toMatch(/Staged root version 2/);
    expect(out.join('\n')).toMatch(new RegExp(`waiting for a signature by one of: .*${newcomer.keyid.slice(0, 8)}`));

    // The newcomer signs: both thresholds met, root 2 is published.
    const done = await signStaged({ repo: r.repo, env: {}, role: 'root', keyFile: newcomer.privateKeyFile });
    expect(done.published!.rootVersion).toBe(2);
    expect(await exists(join(r.repo, 'staged', 'root.json'))).toBe(false);
    expect((await repositoryStatus({ repo: r.repo })).staged).toEqual([]);

    // A second change: a new timestamp key, which the publishing machine holds.
    const ts = await rotateKeys({
      repo: r.repo,
      keys: r.keys,
      env: {},
      role: 'timestamp',
      generate: 1,
      removeKeys: [await oldTimestampKeyid(r)],
    });
    expect(ts.staged!.ready).toBe(false);
    for (const key of [holders[1], holders[2]])
      await signStaged({ repo: r.repo, keys: r.keys, env: {}, role: 'root', keyFile: key });
    const status = await repositoryStatus({ repo: r.repo });
    expect(status.roles.find((x) => x.role === 'root')!.version).toBe(3);
    expect(status.roles.find((x) => x.role === 'timestamp')!.signedBy).toEqual([ts.generated[0].keyid]);

    // The installed app (root 1) and a fresh tuf-js walk 1 -> 2 -> 3 and still download.
    const app = await ourClient(server, r.trustedRoot, ['1.0.0/app-1.0.0.zip'], appDir);
    expect(app.rootVersion).toBe(3);
    expect(app.files.get('1.0.0/app-1.0.0.zip')).toEqual(await readFile(file));
    const peer = await tufJsClient(server, r.trustedRoot, ['1.0.0/app-1.0.0.zip']);
    expect(peer.files.get('1.0.0/app-1.0.0.zip')).toEqual(await readFile(file));
    const verified = await verifyRepository({ repo: r.repo });
    expect(verified.problems).toEqual([]);
    expect(verified.rootVersion).toBe(3);
  });

  it('refuses to publish an online-key rotation when the new key is not at hand', async () => {
    const elsewhere = await tempDir('etuf-otherkeys-');
    const oldSnapshot = (await KeyDirectory.open(r.keys)).list('snapshot')[0].keyid;
    const rotated = await rotateKeys({
      repo: r.repo,
      keys: elsewhere,
      env: {},
      role: 'snapshot',
      generate: 1,
      removeKeys: [oldSnapshot],
    });
    expect(rotated.staged!.rotatedRoles).toEqual(['snapshot']);
    // Threshold met by two holders, but the new snapshot key is in `elsewhere`, not in r.keys.
    await signStaged({ repo: r.repo, env: {}, role: 'root', keyFile: holders[0], publish: false });
    await expect(
      signStaged({ repo: r.repo, keys: r.keys, env: {}, role: 'root', keyFile: holders[1] }),
    ).rejects.toThrow(/re-sign snapshot with its new keys/);
    expect(await exists(join(r.repo, 'metadata', '2.root.json'))).toBe(false);
    const published = await signStaged({
      repo: r.repo,
      keys: elsewhere,
      env: { ELECTRON_TUF_TIMESTAMP_KEY: await readFile(join(r.keys, 'timestamp-1.key.pem'), 'utf8') },
      role: 'root',
    });
    expect(published.published!.resigned).toEqual(['snapshot', 'timestamp']);
    expect((await verifyRepository({ repo: r.repo })).ok).toBe(true);
  });
});

async function oldTimestampKeyid(r: TestRepo): Promise<string> {
  return (await KeyDirectory.open(r.keys)).list('timestamp')[0].keyid;
}

describe('rotation of online keys', () => {
  it('rotates the bins key: targets and every bin are re-signed, clients still verify', async () => {
    const r = await makeRepo({ bins: 8 });
    const server = await serveRepository({ repo: r.repo });
    try {
      const file = await writeInstaller(r.dir, 'app-1.0.0.dmg', 1500);
      await addRelease({
        repo: r.repo,
        keys: r.keys,
        env: {},
        files: [file],
        version: '1.0.0',
        platform: 'darwin',
        arch: 'arm64',
      });
      const oldBins = (await KeyDirectory.open(r.keys)).list('bins')[0].keyid;
      const rotated = await rotateKeys({
        repo: r.repo,
        keys: r.keys,
        env: {},
        role: 'bins',
        generate: 1,
        removeKeys: [oldBins],
      });
      expect(rotated.keyids).toEqual([rotated.generated[0].keyid]);
      const names = (rotated.published as { publish: { files: Array<{ name: string }> } }).publish.files.map(
        (f) => f.name,
      );
      expect(names.filter((n) => n.includes('bins-'))).toHaveLength(8);
      expect(names).toContain('3.targets.json');
      const view = await tufJsClient(server, r.trustedRoot, ['1.0.0/app-1.0.0.dmg']);
      expect(view.files.get('1.0.0/app-1.0.0.dmg')).toEqual(await readFile(file));
      expect((await verifyRepository({ repo: r.repo })).ok).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('re-signs an expired root with a fresh expiry, after which publishing works again', async () => {
    const r = await makeRepo({ expires: { root: 1 } });
    const later = new Date(Date.now() + 2 * DAY);
    const file = await writeInstaller(r.dir, 'app-1.0.0.tar.gz', 100);
    const add = {
      repo: r.repo,
      keys: r.keys,
      env: {},
      files: [file],
      version: '1.0.0',
      platform: 'linux',
      arch: 'x64',
      now: later,
    };
    await expect(addRelease(add)).rejects.toThrow(/root version 1 expired/);
    const renewed = await rotateKeys({
      repo: r.repo,
      keys: r.keys,
      env: {},
      role: 'root',
      expiresDays: 365,
      now: later,
    });
    expect(renewed.published).toMatchObject({ rootVersion: 2 });
    await addRelease(add);
    expect((await verifyRepository({ repo: r.repo, at: later })).ok).toBe(true);
  });
});

describe('sign', () => {
  it('says when nothing is staged', async () => {
    const r = await makeRepo();
    await mkdir(join(r.repo, 'staged'), { recursive: true });
    await expect(signStaged({ repo: r.repo, keys: r.keys, env: {}, role: 'root' })).rejects.toThrow(
      /no root change is staged/,
    );
    await expect(signStaged({ repo: r.repo, keys: r.keys, env: {}, role: 'targets' })).rejects.toThrow(/only root/);
  });
});
