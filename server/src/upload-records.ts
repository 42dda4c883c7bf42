/**
 * The service's record of the uploads it was asked for (a presigned URL handed out, or bytes
 * PUT to the API), so garbage collection finds uploads no release ever used without listing the
 * store: an upload whose digest no pending or published add names, requested longer ago than a
 * grace period, is deleted with its row. A re-request refreshes its time.
 */
import type { Queryable } from './db.js';

/** Unused uploads handled per repository and run: bounded work; the next run continues. */
const UPLOADS_PER_RUN = 1000;

export async function recordUpload(db: Queryable, repository: string, sha256: string, length: number): Promise<void> {
  await db.query(
    `INSERT INTO uploads (repository, sha256, length) VALUES ($1, $2, $3)
     ON CONFLICT (repository, sha256) DO UPDATE SET length = EXCLUDED.length, requested_at = now()`,
    [repository, sha256, length],
  );
}

/** Digests of uploads requested before `before` that no add (pending or published) names. */
export async function unusedUploads(db: Queryable, repository: string, before: Date): Promise<string[]> {
  const rows = await db.query<{ sha256: string }>(
    `SELECT u.sha256 FROM uploads u
      WHERE u.repository = $1 AND u.requested_at < $2
        AND NOT EXISTS (
          SELECT 1 FROM changes c
           WHERE c.repository = u.repository AND c.kind = 'add' AND c.state <> 'failed'
             AND c.payload->'installers' @> jsonb_build_array(jsonb_build_object('sha256', u.sha256)))
      ORDER BY u.requested_at LIMIT $3`,
    [repository, before.toISOString(), UPLOADS_PER_RUN],
  );
  return rows.map((r) => r.sha256);
}

/** Drops the rows of uploads whose objects are gone. */
export async function forgetUploads(db: Queryable, repository: string, digests: readonly string[]): Promise<void> {
  if (digests.length > 0)
    await db.query('DELETE FROM uploads WHERE repository = $1 AND sha256 = ANY($2::text[])', [repository, digests]);
}
