/**
 * Differential updates, publisher side (`npm run bench -- diff`; docs/differential-updates.md):
 * what a client holding the old installer must download for the new one with our chunk maps,
 * against a full download and against electron-builder's own blockmap of the same two files,
 * and what making the map costs.
 *
 * (b) A synthetic 150 MiB installer with 1 % of its content changed in 12 places (insertions
 *     shifting the rest, overwrites, replacements): ratio to the bytes actually changed.
 * (a) The demo app 1.0.0 -> 1.0.1 (one line more in main.js, and the version), built for real
 *     by electron-builder: tar.gz, zip, the NSIS app package and the AppImage squashfs image
 *     (lib/demo-builds.ts says how each is made offline).
 *
 * Bytes to download count the new file's chunks whose hash the old file lacks; a downloader
 * coalescing neighbouring ranges fetches exactly these bytes (the app updater's benchmark
 * measures the download itself with the same fixtures).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../../build/paths.js';
import { Chunker, chunkBytes, DEFAULT_CHUNKING } from '../../publisher/chunker.js';
import { stageInstaller } from '../../publisher/chunk-maps.js';
import { repositoryPaths } from '../../publisher/layout.js';
import { discard, hashAndCopy, type IncomingFile } from '../../publisher/target-store.js';
import { CHUNK_MAP_FORMAT, serializeChunkMap, type Chunk } from '../../updater/release/index.js';
import type { BenchContext } from './run.js';
import { buildDemoPair, DEMO_KINDS } from './lib/demo-builds.js';
import {
  blockMapBytesToDownload,
  bytesToDownload,
  changeInstaller,
  readBlockMap,
  syntheticInstaller,
} from './lib/diff-fixtures.js';
import { median, MIB, round } from './lib/measure.js';

interface BlockMapModule {
  buildBlockMap: (file: string, compression: 'gzip', outFile: string) => Promise<unknown>;
}

/** Chunks a file as the publisher does (streamed in 1 MiB reads). */
export async function chunkFile(path: string): Promise<Chunk[]> {
  const chunker = new Chunker();
  for await (const data of createReadStream(path, { highWaterMark: MIB }) as AsyncIterable<Buffer>) chunker.push(data);
  return chunker.finish();
}

/** The serialized size of the map of `chunks` (what the client downloads before any chunk). */
export function mapBytes(chunks: Chunk[]): number {
  const length = chunks.reduce((sum, c) => sum + c.length, 0);
  return serializeChunkMap({
    format: CHUNK_MAP_FORMAT,
    chunking: 'x'.repeat(48),
    file: { length, sha256: '0'.repeat(64) },
    chunks,
  }).length;
}

/** electron-builder's blockmap of `file` (gzip JSON, as it publishes beside zip and dmg). */
async function blockMapOf(file: string): Promise<{ bytes: Buffer; ms: number }> {
  const require = createRequire(join(PROJECT_ROOT, 'package.json'));
  const { buildBlockMap } = require('app-builder-lib/out/targets/blockmap/blockmap.js') as BlockMapModule;
  const started = performance.now();
  await buildBlockMap(file, 'gzip', `${file}.blockmap`);
  const ms = performance.now() - started;
  return { bytes: await readFile(`${file}.blockmap`), ms };
}

interface Comparison {
  fullBytes: number;
  ours: { download: number; map: number };
  blockmap: { download: number; map: number; ms: number };
}

/** Ours and electron-builder's blockmap for old -> new of one installer. */
async function compare(oldFile: string, newFile: string): Promise<Comparison> {
  const [oldChunks, newChunks] = [await chunkFile(oldFile), await chunkFile(newFile)];
  const [oldBlocks, newBlocks] = [await blockMapOf(oldFile), await blockMapOf(newFile)];
  return {
    fullBytes: (await stat(newFile)).size,
    ours: { download: bytesToDownload(oldChunks, newChunks), map: mapBytes(newChunks) },
    blockmap: {
      download: blockMapBytesToDownload(readBlockMap(oldBlocks.bytes), readBlockMap(newBlocks.bytes)),
      map: newBlocks.bytes.length,
      ms: newBlocks.ms,
    },
  };
}

function recordComparison(ctx: BenchContext, label: string, c: Comparison, changedBytes?: number): void {
  const kib = (n: number): number => round(n / 1024, 1);
  const pct = (n: number): string => `${round((100 * n) / c.fullBytes, 2)} % of the full file`;
  ctx.record(`${label}: full download`, kib(c.fullBytes), 'KiB');
  ctx.record(`${label}: ours, chunks to download`, kib(c.ours.download), 'KiB', pct(c.ours.download));
  ctx.record(`${label}: ours, chunk map`, kib(c.ours.map), 'KiB');
  ctx.record(`${label}: blockmap, blocks to download`, kib(c.blockmap.download), 'KiB', pct(c.blockmap.download));
  ctx.record(`${label}: blockmap, .blockmap (gzip)`, kib(c.blockmap.map), 'KiB');
  ctx.record(
    `${label}: ours / blockmap, download + map`,
    round((c.ours.download + c.ours.map) / (c.blockmap.download + c.blockmap.map), 3),
    'x',
  );
  if (changedBytes === undefined) return;
  ctx.record(`${label}: bytes actually changed`, kib(changedBytes), 'KiB');
  ctx.record(`${label}: ours, download / changed`, round(c.ours.download / changedBytes, 3), 'x', 'goal <= 1.2');
  ctx.record(
    `${label}: ours, (download + map) / changed`,
    round((c.ours.download + c.ours.map) / changedBytes, 3),
    'x',
  );
  ctx.record(`${label}: blockmap, download / changed`, round(c.blockmap.download / changedBytes, 3), 'x');
}

/** Chunking throughput over `data` in 1 MiB pushes, median of `runs` after one warm-up run (JIT). */
function chunkingSpeed(data: Buffer, runs: number): number {
  const speeds: number[] = [];
  for (let r = -1; r < runs; r++) {
    const started = performance.now();
    const chunker = new Chunker();
    for (let at = 0; at < data.length; at += MIB) chunker.push(data.subarray(at, at + MIB));
    chunker.finish();
    if (r >= 0) speeds.push(data.length / MIB / ((performance.now() - started) / 1000));
  }
  return median(speeds);
}

function sha256Speed(data: Buffer, runs: number): number {
  const speeds: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    createHash('sha256').update(data).digest();
    speeds.push(data.length / MIB / ((performance.now() - started) / 1000));
  }
  return median(speeds);
}

/** What `repo add` pays to make the map: staging with and without it (median of `runs`). */
async function stagingCost(workDir: string, file: string, runs: number): Promise<{ plain: number; withMap: number }> {
  const paths = repositoryPaths(join(workDir, 'repo'));
  const time = async (stage: () => Promise<IncomingFile>): Promise<number> => {
    const ms: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      const staged = await stage();
      ms.push(performance.now() - started);
      await discard(staged);
    }
    return median(ms);
  };
  return {
    plain: await time(() => hashAndCopy(paths, file)),
    withMap: await time(() => stageInstaller(paths, file, true)),
  };
}

async function synthetic(ctx: BenchContext, workDir: string): Promise<void> {
  const size = (ctx.quick ? 16 : 150) * MIB;
  const label = `synthetic ${size / MIB} MiB, 1 % in 12 places`;
  const base = syntheticInstaller(size);
  const { content, change } = changeInstaller(base, 0.01, 12);
  ctx.record(
    `chunking speed (${DEFAULT_CHUNKING.averageLength / 1024} KiB average)`,
    round(chunkingSpeed(base, 3), 0),
    'MiB/s',
    'goal > 300',
  );
  // The same machine's SHA-256 speed, to read the figure above against the load of the moment.
  ctx.record('SHA-256 speed (node:crypto), for reference', round(sha256Speed(base, 3), 0), 'MiB/s');
  const [oldFile, newFile] = [join(workDir, 'old.bin'), join(workDir, 'new.bin')];
  await writeFile(oldFile, base);
  await writeFile(newFile, content);
  const comparison = await compare(oldFile, newFile);
  recordComparison(ctx, label, comparison, change.changedBytes);
  ctx.record('electron-builder blockmap speed', round(size / MIB / (comparison.blockmap.ms / 1000), 0), 'MiB/s');
  const cost = await stagingCost(workDir, newFile, 3);
  ctx.record(`repo add staging of ${size / MIB} MiB, hash + copy`, round(cost.plain, 0), 'ms');
  ctx.record(`repo add staging of ${size / MIB} MiB, hash + copy + chunk map`, round(cost.withMap, 0), 'ms');
}

/**
 * One stream compressed whole (tar.gz; deb and rpm payloads likewise): 4 KiB overwritten at
 * 10, 50 or 90 % of a compressible 32 MiB file, then gzipped. What comes before the change is
 * reused, what follows it is not: the saving depends on where in the archive the change falls.
 */
export function streamCompressed(ctx: BenchContext): void {
  const size = (ctx.quick ? 8 : 32) * MIB;
  const base = syntheticInstaller(size, 'stream', true);
  const oldChunks = chunkBytes(gzipSync(base));
  for (const at of [0.1, 0.5, 0.9]) {
    const changed = Buffer.from(base);
    changed.fill(0x5a, Math.floor(size * at), Math.floor(size * at) + 4096);
    const compressed = gzipSync(changed);
    const download = bytesToDownload(oldChunks, chunkBytes(compressed));
    ctx.record(
      `gzip of ${size / MIB} MiB, 4 KiB changed at ${at * 100} %: to download`,
      round((100 * download) / compressed.length, 1),
      '% of the full file',
    );
  }
}

async function demo(ctx: BenchContext, workDir: string): Promise<void> {
  const payload = (ctx.quick ? 8 : 64) * MIB;
  const [from, to] = await buildDemoPair(join(workDir, 'demo'), payload);
  for (const kind of DEMO_KINDS) {
    const [oldFile, newFile] = [from.installers[kind], to.installers[kind]];
    if (!oldFile || !newFile) {
      ctx.record(`demo 1.0.0 -> 1.0.1, ${kind}`, 'skipped', '', 'not buildable here (mksquashfs missing?)');
      continue;
    }
    recordComparison(
      ctx,
      `demo ${payload / MIB} MiB payload, 1.0.0 -> 1.0.1, ${kind}`,
      await compare(oldFile, newFile),
    );
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'etuf-bench-diff-'));
  try {
    await synthetic(ctx, workDir);
    streamCompressed(ctx);
    await demo(ctx, workDir);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
