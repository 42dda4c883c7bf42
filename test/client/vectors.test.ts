/**
 * Conformance against the python-tuf vectors (test/vectors/python-tuf/repos, README.md there): every
 * generated repository is served from disk and our Updater must reach exactly the verdicts
 * python-tuf's ngclient reached: refresh outcome and error class, trusted versions, what the
 * metadata directory holds afterwards, every target found (with the roles the search
 * consulted, in order), downloaded and verified, every absent target absent, and every
 * tampered download refused without leaving a file behind.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Updater, type TraceEvent } from '../../updater/client/updater.js';
import {
  BadVersionNumberError,
  DeserializationError,
  DownloadHTTPError,
  EqualVersionNumberError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  UnsignedMetadataError,
  type TufError,
} from '../../updater/core/errors.js';
import { Metadata } from '../../updater/core/metadata.js';
import { DirFetcher } from '../helpers/dir-fetcher.js';
import { VECTORS } from '../helpers/vectors.js';

const REPOS_DIR = join(VECTORS, 'repos');
const BASE_URL = 'https://vectors.invalid/repo';

interface ExpectedTarget {
  path: string;
  length: number;
  sha256: string;
  hashes: Record<string, string>;
  role: string;
  delegation_chain: string[];
  target_file: string;
  custom?: unknown;
  visited_roles: string[];
}

interface ExpectedNotFound {
  path: string;
  reason: string;
  visited_roles?: string[];
}

interface ExpectedDownloadFailure {
  path: string;
  length: number;
  sha256: string;
  target_file: string;
  python_tuf_error: string;
  role: string;
  visited_roles?: string[];
}

type TrustedVersions = Record<'root' | 'timestamp' | 'snapshot' | 'targets', number>;

interface Expected {
  name: string;
  initial_root: string;
  metadata_dir: string;
  targets_dir: string;
  reference_time: string | null;
  refresh:
    | { success: true; trusted_versions: TrustedVersions }
    | {
        success: false;
        failing_role: string;
        failing_version?: number;
        python_tuf_error: string;
        trusted_root_version: number;
      };
  targets: ExpectedTarget[];
  not_found: ExpectedNotFound[];
  download_failures?: ExpectedDownloadFailure[];
}

type ErrorClass = abstract new (...args: never[]) => TufError;

/** python-tuf exception names -> ours (updater/core/errors.ts keeps python-tuf's names). */
const ERROR_CLASSES: Record<string, ErrorClass> = {
  UnsignedMetadataError,
  ExpiredMetadataError,
  BadVersionNumberError,
  EqualVersionNumberError,
  LengthOrHashMismatchError,
  DeserializationError,
  RepositoryError,
};

function errorClassFor(pythonName: string): ErrorClass {
  const cls = ERROR_CLASSES[pythonName];
  if (!cls) throw new Error(`no mapping for python-tuf error ${pythonName}: add it to ERROR_CLASSES`);
  return cls;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A fresh client directory for one repository, with updaters that trace into their own list. */
class VectorClient {
  readonly metadataDir: string;
  readonly targetDir: string;
  readonly fetcher: DirFetcher;

  constructor(
    readonly repoDir: string,
    readonly expected: Expected,
    readonly dir: string,
  ) {
    this.metadataDir = join(dir, 'metadata');
    this.targetDir = join(dir, 'targets');
    this.fetcher = new DirFetcher(BASE_URL, repoDir);
  }

  updater(trace: TraceEvent[] = []): Updater {
    const { expected } = this;
    return new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: `${BASE_URL}/${expected.metadata_dir}`,
      targetDir: this.targetDir,
      targetBaseUrl: `${BASE_URL}/${expected.targets_dir}`,
      bootstrapRoot: readFileSync(join(this.repoDir, expected.initial_root)),
      fetcher: this.fetcher,
      config: {
        readTimeoutMs: 2_000,
        ...(expected.reference_time ? { referenceTime: new Date(expected.reference_time) } : {}),
      },
      trace: (event) => trace.push(event),
    });
  }

  /** Bytes of a file served by the repository. */
  served(relativePath: string): Buffer {
    return readFileSync(join(this.repoDir, relativePath));
  }

  /** File name -> base64 of every (non-hidden) file in the metadata directory. */
  async disk(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of (await readdir(this.metadataDir)).sort()) {
      if (!name.startsWith('.')) out[name] = (await readFile(join(this.metadataDir, name))).toString('base64');
    }
    return out;
  }

  /**
   * Refreshes a fresh Updater, then looks `path` up with another fresh Updater; returns what
   * it found and the roles the search visited (and only the search: refresh is not traced).
   */
  async lookup(path: string): Promise<{
    updater: Updater;
    info: Awaited<ReturnType<Updater['getTargetInfo']>>;
    visited: string[];
    trace: TraceEvent[];
  }> {
    const trace: TraceEvent[] = [];
    const updater = this.updater(trace);
    await updater.refresh();
    trace.length = 0;
    const info = await updater.getTargetInfo(path);
    const visited = trace.flatMap((e) => (e.type === 'visit' ? [e.role] : []));
    return { updater, info, visited, trace };
  }
}

async function withClient(repoDir: string, expected: Expected, fn: (c: VectorClient) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `etuf-vectors-${expected.name}-`));
  try {
    await fn(new VectorClient(repoDir, expected, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The trusted version of each top-level role, read from an updater after refresh. */
function trustedVersions(updater: Updater): TrustedVersions {
  const set = updater.trustedMetadata;
  if (!set) throw new Error('nothing trusted');
  return {
    root: set.root.signed.version,
    timestamp: set.timestamp!.signed.version,
    snapshot: set.snapshot!.signed.version,
    targets: set.targets!.signed.version,
  };
}

const repoNames = readdirSync(REPOS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('python-tuf vectors', () => {
  it('found the generated repositories', () => {
    // The README documents at least these; more may be added and are picked up automatically.
    expect(repoNames).toEqual(
      expect.arrayContaining(['basic', 'delegations', 'keytypes', 'root-rotation', 'bad-target-hash']),
    );
  });
});

for (const name of repoNames) {
  const repoDir = join(REPOS_DIR, name);
  const expected = JSON.parse(readFileSync(join(repoDir, 'expected.json'), 'utf8')) as Expected;
  const run = (fn: (c: VectorClient) => Promise<void>) => () => withClient(repoDir, expected, fn);

  describe(`vector ${name}`, () => {
    const refresh = expected.refresh;
    if (refresh.success) {
      const versions = refresh.trusted_versions;

      it(
        `refresh succeeds and trusts ${JSON.stringify(versions)}`,
        run(async (c) => {
          const updater = c.updater();
          await updater.refresh();
          expect(trustedVersions(updater)).toEqual(versions);
          // The metadata directory holds exactly the served files that were trusted (5.3.8, 5.4.5, 5.5.7, 5.6.6).
          expect(await c.disk()).toEqual({
            'root.json': c.served(`${expected.metadata_dir}/${versions.root}.root.json`).toString('base64'),
            'timestamp.json': c.served(`${expected.metadata_dir}/timestamp.json`).toString('base64'),
            'snapshot.json': c.served(`${expected.metadata_dir}/${versions.snapshot}.snapshot.json`).toString('base64'),
            'targets.json': c.served(`${expected.metadata_dir}/${versions.targets}.targets.json`).toString('base64'),
          });
          // 5.3.3: it asked for the root after the last one and stopped at the 404.
          expect(c.fetcher.count(`/${versions.root + 1}.root.json`)).toBe(1);
        }),
      );

      it(
        'a second refresh from the stored state trusts the same versions and leaves the files as they were',
        run(async (c) => {
          await c.updater().refresh();
          const before = await c.disk();
          const updater = c.updater();
          await updater.refresh();
          expect(trustedVersions(updater)).toEqual(versions);
          expect(await c.disk()).toEqual(before);
        }),
      );
    } else {
      const errorClass = errorClassFor(refresh.python_tuf_error);
      const failingFile = `${refresh.failing_version === undefined ? '' : `${refresh.failing_version}.`}${refresh.failing_role}.json`;

      it(
        `refresh fails on ${failingFile} with ${refresh.python_tuf_error}; root v${refresh.trusted_root_version} stays trusted`,
        run(async (c) => {
          const trace: TraceEvent[] = [];
          const updater = c.updater(trace);
          const error = await updater.refresh().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(errorClass);
          expect((error as Error).name).toBe(refresh.python_tuf_error);
          expect(updater.trustedMetadata).toBeUndefined();
          // The rejected file was the last one fetched: nothing after it was even asked for.
          const fetched = trace.flatMap((e) => (e.type === 'fetch' ? [e.url] : []));
          expect(fetched.at(-1)?.split('/').pop()).toBe(failingFile);
          // The directory holds exactly the last trusted state: the root it reached, nothing else.
          const root = c.served(`${expected.metadata_dir}/${refresh.trusted_root_version}.root.json`);
          expect(await c.disk()).toEqual({ 'root.json': root.toString('base64') });
          expect(Metadata.fromBytes(root, 'root').signed.version).toBe(refresh.trusted_root_version);
        }),
      );

      it(
        'fails the same way after a restart, and the stored state does not change',
        run(async (c) => {
          await expect(c.updater().refresh()).rejects.toBeInstanceOf(errorClass);
          const before = await c.disk();
          await expect(c.updater().refresh()).rejects.toBeInstanceOf(errorClass);
          expect(await c.disk()).toEqual(before);
        }),
      );
    }

    for (const target of expected.targets) {
      it(
        `finds, downloads and verifies ${target.path} (via ${target.visited_roles.join(' -> ')})`,
        run(async (c) => {
          const { updater, info, visited, trace } = await c.lookup(target.path);
          expect(visited).toEqual(target.visited_roles);
          expect(info).toBeDefined();
          expect(info!.path).toBe(target.path);
          expect(info!.length).toBe(target.length);
          expect(info!.hashes).toEqual(target.hashes);
          expect(info!.custom).toEqual(target.custom);
          // The role that lists it is trusted, and so is every role on the chain to it.
          for (const role of target.delegation_chain) expect(updater.trustedMetadata!.getTargets(role)).toBeDefined();
          expect(updater.trustedMetadata!.getTargets(target.role)!.signed.targets.get(target.path)).toBeDefined();

          expect(await updater.findCachedTarget(info!)).toBeUndefined();
          trace.length = 0;
          const path = await updater.downloadTarget(info!);
          // 5.7.3: fetched under its hash prefix, from the served file the vector names.
          expect(trace.filter((e) => e.type === 'fetch')).toEqual([
            { type: 'fetch', url: `${BASE_URL}/${target.target_file}` },
          ]);
          const bytes = await readFile(path);
          expect(bytes.length).toBe(target.length);
          expect(sha256(bytes)).toBe(target.sha256);
          expect(bytes.equals(c.served(target.target_file))).toBe(true);
          expect(await updater.findCachedTarget(info!)).toBe(path);
        }),
      );
    }

    for (const absent of expected.not_found) {
      if (refresh.success) {
        it(
          `does not find ${JSON.stringify(absent.path)}: ${absent.reason}`,
          run(async (c) => {
            const { info, visited } = await c.lookup(absent.path);
            expect(info).toBeUndefined();
            if (absent.visited_roles) expect(visited).toEqual(absent.visited_roles);
          }),
        );
      } else {
        it(
          `cannot look up ${JSON.stringify(absent.path)}: ${absent.reason}`,
          run(async (c) => {
            const updater = c.updater();
            // getTargetInfo refreshes first, and that refresh must fail.
            await expect(updater.getTargetInfo(absent.path)).rejects.toBeInstanceOf(
              errorClassFor(refresh.python_tuf_error),
            );
            expect(updater.trustedMetadata).toBeUndefined();
          }),
        );
      }
    }

    for (const failure of expected.download_failures ?? []) {
      it(
        `refuses the download of ${failure.path} with ${failure.python_tuf_error} and leaves no file`,
        run(async (c) => {
          const { updater, info, visited } = await c.lookup(failure.path);
          if (failure.visited_roles) expect(visited).toEqual(failure.visited_roles);
          expect(info).toBeDefined();
          expect(info!.length).toBe(failure.length);
          expect(info!.hashes.sha256).toBe(failure.sha256);
          // The served file really is the tampered one (the vector is what it claims to be).
          expect(sha256(c.served(failure.target_file))).not.toBe(failure.sha256);

          const error = await updater.downloadTarget(info!).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(errorClassFor(failure.python_tuf_error));
          expect(error).toBeInstanceOf(LengthOrHashMismatchError);
          // Nothing at the destination, no partial file beside it.
          const left = await readdir(c.targetDir).catch(() => [] as string[]);
          expect(left).toEqual([]);
          expect(await updater.findCachedTarget(info!)).toBeUndefined();
        }),
      );
    }
  });
}

describe('DirFetcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etuf-dirfetcher-'));
  const outside = mkdtempSync(join(tmpdir(), 'etuf-dirfetcher-outside-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'a b.txt'), 'inside');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  const base = 'https://files.invalid/base';

  async function body(fetcher: DirFetcher, url: string, offset?: number): Promise<string> {
    const res = await fetcher.fetch(url, { offset });
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body) chunks.push(chunk);
    return `${res.start}:${Buffer.concat(chunks).toString()}`;
  }

  async function status(fetcher: DirFetcher, url: string): Promise<number | undefined> {
    return fetcher.fetch(url).then(
      () => undefined,
      (e: unknown) => (e instanceof DownloadHTTPError ? e.status : -1),
    );
  }

  it('serves files under the base (percent-decoded), honours offsets and records every URL', async () => {
    const f = new DirFetcher(base, dir);
    expect(await body(f, `${base}/sub/a%20b.txt`)).toBe('0:inside');
    expect(await body(f, `${base}/sub/a%20b.txt`, 2)).toBe('2:side');
    expect(f.requests).toEqual([`${base}/sub/a%20b.txt`, `${base}/sub/a%20b.txt`]);
  });

  it('answers 404 for missing files, directories and URLs outside the base', async () => {
    const f = new DirFetcher(base, dir);
    expect(await status(f, `${base}/missing.txt`)).toBe(404);
    expect(await status(f, `${base}/sub`)).toBe(404);
    expect(await status(f, 'https://files.invalid/other/sub/a%20b.txt')).toBe(404);
    expect(f.requests).toHaveLength(3);
  });

  it('answers 403 for paths that would leave the directory', async () => {
    const f = new DirFetcher(base, join(dir, 'sub'));
    expect(await status(f, `${base}/../link.txt`)).toBe(403);
    expect(await status(f, `${base}/%2E%2E/link.txt`)).toBe(403);
    expect(await status(f, `${base}/..%2Flink.txt`)).toBe(403);
    const g = new DirFetcher(base, dir);
    expect(await status(g, `${base}/link.txt`)).toBe(403); // symlink to a file outside
  });
});
