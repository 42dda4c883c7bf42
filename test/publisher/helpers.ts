/** Shared fixtures for the publisher tests: temporary repositories and clients that check them. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Updater as TufJsUpdater } from 'tuf-js';
import { Updater } from '../../updater/client/updater.js';
import { initRepository, type InitOptions } from '../../publisher/index.js';
import { main } from '../../publisher/cli/main.js';

const cleanups: Array<() => Promise<void>> = [];

export async function tempDir(prefix = 'etuf-pub-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Removes every temporary directory made since the last call (use in afterEach/afterAll). */
export async function cleanupTemp(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!();
}

export interface TestRepo {
  dir: string;
  repo: string;
  keys: string;
  /** Bytes of metadata/1.root.json: what an app ships with. */
  trustedRoot: Buffer;
}

/** A new repository with its keys in a sibling directory; `env: {}` keeps process env keys out. */
export async function makeRepo(options: Partial<InitOptions> = {}): Promise<TestRepo> {
  const dir = await tempDir();
  const repo = join(dir, 'repo');
  const keys = join(dir, 'keys');
  await initRepository({ repo, keys, ...options });
  return { dir, repo, keys, trustedRoot: await readFile(join(repo, 'metadata', '1.root.json')) };
}

/** A fake installer: `size` deterministic bytes derived from `seed`. */
export async function writeInstaller(dir: string, name: string, size = 4096, seed = name): Promise<string> {
  const path = join(dir, name);
  const block = createHash('sha512').update(seed).digest();
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += block.length) block.copy(data, i);
  await mkdir(dir, { recursive: true });
  await writeFile(path, data);
  return path;
}

/** Every file under `dir` (relative path -> sha256), for "nothing changed" checks. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else
        out.set(
          relative(dir, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}

/** The published tree only (metadata/ and targets/). */
export async function publishedDigest(repo: string): Promise<Map<string, string>> {
  const m = await treeDigest(join(repo, 'metadata'));
  const t = await treeDigest(join(repo, 'targets'));
  return new Map([
    ...[...m].map(([k, v]) => [`metadata/${k}`, v] as [string, string]),
    ...[...t].map(([k, v]) => [`targets/${k}`, v] as [string, string]),
  ]);
}

export interface ClientView {
  /** target path -> downloaded bytes (undefined when the client does not find the target). */
  files: Map<string, Buffer | undefined>;
  /** The root version the client trusts after refreshing (our client only). */
  rootVersion?: number;
}

/**
 * Our client, from a fresh metadata directory bootstrapped with `trustedRoot` (or reusing
 * `metadataDir`), refreshes against the served repository and downloads `paths`.
 */
export async function ourClient(
  server: { metadataUrl: string; targetsUrl: string },
  trustedRoot: Uint8Array,
  paths: string[],
  metadataDir?: string,
): Promise<ClientView> {
  const dir = await tempDir('etuf-ours-');
  const updater = new Updater({
    metadataDir: metadataDir ?? join(dir, 'metadata'),
    metadataBaseUrl: server.metadataUrl,
    targetDir: join(dir, 'targets'),
    targetBaseUrl: server.targetsUrl,
    bootstrapRoot: trustedRoot,
    config: { readTimeoutMs: 5000 },
  });
  await updater.refresh();
  const files = new Map<string, Buffer | undefined>();
  for (const path of paths) {
    const info = await updater.getTargetInfo(path);
    files.set(path, info ? await readFile(await updater.downloadTarget(info)) : undefined);
  }
  return { files, rootVersion: updater.trustedMetadata?.root.signed.version };
}

/** tuf-js 6, the peer client, doing the same. */
export async function tufJsClient(
  server: { metadataUrl: string; targetsUrl: string },
  trustedRoot: Uint8Array,
  paths: string[],
): Promise<ClientView> {
  const dir = await tempDir('etuf-tufjs-');
  const metadataDir = join(dir, 'metadata');
  const targetDir = join(dir, 'targets');
  await mkdir(metadataDir, { recursive: true });
  await mkdir(targetDir, { recursive: true });
  await writeFile(join(metadataDir, 'root.json'), trustedRoot);
  const updater = new TufJsUpdater({
    metadataDir,
    metadataBaseUrl: server.metadataUrl,
    targetDir,
    targetBaseUrl: server.targetsUrl,
  });
  await updater.refresh();
  const files = new Map<string, Buffer | undefined>();
  for (const path of paths) {
    const info = await updater.getTargetInfo(path);
    if (!info) {
      files.set(path, undefined);
      continue;
    }
    const file = join(targetDir, createHash('sha256').update(path).digest('hex'));
    await updater.downloadTarget(info, file);
    files.set(path, await readFile(file));
  }
  return { files };
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The `electron-tuf` CLI in-process, in `cwd`: `run` resolves to the exit code; `out` (split into lines) and `err` collect what it printed. */
export function cli(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const run = (...args: string[]) =>
    main(args, { stdout: (l) => out.push(...l.split('\n')), stderr: (l) => err.push(l), env, cwd });
  return { run, out, err };
}

/**
 * `repo add` of one installer to `./repo`, signed with `./keys` (what `repo init repo --keys keys`
 * makes in the working directory), for linux-x64 unless told otherwise.
 */
export function repoAdd(
  file: string,
  version: string,
  where: { repo?: string; platform?: string; arch?: string } = {},
): string[] {
  const { repo = 'repo', platform = 'linux', arch = 'x64' } = where;
  return ['repo', 'add', repo, file, '--version', version, '--platform', platform, '--arch', arch, '--keys', 'keys'];
}
