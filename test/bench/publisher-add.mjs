/**
 * `repo add` of one large installer into a repository with many targets in hashed bins.
 * Default (the sizes): a 200 MiB installer into 100,000 targets in 256 bins; BENCH_QUICK=1:
 * 16 MiB into 5,000 targets. Reports the wall time split into hashing (sha256 + sha512 and the
 * copy, one streaming pass) and the rest, and the metadata bytes rewritten, also for a
 * repository ten times smaller to show how they scale.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addRelease, addTargets, initRepository } from '../../dist/publisher/index.js';

const MiB = 1024 * 1024;

function syntheticTargets(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const sha256 = createHash('sha256').update(String(i)).digest('hex');
    out.push({
      path: `0.${Math.floor(i / 100)}.${i % 100}/app-${i}.tar.gz`,
      length: 50 * MiB + i,
      hashes: { sha256, sha512: sha256 + sha256 },
      custom: {
        version: `0.${Math.floor(i / 100)}.${i % 100}`,
        platform: 'linux',
        arch: 'x64',
        kind: 'tar.gz',
        channel: 'stable',
        releaseDate: '2025-01-01T00:00:00Z',
      },
    });
  }
  return out;
}

async function writeInstaller(path, bytes) {
  const handle = await open(path, 'w');
  const block = randomBytes(4 * MiB);
  for (let written = 0; written < bytes; written += block.length)
    await handle.write(block, 0, Math.min(block.length, bytes - written));
  await handle.close();
}

/** A repository of `targets` targets in `bins` bins, then one add of an installer of `installerBytes`. */
async function scenario(dir, { targets, bins, installerBytes }) {
  const repo = join(dir, `repo-${targets}`);
  const keys = join(dir, `keys-${targets}`);
  await initRepository({ repo, keys, bins });
  const imported = performance.now();
  await addTargets({ repo, keys, env: {}, targets: syntheticTargets(targets) });
  const importMs = performance.now() - imported;
  const installer = join(dir, 'app-9.0.0.tar.gz');
  await writeInstaller(installer, installerBytes);
  const started = performance.now();
  const result = await addRelease({
    repo,
    keys,
    env: {},
    files: [installer],
    version: '9.0.0',
    platform: 'linux',
    arch: 'x64',
  });
  const wallMs = performance.now() - started;
  const binFile = result.publish.files.find((f) => f.name.includes('.bins-'));
  return { importMs, wallMs, result, binBytes: binFile?.bytes ?? 0 };
}

export async function run({ record, quick = process.env.BENCH_QUICK === '1' }) {
  const targets = quick ? 5_000 : 100_000;
  const installerBytes = (quick ? 16 : 200) * MiB;
  const bins = 256;
  const dir = await mkdtemp(join(tmpdir(), 'etuf-bench-add-'));
  try {
    const big = await scenario(dir, { targets, bins, installerBytes });
    const { result } = big;
    const label = `${installerBytes / MiB} MiB into ${targets.toLocaleString('en')} targets / ${bins} bins`;
    record(`add ${label}: wall time`, big.wallMs, 'ms');
    record(
      '  hashing: sha256+sha512+copy, one streaming pass',
      result.timings.hashAndCopyMs,
      'ms',
      `${(installerBytes / MiB / (result.timings.hashAndCopyMs / 1000)).toFixed(0)} MiB/s`,
    );
    record('  the rest (goal < 1000 ms)', big.wallMs - result.timings.hashAndCopyMs, 'ms');
    record('    of which under the repository lock', result.timings.publishMs, 'ms');
    record(
      '  metadata files rewritten',
      result.publish.files.length,
      'files',
      result.publish.files.map((f) => f.name).join(' '),
    );
    record('  metadata bytes rewritten', result.publish.metadataBytes, 'bytes');
    record('    of which the one bin', big.binBytes, 'bytes', `${Math.round(targets / bins)} targets per bin`);
    record(`  (setup) import of ${targets.toLocaleString('en')} targets into ${bins} bins`, big.importMs, 'ms');

    const small = await scenario(dir, { targets: targets / 10, bins, installerBytes: MiB });
    record(
      `same add into ${(targets / 10).toLocaleString('en')} targets / ${bins} bins: metadata bytes rewritten`,
      small.result.publish.metadataBytes,
      'bytes',
    );
    record('    of which the one bin', small.binBytes, 'bytes');
    record(
      '  the rest (bytes not in the bin): 10x targets vs 1x',
      `${big.result.publish.metadataBytes - big.binBytes} vs ${small.result.publish.metadataBytes - small.binBytes}`,
      'bytes',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
