/**
 * Garbage collection for the service (`electron-tuf server gc`, and the scheduler's `gc` job):
 * per repository, under the same lock as publishing, the publisher's `collectGarbage` with
 * - the versions already collected (gc_state.floors), and
 * - the target files of releases yanked more than the grace period ago, found from the
 *   database's records (the yank's change, and the published adds of that version with the
 *   hashes their tasks recorded), never by listing storage;
 * and, given the service's upload store, the uploads no release used, requested more than the
 * upload grace period ago (upload-records.ts).
 * The records are updated only after the files are gone; a run that fails changes nothing in
 * the database and the next one deletes the same files again (absent files are fine). An unused
 * upload goes with its row in one transaction (collectUnusedUpload), racing no add.
 */
import { collectGarbage, type GarbageFloors, type GarbageResult, type RemovedTarget } from 'electron-tuf/publisher';
import { ValueError } from 'electron-tuf/core';
import type { AddPayload, RemovePayload } from './changes.js';
import type { UploadStore } from './blobs.js';
import type { Db, Queryable } from './db.js';
import type { Repositories } from './repositories.js';
import { collectUnusedUpload, unusedUploads } from './upload-records.js';

import { DEFAULT_GRACE_DAYS, DEFAULT_UPLOAD_GRACE_DAYS } from './gc-defaults.js';

export { DEFAULT_GRACE_DAYS, DEFAULT_UPLOAD_GRACE_DAYS };
/** Yanks handled per run: bounded work and memory; the next run continues. */
const REMOVALS_PER_RUN = 500;
const DAY_MS = 86_400_000;

export interface GcSettings {
  /** Snapshots kept, the current one included (default 10). */
  keepSnapshots?: number;
  /** Objects of a yanked release go this long after the yank was published (default 7 days). */
  graceDays?: number;
  /** Uploads no release used go this long after they were requested (default 1 day). */
  uploadGraceDays?: number;
  /** The service's upload store: without it, unused uploads are kept. */
  uploads?: UploadStore;
  dryRun?: boolean;
  now?: Date;
  /** Tests: called with the unused uploads listed, and with each one's row deleted but its object not yet. */
  hooks?: UploadGcHooks;
}

export interface UploadGcHooks {
  listed?(digests: readonly string[]): Promise<void>;
  deleting?(sha256: string): Promise<void>;
}

export interface RepositoryGc extends GarbageResult {
  repository: string;
  /** SHA-256 digests of the unused uploads deleted (or that would be). */
  uploads: string[];
}

function graceCutoff(now: Date, days: number, name: string): Date {
  if (!Number.isFinite(days) || days < 0) throw new ValueError(`${name} must be >= 0, got ${days}`);
  return new Date(now.getTime() - days * DAY_MS);
}

interface GcState {
  floors?: GarbageFloors;
  removalsThrough: number;
}

export async function collectRepository(
  db: Db,
  repositories: Repositories,
  repository: string,
  settings: GcSettings = {},
): Promise<RepositoryGc> {
  const now = settings.now ?? new Date();
  const cutoff = graceCutoff(now, settings.graceDays ?? DEFAULT_GRACE_DAYS, 'graceDays');
  const uploadCutoff = graceCutoff(now, settings.uploadGraceDays ?? DEFAULT_UPLOAD_GRACE_DAYS, 'uploadGraceDays');
  // The publish lock: no worker publishes this repository meanwhile (the storage lock is held inside too).
  return db.withLock(`publish:${repository}`, async () => {
    const state = await readState(db, repository);
    const removed = await removedTargets(db, repository, state.removalsThrough, cutoff);
    const result = await collectGarbage({
      ...(await repositories.target(repository)),
      keepSnapshots: settings.keepSnapshots,
      floors: state.floors,
      removedTargets: removed.targets,
      dryRun: settings.dryRun,
    });
    if (!settings.dryRun) await writeState(db, repository, result.floors, removed.through);
    const uploads = settings.uploads
      ? await collectUploads(db, settings.uploads, repository, uploadCutoff, settings.dryRun === true, settings.hooks)
      : [];
    return { repository, ...result, uploads };
  });
}

/**
 * Unused uploads, each in a transaction of its own holding its row (upload-records.ts): an add
 * that named one after it was listed keeps it, and an add that comes while it is deleted is
 * refused up front rather than failing in the worker. A run that fails part-way has deleted
 * whole uploads only (row and object together).
 */
async function collectUploads(
  db: Db,
  uploads: UploadStore,
  repository: string,
  before: Date,
  dryRun: boolean,
  hooks: UploadGcHooks = {},
): Promise<string[]> {
  const unused = await unusedUploads(db, repository, before);
  if (dryRun) return unused;
  await hooks.listed?.(unused);
  const deleted: string[] = [];
  for (const sha256 of unused) {
    const gone = await collectUnusedUpload(db, repository, sha256, before, async () => {
      await hooks.deleting?.(sha256);
      await uploads.remove(repository, sha256);
    });
    if (gone) deleted.push(sha256);
  }
  return deleted;
}

async function readState(db: Queryable, repository: string): Promise<GcState> {
  const rows = await db.query<{ floors: GarbageFloors; removals_through: string | number }>(
    'SELECT floors, removals_through FROM gc_state WHERE repository = $1',
    [repository],
  );
  const row = rows[0];
  return row ? { floors: row.floors, removalsThrough: Number(row.removals_through) } : { removalsThrough: 0 };
}

async function writeState(db: Queryable, repository: string, floors: GarbageFloors, through: number): Promise<void> {
  await db.query(
    `INSERT INTO gc_state (repository, floors, removals_through) VALUES ($1, $2, $3)
     ON CONFLICT (repository) DO UPDATE SET floors = $2, removals_through = $3, collected_at = now()`,
    [repository, JSON.stringify(floors), through],
  );
}

/**
 * Targets of releases yanked (published) before `cutoff`, after change id `after`, in order; it
 * stops at the first yank still inside its grace period, so `through` only moves over yanks done.
 */
async function removedTargets(
  db: Queryable,
  repository: string,
  after: number,
  cutoff: Date,
): Promise<{ targets: RemovedTarget[]; through: number }> {
  const yanks = await db.query<{ id: string | number; payload: RemovePayload; settled: Date | string }>(
    `SELECT c.id, c.payload, t.updated_at AS settled FROM changes c JOIN tasks t ON t.id = c.task_id
      WHERE c.repository = $1 AND c.kind = 'remove' AND c.state = 'published' AND c.id > $2
      ORDER BY c.id LIMIT $3`,
    [repository, after, REMOVALS_PER_RUN],
  );
  const targets: RemovedTarget[] = [];
  let through = after;
  for (const yank of yanks) {
    if (new Date(yank.settled).getTime() > cutoff.getTime()) break;
    targets.push(...(await targetsOfAddsBefore(db, repository, Number(yank.id), yank.payload)));
    through = Number(yank.id);
  }
  return { targets, through };
}

/** The targets published by the adds of a yanked version (in its channel, or all) before the yank. */
async function targetsOfAddsBefore(
  db: Queryable,
  repository: string,
  yankId: number,
  yank: RemovePayload,
): Promise<RemovedTarget[]> {
  const adds = await db.query<{ payload: AddPayload; result: unknown }>(
    `SELECT c.payload, t.result FROM changes c JOIN tasks t ON t.id = c.task_id
      WHERE c.repository = $1 AND c.kind = 'add' AND c.state = 'published' AND c.id < $2
        AND c.payload->>'version' = $3 AND ($4::text IS NULL OR c.payload->>'channel' = $4)`,
    [repository, yankId, yank.version, yank.channel ?? null],
  );
  const out: RemovedTarget[] = [];
  for (const add of adds) {
    const result = add.result as { targets?: unknown; chunkMaps?: unknown } | null;
    const published = [
      ...(Array.isArray(result?.targets) ? (result.targets as unknown[]) : []),
      ...(Array.isArray(result?.chunkMaps) ? (result.chunkMaps as unknown[]) : []),
    ];
    for (const t of published as Array<{ path?: unknown; hashes?: unknown }>) {
      if (typeof t.path !== 'string') continue;
      out.push({ path: t.path, hashes: hashesOf(t, add.payload) });
    }
  }
  return out;
}

/** The hashes the add's task recorded; older records hold none, then the declared SHA-256 of the installer. */
function hashesOf(t: { path?: unknown; hashes?: unknown }, payload: AddPayload): Record<string, string> {
  if (t.hashes && typeof t.hashes === 'object') {
    const hashes = Object.entries(t.hashes as Record<string, unknown>).filter(([, v]) => typeof v === 'string');
    if (hashes.length > 0) return Object.fromEntries(hashes) as Record<string, string>;
  }
  const installer = payload.installers.find((i) => (t.path as string).endsWith(`/${i.name}`));
  return installer ? { sha256: installer.sha256 } : {};
}

/** Every repository in turn; one that fails does not stop the others (each is reported). */
export async function collectAll(
  db: Db,
  repositories: Repositories,
  settings: GcSettings,
  onResult: (repository: string, result: RepositoryGc | Error) => void,
): Promise<void> {
  for (const name of await repositories.list()) {
    try {
      onResult(name, await collectRepository(db, repositories, name, settings));
    } catch (e) {
      onResult(name, e instanceof Error ? e : new Error(String(e)));
    }
  }
}
