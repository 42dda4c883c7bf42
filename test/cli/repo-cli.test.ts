/**
 * `electron-tuf` as an operator meets it: --version, per-command help naming every option and
 * its default, one plain `error:` line (JSON with --json), clear lines for wrong paths and
 * missing keys, output that names what was written, `repo list`, and a reader that stops early.
 */
import { parseDoc } from '../helpers/metadata-doc.js';
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, cli, repoAdd, tempDir, treeDigest, writeInstaller } from '../publisher/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT_CLI = join(ROOT, 'dist', 'publisher', 'cli', 'main.js');
const COMMANDS = ['init', 'add', 'remove', 'refresh', 'rotate', 'sign', 'status', 'list', 'verify', 'serve', 'keygen'];

afterAll(cleanupTemp);

let dir: string;

beforeAll(async () => {
  dir = await tempDir('etuf-cli-');
  expect(await cli(dir).run('repo', 'init', 'repo', '--keys', 'keys')).toBe(0);
  await writeInstaller(dir, 'app-1.0.0.tar.gz');
  await writeInstaller(dir, 'app-1.1.0-beta.1.tar.gz');
  await writeInstaller(dir, 'app-1.0.0.zip');
});

describe('help and version', () => {
  it('--version prints the package version', async () => {
    const { run, out } = cli(dir);
    expect(await run('--version')).toBe(0);
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(out).toEqual([manifest.version]);
  });

  it.each(COMMANDS)('repo %s --help lists every option of its usage with a default or as required', async (name) => {
    const { run, out } = cli(dir);
    expect(await run('repo', name, '--help')).toBe(0);
    const usageEnd = out.findIndex((l) => l.startsWith('options'));
    const usage = (usageEnd < 0 ? out : out.slice(0, usageEnd)).join(' ');
    const options = [...new Set([...usage.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1])), 'json', 'verbose'];
    for (const option of options) {
      const line = out.find((l) => new RegExp(`^--${option}[ ,]`).test(l.trimStart()));
      expect(line, `--${option} of repo ${name}`).toMatch(/default: |required/);
    }
  });
});

describe('errors', () => {
  it('are one line without a class name, or JSON with --json, and change nothing', async () => {
    const before = await treeDigest(join(dir, 'repo'));
    const plain = cli(dir);
    expect(await plain.run(...repoAdd('app-1.0.0.tar.gz', 'v1'))).toBe(1);
    expect(plain.err).toEqual([expect.stringMatching(/^error: invalid version "v1"/)]);
    const json = cli(dir);
    expect(await json.run(...repoAdd('app-1.0.0.tar.gz', 'v1'), '--json')).toBe(1);
    expect(json.err).toHaveLength(1);
    expect(JSON.parse(json.err[0]) as unknown).toEqual({
      error: { name: 'ValueError', message: expect.stringMatching(/^invalid version "v1"/) as unknown },
    });
    expect(await treeDigest(join(dir, 'repo'))).toEqual(before);
  });

  it('name a file given as the new repository, and a directory that is not one', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    await mkdir(join(dir, 'not-a-repo'), { recursive: true });
    const cases: Array<[string[], RegExp]> = [
      [['repo', 'init', 'a-file', '--keys', 'keys2'], /a-file is a file, not a directory/],
      [['repo', 'verify', 'not-a-repo'], /not-a-repo is not a repository \(no metadata\/1\.root\.json\)/],
      [['repo', 'serve', 'not-a-repo'], /not-a-repo is not a repository/],
      [['repo', 'verify', 'missing'], /missing is not a repository/],
    ];
    for (const [args, expected] of cases) {
      const { run, out, err } = cli(dir);
      expect(await run(...args), args.join(' ')).toBe(1);
      expect(err, args.join(' ')).toEqual([expect.stringMatching(new RegExp(`^error: .*${expected.source}`))]);
      expect(out).toEqual([]);
    }
  });

  it('name a keys directory that does not exist, and the variable that supplies a missing key', async () => {
    const missing = cli(dir);
    expect(await missing.run('repo', 'refresh', 'repo', '--force', '--keys', 'no-such-keys')).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^error: keys directory .*no-such-keys does not exist$/)]);
    const none = cli(dir);
    expect(await none.run('repo', 'refresh', 'repo', '--force')).toBe(1);
    // Every missing role in one message, each with the variable that supplies it.
    expect(none.err).toHaveLength(1);
    expect(none.err[0]).toMatch(
      /^error: cannot sign timestamp, snapshot: need 1 timestamp key\(s\) of [0-9a-f]{8}, found 0 in variable ELECTRON_TUF_TIMESTAMP_KEY \(or give a keys directory, --keys\); need 1 snapshot key\(s\) of [0-9a-f]{8}, found 0 in variable ELECTRON_TUF_SNAPSHOT_KEY/,
    );
  });

  it('say why an expiry of 0 days is refused', async () => {
    const { run, err } = cli(dir);
    expect(await run('repo', 'init', 'repo0', '--keys', 'keys0', '--expires', 'timestamp=0')).toBe(1);
    expect(err).toEqual([
      expect.stringMatching(
        /^error: --expires timestamp must be more than 0 days: metadata that expires when it is signed/,
      ),
    ]);
  });
});

describe('output', () => {
  it('refresh reports the versions it wrote', async () => {
    const { run, out } = cli(dir);
    expect(await run('repo', 'refresh', 'repo', '--force', '--keys', 'keys')).toBe(0);
    const timestamp = JSON.parse(await readFile(join(dir, 'repo', 'metadata', 'timestamp.json'), 'utf8')) as {
      signed: { version: number; meta: Record<string, { version: number }> };
    };
    expect(out.find((l) => l.trim().startsWith('timestamp'))).toMatch(
      new RegExp(`^\\s*timestamp\\s+v${timestamp.signed.version}\\s.*resigned`),
    );
    expect(out.find((l) => l.trim().startsWith('snapshot'))).toMatch(
      new RegExp(`^\\s*snapshot\\s+v${timestamp.signed.meta['snapshot.json'].version}\\s.*resigned`),
    );
    expect(out.at(-1)).toContain(`${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`);
  });

  it('rotate names the new root file', async () => {
    const { run, out } = cli(dir);
    expect(await run('repo', 'rotate', 'repo', '--role', 'timestamp', '--generate', '1', '--keys', 'keys')).toBe(0);
    expect(out).toContain('Published root version 2: metadata/2.root.json.');
    expect(parseDoc(await readFile(join(dir, 'repo', 'metadata', '2.root.json'))).signed.version).toBe(2);
  });

  it('repo list shows the releases per channel, platform and arch with version, staging and files', async () => {
    const add = (file: string, version: string, platform: string, arch: string, ...more: string[]) =>
      cli(dir).run(...repoAdd(file, version, { platform, arch }), ...more);
    expect(await add('app-1.0.0.tar.gz', '1.0.0', 'linux', 'x64')).toBe(0);
    expect(await add('app-1.1.0-beta.1.tar.gz', '1.1.0-beta.1', 'linux', 'x64', '--staging', '10')).toBe(0);
    expect(await add('app-1.0.0.zip', '1.0.0', 'darwin', 'arm64')).toBe(0);
    const { run, out } = cli(dir);
    expect(await run('repo', 'list', 'repo')).toBe(0);
    expect(out.filter((l) => !l.startsWith(' '))).toEqual([
      'beta linux-x64 (channels/beta/linux-x64.json):',
      'stable darwin-arm64 (channels/stable/darwin-arm64.json):',
      'stable linux-x64 (channels/stable/linux-x64.json):',
    ]);
    expect(out[1]).toMatch(/^ {2}1\.1\.0-beta\.1 +\S+ +staged 10 % +1\.1\.0-beta\.1\/app-1\.1\.0-beta\.1\.tar\.gz$/);
    expect(out[3]).toMatch(/^ {2}1\.0\.0 +\S+ +everyone +1\.0\.0\/app-1\.0\.0\.zip$/);
    const json = cli(dir);
    expect(await json.run('repo', 'list', 'repo', '--channel', 'stable', '--json')).toBe(0);
    const result = JSON.parse(json.out.join('\n')) as {
      indexes: Array<{ channel: string; platform: string; releases: Array<{ version: string; files: string[] }> }>;
    };
    expect(result.indexes.map((i) => [i.channel, i.platform, i.releases.map((r) => r.version)])).toEqual([
      ['stable', 'darwin', ['1.0.0']],
      ['stable', 'linux', ['1.0.0']],
    ]);
  });
});

describe('the built command', () => {
  it('exits quietly when its reader stops early (| head -1: EPIPE)', async () => {
    const child = spawn(process.execPath, [BUILT_CLI, 'repo', 'list', join(dir, 'repo'), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the first write
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
