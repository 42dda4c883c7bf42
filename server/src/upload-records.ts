/**
 * The service's record of the uploads it was asked for (a presigned URL handed out, or bytes
 * PUT to the API), so garbage collection finds uploads no release ever used without listing the
 * store: an upload whose digest no pending or published add names, requested longer ago than a
 * grace period, is deleted with its row. A re-request refreshes its time.
 *
 * gc and an add naming the same upload meet on its row (the race of an upload gc found unused
 * while an add named it): gc deletes the row and the object in one transaction holding the row's
 * lock (collectUnusedUpload); an add, once it has seen its objects exist, queues itself in one
 * statement that locks and touches the rows of its installers and queues the change only if every
 * row is still there (queueAddOfUploads). Whichever comes second sees the other's outcome: gc
 * keeps an upload an add named, and an add after gc is refused up front.
 */
import { randomUUID } from 'node:crypto';
import { queueChangeSql, type AddPayload } from './changes.js';
import type { Db, Queryable } from './db.js';
import { ServiceError } from './errors.js';

/** Unused uploads handled per repository and run: bounded work; the next run continues. */
const UPLOADS_PER_RUN = 1000;
/** Unused upload records a repository may hold within the upload grace period (a sane default). */
export const DEFAULT_MAX_UNUSED_UPLOADS = 1000;

/**
 * No non-failed add of the repository names the upload `u` (the condition gc deletes under).
 * Written as an equality on each installer's digest, so the planner hashes the adds' digests
 * once (a hash anti join): linear in uploads plus adds. A containment test per pair
 * (`installers @> [{sha256}]`) was planned as a join on the repository alone, filtered pair by
 * pair: with 2,500 uploads and adds, 5 s per upload request for the cap (measured, issue 14).
 */
const UNUSED = `NOT EXISTS (
  SELECT 1 FROM changes c
   CROSS JOIN LATERAL jsonb_array_elements(
     CASE jsonb_typeof(c.payload->'installers') WHEN 'array' THEN c.payload->'installers' ELSE '[]' END) i
   WHERE c.repository = u.repository AND c.kind = 'add' AND c.state <> 'failed' AND i->>'sha256' = u.sha256)`;

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
 * Queues `payload`, an add whose installers' objects were just found in the store, in one
 * statement (one round trip, no transaction held across the store's answer): it locks the rows
 * of its installers (in digest order: two adds naming the same uploads never deadlock), refreshes
 * them, and queues the change only if every row is there. Then:
 * - gc committed the deletion of a row (and its object) after the objects were looked at: the
 *   row is gone, nothing is queued, and the add is refused up front (the digests missing);
 * - gc holds a row's lock: this waits for its commit, then finds the row gone (as above);
 * - gc comes after: its row lock waits for this commit, and its deletion (a statement of its
 *   own) sees the add and the refreshed time, and keeps the upload.
 * So the worker never finds an upload of a queued add gone. A row is written when the upload is
 * asked for, before its bytes (recordUpload); an upload without one is refused as missing.
 * Returns the task id, or the digests without a row.
 */
export async function queueAddOfUploads(
  db: Queryable,
  repository: string,
  payload: AddPayload,
): Promise<{ task: string } | { missing: string[] }> {
  const digests = [...new Set(payload.installers.map((i) => i.sha256))];
  const task = randomUUID();
  const [row] = await db.query<{ touched: string[]; queued: string | null }>(
    `WITH locked AS (
       SELECT sha256 FROM uploads WHERE repository = $2 AND sha256 = ANY($5::text[]) ORDER BY sha256 FOR UPDATE),
     touched AS (
       UPDATE uploads u SET requested_at = now() FROM locked l
        WHERE u.repository = $2 AND u.sha256 = l.sha256 RETURNING u.sha256),
     ${queueChangeSql('(SELECT count(*) FROM touched) = cardinality($5::text[])')}
     SELECT ARRAY(SELECT sha256 FROM touched) AS touched, (SELECT task_id FROM queued) AS queued`,
    [task, repository, 'add', JSON.stringify(payload), digests],
  );
  if (row?.queued === task) return { task };
  const touched = new Set(row?.touched ?? []);
  return { missing: digests.filter((d) => !touched.has(d)) };
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
