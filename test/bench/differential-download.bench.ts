/**
 * `npm run bench -- differential-download`: a differential update against a full download of
 * the same installer (issue 15's performance section), on loopback.
 *
 * A synthetic installer (150 MB of pseudo-random bytes; BENCH_QUICK=1: 24 MB) and a new version
 * of it with 1 % of its bytes overwritten in 15 places and a few bytes inserted near the start
 * (which shifts everything after it), both published with `repo add`, which makes their chunk
 * maps (publisher/chunker.ts), and served by `repo serve` (single byte ranges). An app that downloaded the
 * old version (kept pending, with its map) then downloads the new one, in a fresh process each
 * run: full and differential runs alternate.
 *
 * Goals: wall time at most 1.1 x the full download's; bytes at most 1.2 x (changed bytes + the
 * new map).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRepository, serveRepository, type RepositoryServer } from '../../publisher/index.js';
import { changedCopy, publishWithChunkMap, pseudoRandomBytes, writeInstaller } from '../helpers/chunk-maps.js';
import type { BenchContext } from './run.js';
import { compareDownloads, primeUserData } from './lib/differential-download.js';
import { killChildren, median, MIB, round } from './lib/measure.js';

const CHANGED_FRACTION = 0.01;
const REGIONS = 15;
const TIME_GOAL = 1.1;
const BYTES_GOAL = 1.2;

export async function run({ record, quick }: BenchContext): Promise<void> {
  const size = (quick ? 24 : 150) * 1_000_000;
  const runs = quick ? 2 : 5;
  const dir = await mkdtemp(join(tmpdir(), 'electron-tuf-bench-differential-'));
  let server: RepositoryServer | undefined;
  try {
    const repo = join(dir, 'repo');
    const keys = join(dir, 'keys');
    const init = await initRepository({ repo, keys });
    server = await serveRepository({ repo });
    const target = { repo, keys, metadataUrl: server.metadataUrl, root: await readFile(init.trustedRoot) };
    const source = { metadataUrl: server.metadataUrl, targetsUrl: server.targetsUrl, trustedRoot: init.trustedRoot };

    const old = pseudoRandomBytes(size, 'bench 1.0.0');
    const next = changedCopy(old, CHANGED_FRACTION, REGIONS, 'bench 1.1.0');
    const changed = next.length - old.length + Math.floor(size * CHANGED_FRACTION);
    const started = performance.now();
    await publishWithChunkMap(target, '1.0.0', await writeInstaller(join(dir, 'b1'), 'App-1.0.0.tar.gz', old), old);
    const primed = join(dir, 'primed');
    await primeUserData(source, primed, '0.9.0');
    const map = await publishWithChunkMap(
      target,
      '1.1.0',
      await writeInstaller(join(dir, 'b2'), 'App-1.1.0.tar.gz', next),
      next,
    );
    const setupS = (performance.now() - started) / 1000;

    const result = await compareDownloads(source, primed, '0.9.0', runs, dir);
    if (result.differential.some((r) => !r.differential || r.fellBack)) throw new Error('a differential run fell back');
    const bytes = result.differential[0].bytes;
    const mapBytes = map!.length;
    const timeRatio = result.differentialMs / result.fullMs;
    const bytesRatio = (bytes + mapBytes) / (changed + mapBytes);
    const label = `${round(size / 1_000_000, 0)} MB, 1 % changed in ${REGIONS} places`;
    record(`${label}: set-up (publish both, prime the app)`, round(setupS, 1), 's');
    record(`${label}: full download, wall (median)`, round(result.fullMs), 'ms', `${runs} processes`);
    record(`${label}: differential, wall (median)`, round(result.differentialMs), 'ms', `${runs} processes`);
    record(`${label}: differential / full time`, round(timeRatio, 3), 'x', `goal <= ${TIME_GOAL}`);
    record(`${label}: full download, CPU (median)`, round(median(result.full.map((r) => r.cpuMs))), 'ms');
    record(`${label}: differential, CPU (median)`, round(median(result.differential.map((r) => r.cpuMs))), 'ms');
    record(`${label}: full download, bytes`, result.full[0].bytes, 'B');
    record(`${label}: bytes changed`, changed, 'B');
    record(`${label}: new chunk map`, mapBytes, 'B', `${round(mapBytes / MIB, 2)} MiB`);
    record(`${label}: differential, installer bytes`, bytes, 'B');
    record(`${label}: differential bytes / (changed + map)`, round(bytesRatio, 3), 'x', `goal <= ${BYTES_GOAL}`);
    record(
      `${label}: goals met`,
      timeRatio <= TIME_GOAL && bytesRatio <= BYTES_GOAL ? 'yes' : 'no',
      '',
      `time ${timeRatio <= TIME_GOAL ? 'yes' : 'no'}, bytes ${bytesRatio <= BYTES_GOAL ? 'yes' : 'no'}`,
    );
  } finally {
    killChildren();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
