/**
 * The service's state store: one small interface over PostgreSQL (`pg`, distributed mode) and
 * PGlite (PostgreSQL compiled to WASM, in-process: the embedded mode). Both run the same SQL,
 * so schema and queries are written once and tested against both.
 */
import { mkdir } from 'node:fs/promises';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` holding the exclusive lock `key` across every process on this database (a
   * PostgreSQL advisory lock on its own connection: released when `fn` settles, or when the
   * process dies and its connection closes).
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Runs several statements separated by `;` (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** PostgreSQL over the network (`postgres://...`). */
export async function openPostgres(
  connectionString: string,
  onIdleError: (e: Error) => void = (e) =>
    console.error(`electron-tuf server: idle PostgreSQL connection lost: ${e.message}`),
): Promise<Db> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString, max: 8 });
  // An idle connection dropped by the server must not crash the process: the pool replaces it,
  // and the next query reports any lasting trouble.
  pool.on('error', onIdleError);
  return {
    async query<T extends Row>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let result: T;
      try {
        await client.query('BEGIN');
        result = await fn({
          query: async <R extends Row>(sql: string, params: unknown[] = []) =>
            (await client.query(sql, params)).rows as R[],
        });
        await client.query('COMMIT');
      } catch (e) {
        // e is what the caller needs; a connection that cannot even roll back is broken: it is
        // destroyed (release with an error), never handed to the next transaction mid-way.
        const broken = await client.query('ROLLBACK').then(
          () => undefined,
          (rollbackError: unknown) => rollbackError as Error,
        );
        client.release(broken);
        throw e;
      }
      client.release();
      return result;
    },
    async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [key]);
        try {
          return await fn();
        } finally {
          await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
        }
      } finally {
        client.release();
      }
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
}

/** PGlite: a directory (created if missing), or undefined for an in-memory database. */
export async function openPglite(dir?: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dir) await mkdir(dir, { recursive: true });
  const db = dir ? new PGlite(dir) : new PGlite();
  await db.waitReady;
  // PGlite runs one statement at a time; serialise transactions so queries of concurrent
  // requests never land inside another request's transaction.
  let chain: Promise<unknown> = Promise.resolve();
  // One process owns a PGlite database: an in-process lock per key is the advisory lock.
  const locks = new KeyedMutex();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined); // run's failure is its caller's; the chain only orders
    return run;
  };
  return {
    query: <T extends Row>(sql: string, params: unknown[] = []) =>
      serial(async () => (await db.query<T>(sql, params)).rows),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      serial(() =>
        db.transaction(async (tx) =>
          fn({
            query: async <R extends Row>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows,
          }),
        ),
      ),
    withLock: <T>(key: string, fn: () => Promise<T>) => locks.run(key, fn),
    exec: (sql: string) => serial(async () => void (await db.exec(sql))),
    close: () => db.close(),
  };
}

/** Serialises async work per key within this process. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined); // run's failure is its caller's; the tail only orders
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}
