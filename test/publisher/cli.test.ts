/**
 * The CLI in-process: bad input gives one `error:` line on stderr, exit 1, no stack trace, and
 * leaves the repository exactly as it was; `--json` and `--help` work; `client` is dispatched.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, cli, publishedDigest, repoAdd, tempDir, treeDigest, writeInstaller } from './helpers.js';

afterAll(cleanupTemp);

describe('bad input', () => {
  let dir: string;
  let otherKeys: string;

  beforeAll(async () => {
    dir = await tempDir();
    const other = await tempDir();
    otherKeys = join(other, 'keys');
    expect(await cli(dir).run('repo', 'init', 'repo', '--keys', 'keys', '--bins', '4')).toBe(0);
    expect(await cli(other).run('repo', 'init', 'repo', '--keys', 'keys')).toBe(0);
    await writeInstaller(dir, 'app-1.0.0.tar.gz');
    await writeInstaller(dir, '.hidden.tar.gz');
    await writeInstaller(dir, 'readme.txt');
    expect(await cli(dir).run(...repoAdd('app-1.0.0.tar.gz', '1.0.0'))).toBe(0);
  });

  const add = ['repo', 'add', 'repo', 'app-1.0.0.tar.gz', '--platform', 'linux', '--arch', 'x64'];
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing file', repoAdd('nope.tar.gz', '1.0.1'), /no such file: .*nope\.tar\.gz/],
    ['a file that is not an installer', repoAdd('readme.txt', '1.0.1'), /readme\.txt is not an installer/],
    ['a hidden file name', repoAdd('.hidden.tar.gz', '1.0.1'), /hidden segment/],
    ['a version that is not semver', [...add, '--version', 'v1.0', '--keys', 'keys'], /invalid version "v1\.0"/],
    ['a version that would escape', [...add, '--version', '../1.0.0', '--keys', 'keys'], /invalid version/],
    [
      'an unknown channel name form',
      [...add, '--version', '1.0.1', '--channel', 'Beta!', '--keys', 'keys'],
      /invalid channel name "Beta!"/,
    ],
    [
      'an unknown platform',
      [...add, '--version', '1.0.1', '--platform', 'beos', '--keys', 'keys'],
      /invalid platform "beos"/,
    ],
    [
      'a bad staging percentage',
      [...add, '--version', '1.0.1', '--staging', '150', '--keys', 'keys'],
      /staging percentage must be an integer from 0 to 100/,
    ],
    [
      'keys of another repository',
      [...add, '--version', '1.0.1', '--keys', '__OTHER__'],
      /cannot sign timestamp, snapshot\b[a-z, ]*: need 1 timestamp key/,
    ],
    [
      'no keys at all',
      [...add, '--version', '1.0.1'],
      /need 1 timestamp key\(s\) of [0-9a-f]{8}, found 0 in variable ELECTRON_TUF_TIMESTAMP_KEY \(or give a keys directory, --keys\)/,
    ],
    [
      'a keys directory inside the repository',
      [...add, '--version', '1.0.1', '--keys', 'repo/keys'],
      /inside the repository/,
    ],
    ['an unknown option', [...add, '--version', '1.0.1', '--keys', 'keys', '--colour'], /Unknown option '--colour'/],
    [
      'a missing required option',
      ['repo', 'add', 'repo', 'app-1.0.0.tar.gz', '--platform', 'linux', '--arch', 'x64', '--keys', 'keys'],
      /--version is required/,
    ],
    ['not a repository', repoAdd('app-1.0.0.tar.gz', '1.0.1', { repo: 'elsewhere' }), /is not a repository/],
    ['a conflicting re-add', repoAdd('__CHANGED__', '1.0.0'), /already published with different content/],
    [
      'removing an unknown release',
      ['repo', 'remove', 'repo', '--version', '7.0.0', '--keys', 'keys'],
      /no release 7\.0\.0/,
    ],
    [
      'an unknown role to rotate',
      ['repo', 'rotate', 'repo', '--role', 'mirror', '--keys', 'keys'],
      /unknown role "mirror"/,
    ],
    [
      'an impossible threshold',
      ['repo', 'rotate', 'repo', '--role', 'snapshot', '--threshold', '3', '--keys', 'keys'],
      /threshold 3 is more than its 1 key/,
    ],
  ];

  for (const [what, args, message] of cases) {
    it(`${what}: one error line, exit 1, repository untouched`, async () => {
      const changedDir = await tempDir();
      const changed = await writeInstaller(changedDir, 'app-1.0.0.tar.gz', 4096, 'other content');
      const argv = args.map((a) => (a === '__OTHER__' ? otherKeys : a === '__CHANGED__' ? changed : a));
      const before = await publishedDigest(join(dir, 'repo'));
      const keysBefore = await treeDigest(join(dir, 'keys'));
      const { run, out, err } = cli(dir);
      expect(await run(...argv)).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^error: /);
      expect(err[0]).toMatch(message);
      expect(err[0]).not.toMatch(/\n| {4}at /);
      expect(out).toEqual([]);
      expect(await publishedDigest(join(dir, 'repo'))).toEqual(before);
      expect(await treeDigest(join(dir, 'keys'))).toEqual(keysBefore);
    });
  }

  it('an expired root: one error line, exit 1, repository untouched', async () => {
    const d = await tempDir();
    // Root valid for 0.9 s (rounded up to the next whole second).
    expect(await cli(d).run('repo', 'init', 'repo', '--keys', 'keys', '--expires', 'root=0.00001')).toBe(0);
    await writeInstaller(d, 'app-1.0.0.tar.gz');
    await sleep(2100);
    const before = await publishedDigest(join(d, 'repo'));
    const { run, err } = cli(d);
    expect(await run(...repoAdd('app-1.0.0.tar.gz', '1.0.0'))).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^error: root version 1 expired at .*repo rotate --role root/)]);
    expect(await publishedDigest(join(d, 'repo'))).toEqual(before);
  });
});

describe('output', () => {
  it('prints results as JSON with --json, usage with --help', async () => {
    const dir = await tempDir();
    const { run, out } = cli(dir);
    expect(await run('repo', 'init', 'repo', '--keys', 'keys', '--json')).toBe(0);
    const init = JSON.parse(out.join('\n')) as { trustedRoot: string; offline: string[] };
    expect(init.trustedRoot).toBe(join(dir, 'repo', 'metadata', '1.root.json'));
    expect(init.offline).toEqual([join(dir, 'keys', 'root-1.key.pem')]);
    out.length = 0;
    await writeFile(join(dir, 'notes.md'), 'Fixes: everything.\n');
    await writeInstaller(dir, 'App Setup 2.0.0.exe');
    expect(
      await run(
        ...repoAdd('App Setup 2.0.0.exe', '2.0.0', { platform: 'win32' }),
        '--notes',
        'notes.md',
        '--staging',
        '25',
        '--json',
      ),
    ).toBe(0);
    const added = JSON.parse(out.join('\n')) as { targets: unknown[]; publish: { files: { name: string }[] } };
    expect(added.targets[0]).toMatchObject({ path: '2.0.0/App Setup 2.0.0.exe', status: 'added', role: 'targets' });
    expect(added.publish.files.map((f) => f.name)).toEqual(['2.targets.json', '2.snapshot.json', 'timestamp.json']);
    out.length = 0;
    expect(await run('repo', 'add', '--help')).toBe(0);
    expect(out[0]).toMatch(/^usage: electron-tuf repo add <repo> <file>\.\.\./);
    out.length = 0;
    expect(await run('repo', '--help')).toBe(0);
    expect(out[0]).toMatch(/repo init/);
    expect(await run('--help')).toBe(0);
  });

  it('dispatches client commands to the client CLI', async () => {
    const dir = await tempDir();
    const { run, out, err } = cli(dir);
    expect(await run('repo', 'init', 'repo', '--keys', 'keys')).toBe(0);
    expect(await run('client', 'init', 'repo/metadata/1.root.json', '--metadata-dir', 'app')).toBe(0);
    expect(out.at(-1)).toMatch(/trusted root version 1 installed/);
    expect(await run('client', 'bogus')).toBe(1);
    expect(err.at(-1)).toMatch(/^error: /);
    expect(await run('publish')).toBe(1);
  });
});
