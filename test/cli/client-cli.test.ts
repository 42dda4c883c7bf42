import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runClientCommand } from '../../publisher/cli/client-commands.js';
import type { CliIO } from '../../publisher/cli/io.js';
import { serveFetcher, type FetcherServer } from '../helpers/fetcher-server.js';
import { RepositorySimulator } from '../helpers/simulator.js';

const BASE = 'https://sim.example';

let sim: RepositorySimulator;
let server: FetcherServer;
let dir: string;
let out: string[];
let err: string[];
let io: CliIO;

async function run(...args: string[]): Promise<number> {
  return runClientCommand(args, io);
}

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  sim.addTarget('docs/readme.txt', 'read me');
  sim.addTarget('app.bin', 'binary');
  sim.updateTargets();
  sim.updateSnapshot();
  server = await serveFetcher(sim, BASE);
  dir = await mkdtemp(join(tmpdir(), 'etuf-cli-'));
  await writeFile(join(dir, 'root.json'), sim.initialRoot);
  out = [];
  err = [];
  io = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: dir };
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const common = () => ['--metadata-dir', 'md', '--metadata-url', `${server.origin}/metadata`];
const download = () => [...common(), '--target-base-url', `${server.origin}/targets`, '--target-dir', 'out'];

describe('electron-tuf client', () => {
  it('init installs a verified root, refresh reports the trusted versions', async () => {
    expect(await run('init', 'root.json', '--metadata-dir', 'md')).toBe(0);
    expect(out[0]).toMatch(/trusted root version 1/);
    expect(await run('refresh', ...common())).toBe(0);
    expect(out.at(-1)).toBe('root v1, timestamp v2, snapshot v2, targets v2');
    expect(err).toEqual([]);
  });

  it('init refuses a file that is not a self-signed root', async () => {
    await writeFile(join(dir, 'bad.json'), '{"signed": {}, "signatures": []}');
    expect(await run('init', 'bad.json', '--metadata-dir', 'md')).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: (?!DeserializationError)/); // no class-name prefix
  });

  it('init refuses a root file larger than the client accepts, and a missing one', async () => {
    await writeFile(join(dir, 'huge.json'), Buffer.alloc(600_000, 0x20));
    expect(await run('init', 'huge.json', '--metadata-dir', 'md')).toBe(1);
    expect(err[0]).toMatch(/^error: .*more than the limit of 512000/);
    expect(await run('init', 'nope.json', '--metadata-dir', 'md')).toBe(1);
    expect(err[1]).toMatch(/no such file/);
  });

  it('init replaces an existing root.json only when it is missing, the same, or --force is given', async () => {
    const target = join(dir, 'md', 'root.json');
    // Oversized: not a root we could read, but not "absent" either.
    await mkdir(join(dir, 'md'));
    await writeFile(target, Buffer.alloc(600_000, 0x20));
    expect(await run('init', 'root.json', '--metadata-dir', 'md')).toBe(1);
    expect(err.at(-1)).toContain(target);
    expect(err.at(-1)).toMatch(/cannot be read.*--force/);
    expect((await readFile(target)).length).toBe(600_000); // left as it was
    // A directory where the file is expected: also refused, named, left alone.
    await rm(target);
    await mkdir(target);
    expect(await run('init', 'root.json', '--metadata-dir', 'md')).toBe(1);
    expect(err.at(-1)).toContain(target);
    await rm(target, { recursive: true });
    // Missing: created; the same root again: fine; --force: replaces an unreadable one.
    expect(await run('init', 'root.json', '--metadata-dir', 'md')).toBe(0);
    expect(await run('init', 'root.json', '--metadata-dir', 'md')).toBe(0);
    await writeFile(target, Buffer.alloc(600_000, 0x20));
    expect(await run('init', 'root.json', '--metadata-dir', 'md', '--force')).toBe(0);
    expect(Buffer.compare(await readFile(target), sim.initialRoot)).toBe(0);
  });

  it('download fetches targets in order and skips a current cached copy', async () => {
    await run('init', 'root.json', '--metadata-dir', 'md');
    expect(await run('download', 'docs/readme.txt', 'app.bin', ...download())).toBe(0);
    expect(out.slice(-2)).toEqual([
      expect.stringMatching(/^docs\/readme.txt: downloaded 7 bytes/),
      expect.stringMatching(/^app.bin: downloaded 6 bytes/),
    ]);
    expect(await readFile(join(dir, 'out', 'docs%2Freadme.txt'), 'utf8')).toBe('read me');
    const targetFetches = sim.fetched.filter((u) => u.includes('/targets/')).length;
    expect(await run('download', 'app.bin', ...download())).toBe(0);
    expect(out.at(-1)).toMatch(/^app.bin: up to date at /);
    expect(sim.fetched.filter((u) => u.includes('/targets/')).length).toBe(targetFetches);
  });

  it('stops at the first failure with one line and exit 1', async () => {
    await run('init', 'root.json', '--metadata-dir', 'md');
    expect(await run('download', 'missing', 'app.bin', ...download())).toBe(1);
    expect(err).toEqual(['error: target missing not found in trusted metadata']);
    expect(out.some((l) => l.startsWith('app.bin'))).toBe(false);
  });

  it('reports a tampered target as a hash mismatch without a stack trace', async () => {
    await run('init', 'root.json', '--metadata-dir', 'md');
    sim.targetFiles.set('app.bin', Buffer.from('BINARY'));
    expect(await run('download', 'app.bin', ...download())).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^error: .*mismatch/);
  });

  it('--verbose traces requests and decisions', async () => {
    await run('init', 'root.json', '--metadata-dir', 'md');
    expect(await run('download', 'app.bin', ...download(), '--verbose')).toBe(0);
    expect(err).toContain(`GET ${server.origin}/metadata/timestamp.json`);
    expect(err).toContain('search: visiting role targets');
  });

  it('fails cleanly without a trusted root or required options', async () => {
    expect(await run('refresh', ...common())).toBe(1);
    expect(err[0]).toMatch(/no trusted root/);
    expect(await run('refresh', '--metadata-dir', 'md')).toBe(1);
    expect(err[1]).toMatch(/--metadata-url is required/);
  });
});
