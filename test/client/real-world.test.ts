/**
 * Repositories published by real implementations (tuf-conformance static_data, copied to
 * test/vectors/python-tuf/real-world): Sigstore's root-signing repository and a tuf-on-ci 0.11
 * repository. The client is bootstrapped with each one's initial_root.json, refreshes at the
 * repository's faketime (both would be expired now), and must reach the versions and the
 * target listed in real-world/expected.json.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrustedMetadataSet } from '../../updater/client/trusted-metadata-set.js';
import { Updater, type UpdaterConfig } from '../../updater/client/updater.js';
import { ExpiredMetadataError, UnsignedMetadataError } from '../../updater/core/errors.js';
import { Metadata } from '../../updater/core/metadata.js';
import { countSignatures } from '../../updater/core/verify.js';
import { DirFetcher } from '../helpers/dir-fetcher.js';
import { VECTORS } from '../helpers/vectors.js';

const REAL_WORLD = join(VECTORS, 'real-world');
const BASE_URL = 'https://real-world.invalid';

interface RealWorldRepo {
  faketime_file: string;
  reference_time: string;
  targetpath: string;
  initial_root_version: number;
  expected_trusted_versions: Record<'root' | 'timestamp' | 'snapshot' | 'targets', number>;
  target: { path: string; role: string; length: number; sha256: string; target_file: string };
  extra_files_in_metadata_dir: string[];
}

const expectedAll = JSON.parse(readFileSync(join(REAL_WORLD, 'expected.json'), 'utf8')) as {
  repos: Record<string, RealWorldRepo>;
};
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `2025-02-09 12:02:08+00:00` (the faketime file) as a Date. */
function parseFaketime(text: string): Date {
  const date = new Date(text.trim().replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) throw new Error(`bad faketime ${JSON.stringify(text)}`);
  return date;
}

async function withClient(
  name: string,
  fn: (client: {
    updater: (config?: Partial<UpdaterConfig>) => Updater;
    fetcher: DirFetcher;
    metadataDir: string;
    served: (p: string) => Buffer;
  }) => Promise<void>,
): Promise<void> {
  const repoDir = join(REAL_WORLD, name);
  const dir = await mkdtemp(join(tmpdir(), `etuf-real-world-${name}-`));
  const metadataDir = join(dir, 'metadata');
  const fetcher = new DirFetcher(BASE_URL, repoDir);
  const referenceTime = parseFaketime(readFileSync(join(repoDir, 'faketime'), 'utf8'));
  try {
    await fn({
      fetcher,
      metadataDir,
      served: (p) => readFileSync(join(repoDir, p)),
      updater: (config) =>
        new Updater({
          metadataDir,
          metadataBaseUrl: `${BASE_URL}/metadata`,
          targetDir: join(dir, 'targets'),
          targetBaseUrl: `${BASE_URL}/targets`,
          bootstrapRoot: readFileSync(join(repoDir, 'initial_root.json')),
          fetcher,
          config: { referenceTime, readTimeoutMs: 2_000, ...config },
        }),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('real-world repositories', () => {
  it('covers both tuf-conformance repositories', () => {
    expect(Object.keys(expectedAll.repos).sort()).toEqual(['sigstore-root-signing', 'tuf-on-ci-0.11']);
  });
});

for (const [name, expected] of Object.entries(expectedAll.repos)) {
  describe(`real-world ${name}`, () => {
    it('faketime and targetpath files agree with expected.json', () => {
      const repoDir = join(REAL_WORLD, name);
      expect(parseFaketime(readFileSync(join(repoDir, 'faketime'), 'utf8')).toISOString()).toBe(
        new Date(expected.reference_time).toISOString(),
      );
      expect(readFileSync(join(repoDir, 'targetpath'), 'utf8').trim()).toBe(expected.targetpath);
      expect(Metadata.fromBytes(readFileSync(join(repoDir, 'initial_root.json')), 'root').signed.version).toBe(
        expected.initial_root_version,
      );
    });

    it(`refreshes at ${expected.reference_time} to ${JSON.stringify(expected.expected_trusted_versions)}`, () =>
      withClient(name, async ({ updater, fetcher, metadataDir, served }) => {
        const up = updater();
        await up.refresh();
        const set = up.trustedMetadata!;
        const v = expected.expected_trusted_versions;
        expect({
          root: set.root.signed.version,
          timestamp: set.timestamp!.signed.version,
          snapshot: set.snapshot!.signed.version,
          targets: set.targets!.signed.version,
        }).toEqual(v);
        // Only metadata was asked for, and no root older than the bootstrap one (never parsed).
        expect(fetcher.requests.every((u) => u.startsWith(`${BASE_URL}/metadata/`) && u.endsWith('.json'))).toBe(true);
        const rootVersionsFetched = fetcher.requests
          .flatMap((u) => /\/(\d+)\.root\.json$/.exec(u)?.[1] ?? [])
          .map(Number);
        expect(rootVersionsFetched.every((n) => n > expected.initial_root_version)).toBe(true);
        // The stored files are the served ones.
        const stored = (file: string): Promise<Buffer> => readFile(join(metadataDir, file));
        expect((await stored('root.json')).equals(served(`metadata/${v.root}.root.json`))).toBe(true);
        expect((await stored('timestamp.json')).equals(served('metadata/timestamp.json'))).toBe(true);
        expect((await stored('snapshot.json')).equals(served(`metadata/${v.snapshot}.snapshot.json`))).toBe(true);
        expect((await stored('targets.json')).equals(served(`metadata/${v.targets}.targets.json`))).toBe(true);
      }));

    it(`finds ${expected.target.path} in ${expected.target.role}, downloads it and verifies its sha256`, () =>
      withClient(name, async ({ updater, served }) => {
        const up = updater();
        await up.refresh();
        const info = await up.getTargetInfo(expected.targetpath);
        expect(info).toBeDefined();
        expect(info!.length).toBe(expected.target.length);
        expect(info!.hashes.sha256).toBe(expected.target.sha256);
        expect(up.trustedMetadata!.getTargets(expected.target.role)!.signed.targets.has(expected.target.path)).toBe(
          true,
        );
        const path = await up.downloadTarget(info!);
        const bytes = await readFile(path);
        expect(sha256(bytes)).toBe(expected.target.sha256);
        expect(bytes.equals(served(expected.target.target_file))).toBe(true);
      }));

    it('refuses to refresh once the timestamp has expired (the faketime matters)', () =>
      withClient(name, async ({ updater, served, metadataDir }) => {
        const timestamp = Metadata.fromBytes(served('metadata/timestamp.json'), 'timestamp');
        const up = updater({ referenceTime: new Date(timestamp.signed.expiresAt) });
        await expect(up.refresh()).rejects.toBeInstanceOf(ExpiredMetadataError);
        expect(await readdir(metadataDir).then((names) => names.filter((n) => !n.startsWith('.')))).toEqual([
          'root.json',
        ]);
      }));

    it('does not fetch the non-metadata files of the metadata directory', () =>
      withClient(name, async ({ updater, fetcher }) => {
        await updater().refresh();
        for (const extra of expected.extra_files_in_metadata_dir) {
          expect(readFileSync(join(REAL_WORLD, name, 'metadata', extra)).length).toBeGreaterThan(0);
          expect(fetcher.requests.some((u) => u.endsWith(`/${extra}`))).toBe(false);
        }
      }));
  });
}

describe('sigstore empty signatures', () => {
  const root12 = readFileSync(join(REAL_WORLD, 'sigstore-root-signing', 'metadata', '12.root.json'));
  const doc = JSON.parse(root12.toString('utf8')) as {
    signed: unknown;
    signatures: Array<{ keyid: string; sig: string }>;
  };
  const emptyKeyids = doc.signatures.filter((s) => s.sig === '').map((s) => s.keyid);
  const validKeyids = doc.signatures.filter((s) => s.sig !== '').map((s) => s.keyid);

  it('root v12 has empty signature strings that count as "not signed"; the others meet the threshold', () => {
    expect(emptyKeyids.length).toBeGreaterThan(0);
    const md = Metadata.fromBytes(root12, 'root');
    const role = md.signed.roles.root;
    const count = countSignatures(role, md.signed.keys, md);
    expect(count.threshold).toBe(validKeyids.length); // 3 of 5 in this repository
    expect([...count.signedBy].sort()).toEqual([...validKeyids].sort());
    for (const keyid of emptyKeyids) expect(count.missing).toContain(keyid);
    expect(() => new TrustedMetadataSet(root12, new Date('2025-02-09T12:02:08Z'))).not.toThrow();
  });

  it('blanking one more signature drops below the threshold: UnsignedMetadataError', () => {
    const tampered = {
      ...doc,
      signatures: doc.signatures.map((s) => (s.keyid === validKeyids[0] ? { ...s, sig: '' } : s)),
    };
    const bytes = Buffer.from(JSON.stringify(tampered));
    expect(() => new TrustedMetadataSet(bytes)).toThrow(UnsignedMetadataError);
  });
});
