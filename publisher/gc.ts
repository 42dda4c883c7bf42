/**
 * Garbage collection: deletes versioned files no client can need any more, computed from the
 * metadata (never by listing the storage, which an object store cannot do consistently):
 *
 * - every root stays: clients walk the chain `N.root.json`, N+1, ... from the root they ship (5.3);
 * - timestamp.json stays, and so do the last K snapshots (the current one included) and every
 *   targets/bin version any of them lists. A client refreshing reads timestamp.json, then the
 *   snapshot it names, then the roles that snapshot names (5.4-5.6): a client that read a
 *   timestamp up to K-1 publishes ago (a CDN's cached copy, a slow refresh) still finds
 *   everything; older versions are named by no timestamp anyone is served;
 * - target files of removed releases the caller names (the service knows them from its
 *   records), unless the current metadata lists their path again;
 * - old channel index files: those named only by targets versions collected in this run
 *   (gc-indexes.ts).
 *
 * Runs under the repository's lock, on the state loaded and verified as for a publish, so a
 * publish never interleaves. `floors` (versions already collected) keep each run's work
 * proportional to what was published since the last one.
 */
import { ValueError } from '../updater/core/errors.js';
import type { Snapshot } from '../updater/core/metadata.js';
import { metadataFileName, validatePublishedTargetPath } from './layout.js';
import type { RepositoryOptions } from './options.js';
import type { RepositoryState } from './repository.js';
import { readSignedVersion, storedNames, unreachableIndexFiles } from './gc-indexes.js';
import type { RepositoryStorage } from './storage.js';
import type { RepositoryConfig } from './config.js';
import type { TrustedStateStore } from './trusted-state.js';
import { withLoadedState } from './transaction.js';

export const DEFAULT_KEEP_SNAPSHOTS = 10;

/** Versions below these were collected by an earlier run (so are not named again). */
export interface GarbageFloors {
  snapshot: number;
  /** Per targets role (`targets`, each bin). */
  roles: Record<string, number>;
}

/** A target of a removed release: its path and the hashes naming its stored files. */
export interface RemovedTarget {
  path: string;
  hashes: Record<string, string>;
}

export interface GarbageOptions extends RepositoryOptions {
  storage?: RepositoryStorage;
  stateFile?: string;
  /** Where the trusted record is kept when not in a file (the service keeps it in its database). */
  stateStore?: TrustedStateStore;
  /** The repository's settings when not in electron-tuf.json (the service on object storage). */
  config?: RepositoryConfig;
  env?: NodeJS.ProcessEnv;
  /** Snapshot versions kept, the current one included (at least 1; default 10). */
  keepSnapshots?: number;
  floors?: GarbageFloors;
  removedTargets?: readonly RemovedTarget[];
  /** Compute and report, delete nothing. */
  dryRun?: boolean;
}

export interface GarbageResult {
  /** Metadata file names deleted (or that would be, in a dry run); absent ones included. */
  metadata: string[];
  /** Paths inside targets/ deleted (or that would be): removed releases' files and old channel indexes. */
  targets: string[];
  /** Of `targets`, the old channel index files. */
  indexes: string[];
  /** Removed targets kept because the current metadata lists their path. */
  stillListed: string[];
  /** The floors once this run's deletions are done: give them to the next run. */
  floors: GarbageFloors;
  snapshotVersion: number;
}

export async function collectGarbage(options: GarbageOptions): Promise<GarbageResult> {
  const keep = options.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new ValueError(`keepSnapshots must be at least 1, got ${keep}`);
  // The same verified load as a publish, under the same lock (transaction.ts).
  return withLoadedState(options, async (state, _stateStore, recorded) => {
    const { storage } = state;
    const current = state.snapshot.signed.version;
    // The publisher's own record names a snapshot it re-reads at load (rollback check): keep it too.
    const keepFrom = Math.max(1, Math.min(current - keep + 1, recorded?.snapshot.version ?? current));
    const kept = await keptSnapshots(state, keepFrom);
    const plan = planMetadata(kept, keepFrom, options.floors);
    const { remove, stillListed } = await planTargets(state, options.removedTargets ?? []);
    // Read before the targets versions naming them are deleted below.
    const indexes = await unreachableIndexFiles(state, plan.collectedTargets, plan.keptTargets);
    const targets = [...new Set([...remove, ...indexes])];
    if (!options.dryRun) {
      // Files first: a run that fails after deleting the metadata would no longer find the indexes it named.
      await storage.removeFiles('targets', targets);
      await storage.removeFiles('metadata', plan.metadata);
    }
    return { metadata: plan.metadata, targets, indexes, stillListed, floors: plan.floors, snapshotVersion: current };
  });
}

/** Snapshots keepFrom..current, each verified against the snapshot keys of root (or the root before it). */
async function keptSnapshots(state: RepositoryState, keepFrom: number): Promise<Snapshot[]> {
  const current = state.snapshot.signed.version;
  const kept: Snapshot[] = [state.snapshot.signed];
  for (let version = keepFrom; version < current; version++) {
    // Absent: never written (an interrupted publish's number reused) or gone: names nothing.
    const md = await readSignedVersion(state, 'snapshot', version);
    if (md) kept.push(md.signed);
  }
  return kept;
}

/** Snapshot versions below keepFrom, and each role's versions below the lowest a kept snapshot lists. */
function planMetadata(
  kept: readonly Snapshot[],
  keepFrom: number,
  floors: GarbageFloors | undefined,
): { metadata: string[]; floors: GarbageFloors; collectedTargets: number[]; keptTargets: Set<number> } {
  const lowest = new Map<string, number>();
  const keptTargets = new Set<number>();
  for (const snapshot of kept) {
    for (const [file, meta] of snapshot.meta) {
      const role = file.replace(/\.json$/, '');
      lowest.set(role, Math.min(lowest.get(role) ?? Infinity, meta.version));
      if (role === 'targets') keptTargets.add(meta.version);
    }
  }
  const collectedTargets: number[] = [];
  const metadata: string[] = [];
  const from = (n: number | undefined): number => (Number.isSafeInteger(n) && n! >= 1 ? n! : 1);
  for (let v = from(floors?.snapshot); v < keepFrom; v++) metadata.push(metadataFileName('snapshot', v));
  const roles: Record<string, number> = {};
  for (const [role, below] of lowest) {
    if (role === 'root' || role === 'timestamp') continue; // never listed by a valid snapshot; never collected
    for (let v = from(floors?.roles[role]); v < below; v++) {
      metadata.push(metadataFileName(role, v));
      if (role === 'targets') collectedTargets.push(v);
    }
    roles[role] = below;
  }
  return { metadata, floors: { snapshot: keepFrom, roles }, collectedTargets, keptTargets };
}

/** The stored files of removed targets whose path the current metadata does not list. */
async function planTargets(
  state: RepositoryState,
  removed: readonly RemovedTarget[],
): Promise<{ remove: string[]; stillListed: string[] }> {
  const remove = new Set<string>();
  const stillListed: string[] = [];
  for (const target of removed) {
    validatePublishedTargetPath(target.path);
    const listing = await state.targetsRole(state.roleFor(target.path));
    if (listing.signed.targets.has(target.path) || state.targets.signed.targets.has(target.path)) {
      stillListed.push(target.path);
      continue;
    }
    // The consistent-snapshot names (5.7.3), checked to stay inside targets/, relative to it.
    for (const name of storedNames(state, target.path, target.hashes)) remove.add(name);
  }
  return { remove: [...remove], stillListed };
}
