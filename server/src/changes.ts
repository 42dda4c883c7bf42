/**
 * Pending changes and their tasks. An API write records a change (its task `pending`) in one
 * transaction and answers 202 with the task id; a worker publishes pending changes in order and
 * settles each task `succeeded` (the change is in the published metadata) or `failed` (nothing
 * a client can see changed).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from './db.js';
import { NotFoundError } from './errors.js';
import type { SettledChange } from './ops/metrics.js';

export interface Installer {
  /** File name of the installer (it becomes the target path `<version>/<name>`). */
  name: string;
  length: number;
  sha256: string;
}

export interface AddPayload {
  version: string;
  platform: string;
  arch: string;
  channel: string;
  notes?: string;
  staging?: number;
  installers: Installer[];
}

export interface RemovePayload {
  version: string;
  channel?: string;
}

export interface StagingPayload {
  version: string;
  platform: string;
  arch: string;
  channel: string;
  staging: number;
}

/** A root change to stage (`repo rotate`): public keys as the JSON files `repo keygen` writes. */
export interface RotatePayload {
  role: string;
  addKeys?: string[];
  removeKeys?: string[];
  threshold?: number;
  expiresDays?: number;
}

/** A detached signature of the staged root, made offline with `repo sign --out`. */
export interface SignPayload {
  signature: string;
}

interface ChangeBase {
  id: string;
  repository: string;
  taskId: string;
}

export type Change =
  | (ChangeBase & { kind: 'add'; payload: AddPayload })
  | (ChangeBase & { kind: 'remove'; payload: RemovePayload })
  | (ChangeBase & { kind: 'staging'; payload: StagingPayload })
  | (ChangeBase & { kind: 'rotate'; payload: RotatePayload })
  | (ChangeBase & { kind: 'sign'; payload: SignPayload });

export interface Task {
  id: string;
  repository: string;
  kind: string;
  state: 'pending' | 'succeeded' | 'failed';
  error: string | null;
  result: unknown;
  createdAt: string;
  updatedAt: string;
}

export async function enqueueChange(
  db: Queryable,
  repository: string,
  kind: Change['kind'],
  payload: Change['payload'],
): Promise<string> {
  const taskId = randomUUID();
  // One statement (atomic on its own): one database round trip per accepted change, not four.
  await db.query(`WITH ${queueChangeSql('TRUE')} SELECT 1`, [taskId, repository, kind, JSON.stringify(payload)]);
  return taskId;
}

/**
 * Common table expressions queuing a change when `condition` (SQL) holds: a pending task $1 of
 * repository $2 and kind $3, and its change with payload $4 (JSON). `queued` returns the task id
 * (no row when the condition does not hold). For statements that check something first in the
 * same round trip (upload-records.ts).
 */
export function queueChangeSql(condition: string): string {
  return `task AS (INSERT INTO tasks (id, repository, kind, state) SELECT $1, $2, $3, 'pending' WHERE ${condition} RETURNING id),
     queued AS (INSERT INTO changes (repository, task_id, kind, payload) SELECT $2, id, $3, $4 FROM task RETURNING task_id)`;
}

interface ChangeRow {
  id: string | number;
  repository: string;
  task_id: string;
  kind: Change['kind'];
  payload: unknown;
  [k: string]: unknown;
}

export async function pendingChanges(db: Queryable, repository: string, limit: number): Promise<Change[]> {
  const rows = await db.query<ChangeRow>(
    `SELECT id, repository, task_id, kind, payload FROM changes WHERE repository = $1 AND state = 'pending' ORDER BY id LIMIT $2`,
    [repository, limit],
  );
  return rows.map(
    (r) =>
      ({ id: String(r.id), repository: r.repository, taskId: r.task_id, kind: r.kind, payload: r.payload }) as Change,
  );
}

/** Repositories with pending work (a restarted worker resumes them). */
export async function repositoriesWithPending(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ repository: string }>(
    `SELECT DISTINCT repository FROM changes WHERE state = 'pending'`,
  );
  return rows.map((r) => r.repository);
}

/** How many changes wait per repository (the backlog gauge). */
export async function pendingCounts(db: Queryable): Promise<Array<{ repository: string; count: number }>> {
  const rows = await db.query<{ repository: string; count: number | string }>(
    `SELECT repository, count(*) AS count FROM changes WHERE state = 'pending' GROUP BY repository`,
  );
  return rows.map((r) => ({ repository: r.repository, count: Number(r.count) }));
}

/**
 * Settles the tasks of a publish round in one database transaction (one round trip per statement,
 * not per change). Returns each change's kind, outcome and time since it was accepted, measured
 * by the database's clock (the API that accepted it may run on another machine).
 */
export async function settleChanges(
  db: Db,
  settled: Array<{ change: Change; outcome: { ok: true; result: unknown } | { ok: false; error: string } }>,
): Promise<SettledChange[]> {
  if (settled.length === 0) return [];
  const ok = settled.map((s) => s.outcome.ok);
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ kind: string; ok: boolean; seconds: number | string }>(
      `UPDATE changes SET state = CASE WHEN u.ok THEN 'published' ELSE 'failed' END
         FROM unnest($1::bigint[], $2::boolean[]) AS u(id, ok) WHERE changes.id = u.id
       RETURNING changes.kind, u.ok, extract(epoch FROM clock_timestamp() - changes.created_at)::float8 AS seconds`,
      [settled.map((s) => s.change.id), ok],
    );
    await tx.query(
      `UPDATE tasks SET state = CASE WHEN u.ok THEN 'succeeded' ELSE 'failed' END, result = u.result::jsonb, error = u.error, updated_at = now()
         FROM unnest($1::text[], $2::boolean[], $3::text[], $4::text[]) AS u(id, ok, result, error) WHERE tasks.id = u.id`,
      [
        settled.map((s) => s.change.taskId),
        ok,
        settled.map((s) => (s.outcome.ok ? JSON.stringify(s.outcome.result ?? null) : null)),
        settled.map((s) => (s.outcome.ok ? null : s.outcome.error)),
      ],
    );
    return rows.map((r) => ({ kind: r.kind, ok: r.ok, seconds: Number(r.seconds) }));
  });
}

/** The newest published add of a release (its installers are re-signed by a staging change). */
export async function publishedAdd(
  db: Queryable,
  repository: string,
  key: Omit<StagingPayload, 'staging'>,
): Promise<AddPayload | undefined> {
  const rows = await db.query<{ payload: AddPayload }>(
    `SELECT payload FROM changes WHERE repository = $1 AND kind = 'add' AND state = 'published'
       AND payload->>'version' = $2 AND payload->>'platform' = $3 AND payload->>'arch' = $4 AND payload->>'channel' = $5
     ORDER BY id DESC LIMIT 1`,
    [repository, key.version, key.platform, key.arch, key.channel],
  );
  return rows[0]?.payload;
}

export async function pendingOf(
  db: Queryable,
  repository: string,
): Promise<Array<{ task: string; kind: string; payload: unknown; created: string }>> {
  const rows = await db.query<{ task_id: string; kind: string; payload: unknown; created_at: Date | string }>(
    `SELECT task_id, kind, payload, created_at FROM changes WHERE repository = $1 AND state = 'pending' ORDER BY id`,
    [repository],
  );
  return rows.map((r) => ({
    task: r.task_id,
    kind: r.kind,
    payload: r.payload,
    created: new Date(r.created_at).toISOString(),
  }));
}

export async function getTask(db: Queryable, id: string): Promise<Task> {
  const rows = await db.query<Record<string, unknown>>('SELECT * FROM tasks WHERE id = $1', [id]);
  const r = rows[0];
  if (!r) throw new NotFoundError(`no task ${id}`);
  return {
    id: r.id as string,
    repository: r.repository as string,
    kind: r.kind as string,
    state: r.state as Task['state'],
    error: (r.error as string | null) ?? null,
    result: r.result ?? null,
    createdAt: new Date(r.created_at as string).toISOString(),
    updatedAt: new Date(r.updated_at as string).toISOString(),
  };
}

export interface PublishedRelease {
  version: string;
  channel: string;
  platform: string;
  arch: string;
  staging?: number;
  installers: string[];
}

/** What the service has published, replayed from its settled changes (adds, staging changes, yanks). */
export async function publishedReleases(db: Queryable, repository: string): Promise<PublishedRelease[]> {
  const rows = await db.query<{ kind: Change['kind']; payload: Record<string, unknown> }>(
    `SELECT kind, payload FROM changes WHERE repository = $1 AND state = 'published' ORDER BY id`,
    [repository],
  );
  const releases = new Map<string, PublishedRelease>();
  const keyOf = (p: { version: unknown; channel: unknown; platform: unknown; arch: unknown }): string =>
    JSON.stringify([p.version, p.channel, p.platform, p.arch]);
  for (const { kind, payload } of rows) {
    if (kind === 'add') {
      const p = payload as unknown as AddPayload;
      releases.set(keyOf(p), {
        version: p.version,
        channel: p.channel,
        platform: p.platform,
        arch: p.arch,
        staging: p.staging,
        installers: p.installers.map((i) => i.name),
      });
    } else if (kind === 'staging') {
      const r = releases.get(keyOf(payload as unknown as StagingPayload));
      if (r) r.staging = (payload as unknown as StagingPayload).staging;
    } else if (kind === 'remove') {
      const p = payload as unknown as RemovePayload;
      for (const [k, r] of releases)
        if (r.version === p.version && (p.channel === undefined || r.channel === p.channel)) releases.delete(k);
    }
  }
  return [...releases.values()];
}

/** A release the service published (and nobody yanked yet) or has pending: what a yank may name. */
export async function knownRelease(
  db: Queryable,
  repository: string,
  version: string,
  channel?: string,
): Promise<boolean> {
  const matches = (r: { version: string; channel: string }): boolean =>
    r.version === version && (channel === undefined || r.channel === channel);
  if ((await publishedReleases(db, repository)).some(matches)) return true;
  const pending = await db.query<{ payload: AddPayload }>(
    `SELECT payload FROM changes WHERE repository = $1 AND state = 'pending' AND kind = 'add'`,
    [repository],
  );
  return pending.some((p) => matches(p.payload));
}
