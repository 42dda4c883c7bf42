/**
 * Creating PEP 458's 16,384 hashed bins holding 100,000 targets (BENCH_QUICK=1: 1,024 bins,
 * 10,000 targets): wall time and peak RSS, measured in a child process of its own so the
 * figure is the publisher's alone. Then a client's cold refresh and lookup against it.
 *
 * Run directly with `--child <dir> <bins> <targets>` it is that child: it prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { addTargets, initRepository, serveRepository } from '../../dist/publisher/index.js';
import { Updater } from '../../dist/updater/client/updater.js';

const here = fileURLToPath(import.meta.url);

function syntheticTargets(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const sha256 = createHash('sha256').update(String(i)).digest('hex');
    out.push({
      path: `0.${Math.floor(i / 100)}.${i % 100}/app-${i}.tar.gz`,
      length: 1_000_000 + i,
      hashes: { sha256, sha512: sha256 + sha256 },
    });
  }
  return out;
}

async function child(dir, bins, targets) {
  const repo = join(dir, 'repo');
  const keys = join(dir, 'keys');
  const t0 = performance.now();
  await initRepository({ repo, keys, bins });
  const t1 = performance.now();
  await addTargets({ repo, keys, env: {}, targets: syntheticTargets(targets) });
  const t2 = performance.now();
  const names = await readdir(join(repo, 'metadata'));
  const snapshot = names.filter((n) => /^\d+\.snapshot\.json$/.test(n)).sort((a, b) => parseInt(b) - parseInt(a))[0];
  process.stdout.write(
    JSON.stringify({
      initMs: t1 - t0,
      importMs: t2 - t1,
      maxRssKiB: process.resourceUsage().maxRSS,
      metadataFiles: names.length,
      snapshotBytes: (await stat(join(repo, 'metadata', snapshot))).size,
    }) + '\n',
  );
}

function runChild(dir, bins, targets) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [here, '--child', dir, String(bins), String(targets)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
  });
}

async function clientLookup(repo, path) {
  const server = await serveRepository({ repo });
  const dir = await mkdtemp(join(tmpdir(), 'etuf-bench-client-'));
  try {
    const { readFile } = await import('node:fs/promises');
    const started = performance.now();
    const updater = new Updater({
      metadataDir: join(dir, 'metadata'),
      metadataBaseUrl: server.metadataUrl,
      bootstrapRoot: await readFile(join(repo, 'metadata', '1.root.json')),
    });
    await updater.refresh();
    const info = await updater.getTargetInfo(path);
    if (!info) throw new Error(`${path} not found`);
    return performance.now() - started;
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run({ record, quick = process.env.BENCH_QUICK === '1' }) {
  const bins = quick ? 1024 : 16_384;
  const targets = quick ? 10_000 : 100_000;
  const dir = await mkdtemp(join(tmpdir(), 'etuf-bench-bins-'));
  try {
    const started = performance.now();
    const figures = await runChild(dir, bins, targets);
    const wallMs = performance.now() - started;
    const label = `${bins.toLocaleString('en')} bins holding ${targets.toLocaleString('en')} targets`;
    record(`create ${label}: wall time (process)`, wallMs, 'ms');
    record('  init: keys, root, targets and the empty bins', figures.initMs, 'ms');
    record('  import of the targets (every bin rewritten once)', figures.importMs, 'ms');
    record('  peak RSS', Math.round(figures.maxRssKiB / 1024), 'MiB');
    record('  metadata files on disk', figures.metadataFiles, 'files');
    record('  snapshot size (client limit 2,000,000)', figures.snapshotBytes, 'bytes');
    record(
      'client cold refresh + lookup of one target',
      await clientLookup(join(dir, 'repo'), '0.7.7/app-707.tar.gz'),
      'ms',
      'our Updater over HTTP on loopback',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === here && process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
}
