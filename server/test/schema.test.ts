/** The one schema on both databases: migrations applied once, also when processes start together. */
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite, openPostgres, type Db } from '../src/db.js';
import { migrate, SCHEMA_VERSION } from '../src/schema.js';
import { createToken } from '../src/tokens.js';
import { isolated } from './distributed-helpers.js';

const services = isolated();
const opened: Db[] = [];

afterAll(async () => {
  for (const db of opened) await db.close().catch(() => undefined);
  await services.drop();
});

async function exercise(db: Db): Promise<void> {
  const [v] = await db.query<{ v: number }>('SELECT max(version) AS v FROM etuf_migrations');
  expect(v.v).toBe(SCHEMA_VERSION);
  await db.query(`INSERT INTO repositories (name, keys) VALUES ('r', '{"dir":"/k"}')`);
  const { info } = await createToken(db, { scope: 'publish', repository: 'r', channel: 'beta' });
  expect(info).toMatchObject({ scope: 'publish', repository: 'r', channel: 'beta', revokedAt: null });
  // The schema refuses what the API would never write: an admin token bound to a repository.
  await expect(
    db.query(`INSERT INTO tokens (id, digest, scope, repository) VALUES ('x', 'd', 'admin', 'r')`),
  ).rejects.toThrow(/check constraint/);
  // A rolled-back transaction leaves nothing.
  await expect(
    db.transaction(async (tx) => {
      await tx.query(`INSERT INTO repositories (name, keys) VALUES ('gone', '{}')`);
      throw new Error('abort');
    }),
  ).rejects.toThrow('abort');
  expect(await db.query(`SELECT name FROM repositories ORDER BY name`)).toEqual([{ name: 'r' }]);
}

describe('schema', () => {
  it('migrates PostgreSQL once when four processes start together', async () => {
    await services.create();
    const url = services.databaseUrl;
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openPostgres(url)));
    opened.push(...dbs);
    await Promise.all(dbs.map((db) => migrate(db)));
    // Each migration applied exactly once.
    expect(await dbs[0].query('SELECT version FROM etuf_migrations ORDER BY version')).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
    );
    await exercise(dbs[0]);
  });

  it('runs the same SQL on PGlite, and migrating again changes nothing', async () => {
    const db = await openPglite();
    opened.push(db);
    await migrate(db);
    await migrate(db);
    await exercise(db);
  }, 60_000);
});
