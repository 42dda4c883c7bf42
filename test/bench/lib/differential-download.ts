/**
 * Differential against full downloads of one update, for any repository (the synthetic one of
 * differential-download.bench.ts, or one published with `repo add`'s own chunk maps): each
 * run is a fresh app process (children/differential-download.mjs) on a copy of a userData
 * primed beforehand, timed around downloadUpdate() only. Full and differential runs alternate,
 * so both see the same machine load.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CHILDREN_DIR, median, runChild } from './measure.js';

const CHILD = join(CHILDREN_DIR, 'differential-download.mjs');

export interface AppSource {
  metadataUrl: string;
  targetsUrl: string;
  /** Path of the trusted root. */
  trustedRoot: string;
}

export interface DownloadRun {
  wallMs: number;
  cpuMs: number;
  /** Installer bytes downloaded (the download-progress events' sum). */
  bytes: number;
  differential: boolean;
  fellBack: boolean;
  file: string;
}

export interface Comparison {
  full: DownloadRun[];
  differential: DownloadRun[];
  fullMs: number;
  differentialMs: number;
}

/**
 * Runs the app `version` once on `userDataPath` so that it downloads whatever is newest now and
 * keeps it pending with its chunk map: afterwards its chunks are local (publish the next release
 * after this).
 */
export async function primeUserData(source: AppSource, userDataPath: string, version: string): Promise<DownloadRun> {
  return download(source, userDataPath, version, false);
}

/** `runs` full and `runs` differential downloads of the newest release, each from a copy of `primed`. */
export async function compareDownloads(
  source: AppSource,
  primed: string,
  version: string,
  runs: number,
  scratch: string,
): Promise<Comparison> {
  const full: DownloadRun[] = [];
  const differential: DownloadRun[] = [];
  for (let i = 0; i < runs; i++) {
    for (const mode of ['full', 'differential'] as const) {
      const userData = join(scratch, `userdata-${mode}-${i}`);
      await cp(primed, userData, { recursive: true });
      const run = await download(source, userData, version, mode === 'full');
      (mode === 'full' ? full : differential).push(run);
      await rm(userData, { recursive: true, force: true });
    }
  }
  return {
    full,
    differential,
    fullMs: median(full.map((r) => r.wallMs)),
    differentialMs: median(differential.map((r) => r.wallMs)),
  };
}

async function download(source: AppSource, userDataPath: string, version: string, full: boolean): Promise<DownloadRun> {
  const options = { ...source, userDataPath, version, full };
  // BENCH_CPU_PROF=<dir>: each app process writes a V8 CPU profile there (node --cpu-prof).
  const profileDir = process.env.BENCH_CPU_PROF;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const outcome = await runChild<DownloadRun>(CHILD, [JSON.stringify(options)], { timeoutMs: 300_000, nodeArgs });
  if (!outcome.finished) throw new Error('a differential-download child did not finish in 300 s');
  return outcome.result;
}
