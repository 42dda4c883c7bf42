/** A client wired to a RepositorySimulator, with its metadata directory inspectable. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater, type TraceEvent, type UpdaterConfig } from '../../updater/client/updater.js';
import { METADATA_URL, TARGETS_URL, type RepositorySimulator } from './simulator.js';

export interface SimClient {
  dir: string;
  metadataDir: string;
  targetDir: string;
  trace: TraceEvent[];
  /** A new Updater over the same directories (as an app restart would create). */
  updater(config?: Partial<UpdaterConfig>): Updater;
  /** name -> bytes of every file in the metadata directory. */
  snapshotDisk(): Promise<Map<string, string>>;
  cleanup(): Promise<void>;
}

export async function simClient(sim: RepositorySimulator, bootstrap = sim.initialRoot): Promise<SimClient> {
  const dir = await mkdtemp(join(tmpdir(), 'etuf-client-'));
  const metadataDir = join(dir, 'metadata');
  const targetDir = join(dir, 'targets');
  const trace: TraceEvent[] = [];
  return {
    dir,
    metadataDir,
    targetDir,
    trace,
    updater: (config) =>
      new Updater({
        metadataDir,
        metadataBaseUrl: METADATA_URL,
        targetDir,
        targetBaseUrl: TARGETS_URL,
        bootstrapRoot: bootstrap,
        fetcher: sim,
        config: { readTimeoutMs: 500, ...config },
        trace: (e) => trace.push(e),
      }),
    async snapshotDisk() {
      const out = new Map<string, string>();
      for (const name of (await readdir(metadataDir)).sort()) {
        if (name.startsWith('.')) continue;
        out.set(name, (await readFile(join(metadataDir, name))).toString('base64'));
      }
      return out;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
