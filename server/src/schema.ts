/**
 * The schema, created and upgraded by numbered migrations when a process starts. The same SQL
 * runs on PostgreSQL and PGlite. Concurrent starts (several API and worker processes) are
 * serialised by a transaction-scoped advisory lock, so each migration is applied exactly once.
 */
import type { Db } from './db.js';

/** Arbitrary constant: the advisory lock key of electron-tuf's migrations. */
const MIGRATION_LOCK = 0x45545546;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE repositories (
    name        text PRIMARY KEY,
    -- where the online keys come from (a directory, environment variables, a signer module):
    -- references only, never key material
    keys        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE tokens (
    id          text PRIMARY KEY,
    -- SHA-256 of the token: the token itself is shown once and never stored
    digest      text NOT NULL UNIQUE,
    scope       text NOT NULL CHECK (scope IN ('admin', 'publish')),
    repository  text REFERENCES repositories(name) ON DELETE CASCADE,
    channel     text,
    label       text NOT NULL DEFAULT '',
    expires_at  timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope = 'admin' AND repository IS NULL AND channel IS NULL) OR (scope = 'publish' AND repository IS NOT NULL))
  );
  CREATE TABLE tasks (
    id          text PRIMARY KEY,
    repository  text NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    kind        text NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    error       text,
    result      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
  );
  -- pending changes: the work queue's payload (the queue engine only carries "repository R has work")
  CREATE TABLE changes (
    id          bigserial PRIMARY KEY,
    repository  text NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    task_id     text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('add', 'remove', 'staging', 'rotate', 'sign')),
    payload     jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'published', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX changes_pending ON changes (repository, id) WHERE state = 'pending';
  CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    token_id    text,
    action      text NOT NULL,
    repository  text,
    status      integer NOT NULL,
    detail      jsonb
  );
  `,
  // Object-store mode: what a publish needs besides the bucket, shared by every worker.
  `
  ALTER TABLE repositories ADD COLUMN settings text;
  CREATE TABLE publisher_state (
    repository  text PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    -- the publisher's trusted record (electron-tuf.state.json on disk), as written by the publisher
    state       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
  );
  `,
  `
  -- garbage collection (gc.ts): per repository, the versions already collected and the last
  -- yank whose release objects are gone, so each run starts where the last one stopped
  CREATE TABLE gc_state (
    repository        text PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    floors            jsonb NOT NULL,
    removals_through  bigint NOT NULL DEFAULT 0,
    collected_at      timestamptz NOT NULL DEFAULT now()
  );
  `,
  `
  -- a root change waiting for signatures, for repositories on an object store (on disk it is
  -- <repo>/staged/): every API and worker process sees the same one (storage/db-staged-root.ts)
  CREATE TABLE staged_roots (
    repository     text PRIMARY KEY REFERENCES repositories(name) ON DELETE CASCADE,
    root           bytea NOT NULL,
    -- SHA-256 of the canonical signed part: what every detached signature of this root names
    signed_sha256  text NOT NULL,
    staged_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository, signed_sha256)
  );
  -- one row per key id: concurrent holders never overwrite each other, and a signature for a
  -- root that was replaced meanwhile violates the foreign key
  CREATE TABLE staged_root_signatures (
    repository     text NOT NULL,
    keyid          text NOT NULL,
    signed_sha256  text NOT NULL,
    signature      bytea NOT NULL,
    added_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, keyid),
    FOREIGN KEY (repository, signed_sha256) REFERENCES staged_roots (repository, signed_sha256) ON DELETE CASCADE
  );
  -- uploads the service was asked for (upload-records.ts): gc deletes those no release used
  CREATE TABLE uploads (
    repository    text NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    sha256        text NOT NULL,
    length        bigint NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, sha256)
  );
  CREATE INDEX uploads_requested ON uploads (repository, requested_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS etuf_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const [row] = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM etuf_migrations');
    const current = row?.v ?? 0;
    if (current > MIGRATIONS.length)
      throw new Error(
        `the database schema (version ${current}) is newer than this server (${MIGRATIONS.length}): upgrade the server`,
      );
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      for (const statement of MIGRATIONS[v - 1]
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(statement);
      await tx.query('INSERT INTO etuf_migrations (version) VALUES ($1)', [v]);
    }
  });
}
