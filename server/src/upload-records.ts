/**
 * The service's record of the uploads it was asked for (a presigned URL handed out, or bytes
 * PUT to the API), so garbage collection finds uploads no release ever used without listing the
 * store: an upload whose digest no pending or published add names, requested longer ago than a
 * grace period, is deleted with its row. A re-request refreshes its time.
 *
 * gc and an add naming the same upload meet on its row (the race of an upload gc found unused
 * while an add named it): gc deletes the row and the object in one transaction holding the row's
 * lock (collectUnusedUpload); an add touches the rows of its installers in the transaction that
 * queues it, before it checks the objects exist (touchUploads). Whichever comes second sees the
 * other's outcome: gc keeps an upload an add named, and an add after gc is refused up front.
 */
import type { Installer } from './changes.js';
import type { Db, Queryable } from './db.js';
import { ServiceError } from './errors.js';

/** Unused uploads handled per repository and run: bounded work; the next run continues. */
const UPLOADS_PER_RUN = 1000;
/** Unused upload records a repository may hold within the upload grace period (a sane default). */
export const DEFAULT_MAX_UNUSED_UPLOADS = 1000;

/** No non-failed add of the repository names the upload `u` (the condition gc deletes under). */
const UNUSED = `NOT EXISTS (
  SELECT 1 FROM changes c
   WHERE c.repository = u.repository AND c.kind = 'add' AND c.state <> 'failed'
     AND c.payload->'installers' @> jsonb_build_array(jsonb_build_object('sha256', u.sha256)))`;

export interface UploadCap {
  /** Unused records allowed per repository (the record asked for is refused beyond it: 429). */
  max: number;
  /** Records requested before this are gc's to delete and do not count. */
  since: Date;
}

/**
 * Records (or refreshes) an upload, before its bytes are stored or its URL handed out. A new
 * record is refused with 429 when the repository already holds `cap.max` unused records
 * requested since `cap.since`: a scoped token cannot pile up rows by asking for URLs of made-up
 * digests. The count and the insert run under a per-repository transaction lock: in READ
 * COMMITTED, concurrent requests would each count without the others' rows and together overshoot
 * the cap; one at a time, each counts the rows the ones before it committed.
 */
export async function recordUpload(
  db: Db,
  repository: string,
  sha256: string,
  length: number,
  cap: UploadCap,
): Promise<void> {
  const rows = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`uploads:${repository}`]);
    return tx.query(
      `INSERT INTO uploads (repository, sha256, length)
       SELECT $1, $2, $3
        WHERE EXISTS (SELECT 1 FROM uploads WHERE repository = $1 AND sha256 = $2)
           OR (SELECT count(*) FROM (SELECT 1 FROM uploads u WHERE u.repository = $1 AND u.requested_at >= $4
                 AND ${UNUSED} LIMIT $5) capped) < $5
       ON CONFLICT (repository, sha256) DO UPDATE SET length = EXCLUDED.length, requested_at = now()
       RETURNING sha256`,
      [repository, sha256, length, cap.since.toISOString(), cap.max],
    );
  });
  if (rows.length === 0) throw uploadCapError(repository, cap.max);
}

function uploadCapError(repository: string, max: number): ServiceError {
  return new ServiceError(
    `repository ${repository} holds ${max} uploads no release uses yet: publish or wait for gc before uploading more`,
    429,
  );
}

/**
 * In the transaction that queues an add: refreshes the records of its installers (re-inserting one
 * gc just deleted). The update waits on the lock of a gc deleting that row, so the caller's check
 * that the objects exist comes after gc's commit; and gc, waiting on this lock, sees the add.
 * Rows are locked in digest order: two adds naming the same uploads never deadlock.
 */
export async function touchUploads(tx: Queryable, repository: string, installers: readonly Installer[]): Promise<void> {
  const sorted = [...installers].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  for (const i of sorted)
    await tx.query(
      `INSERT INTO uploads (repository, sha256, length) VALUES ($1, $2, $3)
       ON CONFLICT (repository, sha256) DO UPDATE SET requested_at = now()`,
      [repository, i.sha256, i.length],
    );
}

/** Digests of uploads requested before `before` that no add (pending or published) names. */
export async function unusedUploads(db: Queryable, repository: string, before: Date): Promise<string[]> {
  const rows = await db.query<{ sha256: string }>(
    `SELECT u.sha256 FROM uploads u
      WHERE u.repository = $1 AND u.requested_at < $2 AND ${UNUSED}
      ORDER BY u.requested_at LIMIT $3`,
    [repository, before.toISOString(), UPLOADS_PER_RUN],
  );
  return rows.map((r) => r.sha256);
}

/**
 * Deletes one unused upload, its row and its object, in one transaction: true when it was deleted.
 * The row is locked first (waiting for an add touching it to commit), then deleted under the
 * unused and grace conditions in a statement of its own, so its snapshot sees that add's change;
 * the object goes before the commit, while an add touching the row still waits.
 */
export async function collectUnusedUpload(
  db: Db,
  repository: string,
  sha256: string,
  before: Date,
  removeObject: () => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const locked = await tx.query(
      'SELECT 1 FROM uploads WHERE repository = $1 AND sha256 = $2 AND requested_at < $3 FOR UPDATE',
      [repository, sha256, before.toISOString()],
    );
    if (locked.length === 0) return false;
    const deleted = await tx.query(
      `DELETE FROM uploads u WHERE u.repository = $1 AND u.sha256 = $2 AND u.requested_at < $3 AND ${UNUSED}
       RETURNING u.sha256`,
      [repository, sha256, before.toISOString()],
    );
    if (deleted.length === 0) return false;
    await removeObject();
    return true;
  });
}
