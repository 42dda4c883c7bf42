/**
 * Keys: files (mode 0600) and a manifest, per-role environment variables for CI, caller-supplied
 * signers (KMS/HSM), and that no private key ever reaches any output.
 */
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { signerFromPrivateKeyPem, type Signer } from '../../updater/core/keys.js';
import { addRelease, initRepository, KeyDirectory, verifyRepository } from '../../publisher/index.js';
import { cleanupTemp, cli, makeRepo, publishedDigest, repoAdd, tempDir, writeInstaller } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

afterAll(cleanupTemp);

const release = { version: '1.0.0', platform: 'linux', arch: 'x64' };

it('writes one key file per key, mode 0600, and a manifest of which key serves which role', async () => {
  const r = await makeRepo({ rootKeys: 3, rootThreshold: 2, bins: 2, keyType: 'ecdsa-p256' });
  const dir = await KeyDirectory.open(r.keys);
  expect(dir.list().map((e) => [e.role, e.file])).toEqual([
    ['root', 'root-1.key.pem'],
    ['root', 'root-2.key.pem'],
    ['root', 'root-3.key.pem'],
    ['targets', 'targets-1.key.pem'],
    ['snapshot', 'snapshot-1.key.pem'],
    ['timestamp', 'timestamp-1.key.pem'],
    ['bins', 'bins-1.key.pem'],
  ]);
  for (const e of dir.list()) {
    expect((await stat(join(r.keys, e.file))).mode & 0o777).toBe(0o600);
    expect(e.publicKey.scheme).toBe('ecdsa-sha2-nistp256');
  }
  const root = parseDoc(await readFile(join(r.repo, 'metadata', '1.root.json')));
  expect(root.signed.roles.root.threshold).toBe(2);
  expect(root.signatures).toHaveLength(3);
});

it('publishes with keys from environment variables only (PEM or base64 of it)', async () => {
  const r = await makeRepo({ bins: 2 });
  const pem = (role: string) => readFile(join(r.keys, `${role}-1.key.pem`), 'utf8');
  const env = {
    ELECTRON_TUF_TARGETS_KEY: await pem('targets'),
    ELECTRON_TUF_BINS_KEY: Buffer.from(await pem('bins')).toString('base64'),
    ELECTRON_TUF_SNAPSHOT_KEY: await pem('snapshot'),
    ELECTRON_TUF_TIMESTAMP_KEY: Buffer.from(await pem('timestamp')).toString('base64'),
  };
  const file = await writeInstaller(r.dir, 'app-1.0.0.tar.gz');
  const result = await addRelease({ repo: r.repo, env, files: [file], ...release });
  expect(result.changed).toBe(true);
  expect((await verifyRepository({ repo: r.repo })).ok).toBe(true);

  // A key of the wrong role, or of another repository, is refused before anything is written.
  const before = await publishedDigest(r.repo);
  const wrong = { ...env, ELECTRON_TUF_TARGETS_KEY: env.ELECTRON_TUF_SNAPSHOT_KEY };
  const other = await writeInstaller(r.dir, 'app-1.0.1.tar.gz');
  await expect(addRelease({ repo: r.repo, env: wrong, files: [other], ...release, version: '1.0.1' })).rejects.toThrow(
    /ELECTRON_TUF_TARGETS_KEY holds key [0-9a-f]{8}, which is not a targets key of this repository/,
  );
  await expect(
    addRelease({
      repo: r.repo,
      env: { ...env, ELECTRON_TUF_BINS_KEY: 'bm90IGEga2V5' },
      files: [other],
      ...release,
      version: '1.0.1',
    }),
  ).rejects.toThrow(/ELECTRON_TUF_BINS_KEY holds neither a PEM private key nor base64 of one/);
  expect(await publishedDigest(r.repo)).toEqual(before);
});

it('takes signers from the caller (how a KMS or HSM plugs in)', async () => {
  const r = await makeRepo();
  const calls: string[] = [];
  const wrap = async (role: string): Promise<Signer> => {
    const inner = signerFromPrivateKeyPem(await readFile(join(r.keys, `${role}-1.key.pem`), 'utf8'));
    return { keyid: inner.keyid, publicKey: inner.publicKey, sign: (data) => (calls.push(role), inner.sign(data)) };
  };
  const signers = {
    targets: [await wrap('targets')],
    snapshot: [await wrap('snapshot')],
    timestamp: [await wrap('timestamp')],
  };
  const file = await writeInstaller(r.dir, 'app-1.0.0.tar.gz');
  await addRelease({ repo: r.repo, env: {}, signers, files: [file], ...release });
  expect(calls).toEqual(['targets', 'snapshot', 'timestamp']);
  expect((await verifyRepository({ repo: r.repo })).ok).toBe(true);
});

it('refuses key files that other users can read', async () => {
  const r = await makeRepo();
  await chmod(join(r.keys, 'targets-1.key.pem'), 0o644);
  const file = await writeInstaller(r.dir, 'app-1.0.0.tar.gz');
  await expect(addRelease({ repo: r.repo, keys: r.keys, env: {}, files: [file], ...release })).rejects.toThrow(
    /accessible by other users \(mode 644\)/,
  );
});

it('keeps keys out of the repository and never reuses a keys directory', async () => {
  const dir = await tempDir();
  await expect(initRepository({ repo: join(dir, 'repo'), keys: join(dir, 'repo', 'keys') })).rejects.toThrow(
    /must not be inside the repository/,
  );
  await initRepository({ repo: join(dir, 'repo'), keys: join(dir, 'keys') });
  await expect(initRepository({ repo: join(dir, 'repo2'), keys: join(dir, 'keys') })).rejects.toThrow(
    /already holds keys/,
  );
  await expect(initRepository({ repo: join(dir, 'repo'), keys: join(dir, 'keys2') })).rejects.toThrow(
    /already holds a repository/,
  );
});

it('never prints a private key, whatever the command or failure', async () => {
  const dir = await tempDir();
  const ok = cli(dir);
  const run = (...args: string[]) => ok.run(...args, '--verbose');
  expect(await run('repo', 'init', 'repo', '--keys', 'keys', '--bins', '4')).toBe(0);
  await writeInstaller(dir, 'app-1.0.0.tar.gz');
  expect(await run(...repoAdd('app-1.0.0.tar.gz', '1.0.0'))).toBe(0);
  expect(await run('repo', 'status', 'repo')).toBe(0);
  expect(await run('repo', 'rotate', 'repo', '--role', 'timestamp', '--generate', '1', '--keys', 'keys')).toBe(0);
  expect(await run(...repoAdd('app-1.0.0.tar.gz', '1.0.0'), '--json')).toBe(0);
  // Failures that involve key material: a corrupt key file, a private key where a public one belongs.
  const secret = await readFile(join(dir, 'keys', 'snapshot-1.key.pem'), 'utf8');
  const bad = cli(dir, { ELECTRON_TUF_TARGETS_KEY: secret.replace('MC4CAQAwBQYDK2VwBCIEI', 'MC4CAQAwBQYDK2VwBCIEJ') });
  expect(await bad.run(...repoAdd('app-1.0.0.tar.gz', '1.0.1'), '--verbose')).toBe(1);
  expect(bad.err.at(-1)).toBe('error: ELECTRON_TUF_TARGETS_KEY: not a readable unencrypted private key PEM');
  expect(
    await bad.run('repo', 'rotate', 'repo', '--role', 'targets', '--add-key', 'keys/snapshot-1.key.pem', '--verbose'),
  ).toBe(1);
  expect(await bad.run('repo', 'sign', 'repo', 'root', '--key', 'keys/targets-1.key.pem', '--verbose')).toBe(1);

  const lines = [...ok.out, ...ok.err, ...bad.out, ...bad.err];
  const output = lines.join('\n');
  const keys = await KeyDirectory.open(join(dir, 'keys'));
  for (const entry of keys.list()) {
    const body = (await readFile(join(dir, 'keys', entry.file), 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'));
    for (const line of body) expect(output).not.toContain(line);
    // The raw seed in hex or base64 must not appear either.
    const der = Buffer.from(body.join(''), 'base64');
    expect(output).not.toContain(der.subarray(-32).toString('hex'));
    expect(output).not.toContain(der.subarray(-32).toString('base64').slice(0, 20));
  }
  expect(output).not.toMatch(/PRIVATE KEY/);
});
