/**
 * The staged root of a repository on an object store, in the service's database (publisher/
 * staged-root-store.ts is the interface; on disk it is `<repo>/staged/`): whichever API or worker
 * process handles a rotation or a signature sees the same staged root, as with the trusted
 * record (s3-repositories.ts).
 *
 * One row per staged root, one row per key id for its signatures: two holders' signatures never
 * overwrite each other, and the foreign key on the root's signed digest makes the database itself
 * refuse a signature for a staged root that was replaced meanwhile (replacing deletes the old
 * root's signatures with it). The publisher verifies every signature against the staged bytes
 * and the root keys before storing it and again when loading it (TUF 5.3.4); writes happen under
 * the repository's `publish:<repo>` lock like every publish.
 */
import { StorageError, ValueError } from 'electron-tuf/core';
import {
  checkKeyId,
  detachedBytes,
  MAX_DETACHED_BYTES,
  MAX_STAGED_ROOT_BYTES,
  type StagedRootStore,
} from 'electron-tuf/publisher';
import type { Db } from '../db.js';

/** More signature rows than any root has keys: not loaded (a root lists a handful of root keys). */
const MAX_SIGNATURES = 256;
const SHA256 = /^[0-9a-f]{64}$/;

/** PostgreSQL's foreign key violation: the staged root this signature was for is gone. */
function isForeignKeyViolation(e: unknown): boolean {
  return (e as { code?: string } | undefined)?.code === '23503';
}

export function dbStagedRootStore(db: Db, repository: string): StagedRootStore {
  const where = `the staged root of repository ${repository} (database)`;
  return {
    where,
    async load() {
      // Bounded in the query: an oversized row is reported, never fetched.
      const [row] = await db.query<{ root: Uint8Array | null; length: number }>(
        `SELECT CASE WHEN octet_length(root) <= $2 THEN root END AS root, octet_length(root) AS length
           FROM staged_roots WHERE repository = $1`,
        [repository, MAX_STAGED_ROOT_BYTES],
      );
      if (!row) return undefined;
      if (!row.root) throw new StorageError(`${where}: ${row.length} bytes, more than ${MAX_STAGED_ROOT_BYTES}`);
      const sigs = await db.query<{ keyid: string; signature: Uint8Array | null }>(
        `SELECT keyid, CASE WHEN octet_length(signature) <= $2 THEN signature END AS signature
           FROM staged_root_signatures WHERE repository = $1 ORDER BY keyid LIMIT $3`,
        [repository, MAX_DETACHED_BYTES, MAX_SIGNATURES + 1],
      );
      if (sigs.length > MAX_SIGNATURES) throw new StorageError(`${where}: more than ${MAX_SIGNATURES} signatures`);
      return {
        bytes: new Uint8Array(row.root),
        // An oversized signature row loads as empty bytes: it fails to parse and is reported as invalid.
        signatures: sigs.map((s) => ({
          where: `${where}, signature by ${s.keyid.slice(0, 8)}`,
          bytes: s.signature ? new Uint8Array(s.signature) : new Uint8Array(),
        })),
      };
    },
    async replace(bytes, signedSha256) {
      if (bytes.length > MAX_STAGED_ROOT_BYTES)
        throw new ValueError(`the staged root is ${bytes.length} bytes, more than ${MAX_STAGED_ROOT_BYTES}`);
      if (!SHA256.test(signedSha256)) throw new ValueError('invalid signed digest of the staged root');
      await db.transaction(async (tx) => {
        // The old root's signatures go with it (ON DELETE CASCADE): they were over other bytes.
        await tx.query('DELETE FROM staged_roots WHERE repository = $1', [repository]);
        await tx.query('INSERT INTO staged_roots (repository, root, signed_sha256) VALUES ($1, $2, $3)', [
          repository,
          Buffer.from(bytes),
          signedSha256,
        ]);
      });
    },
    async addSignature(sig) {
      const bytes = Buffer.from(detachedBytes(sig), 'utf8');
      if (bytes.length > MAX_DETACHED_BYTES)
        throw new ValueError(`the signature is more than ${MAX_DETACHED_BYTES} bytes`);
      try {
        await db.query(
          `INSERT INTO staged_root_signatures (repository, keyid, signed_sha256, signature) VALUES ($1, $2, $3, $4)
           ON CONFLICT (repository, keyid) DO UPDATE
             SET signed_sha256 = EXCLUDED.signed_sha256, signature = EXCLUDED.signature, added_at = now()`,
          [repository, checkKeyId(sig.keyid), sig.signedSha256, bytes],
        );
      } catch (e) {
        if (!isForeignKeyViolation(e)) throw e;
        throw new ValueError('the signature is for a staged root that is no longer staged: sign the current one', {
          cause: e,
        });
      }
    },
    async discard() {
      await db.query('DELETE FROM staged_roots WHERE repository = $1', [repository]);
    },
  };
}
