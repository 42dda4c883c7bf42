/**
 * `electron-tuf server gc`: one garbage collection run over every repository (or one), on the
 * distributed mode's PostgreSQL and data directory. It takes the same locks as publishing, so it
 * runs safely beside workers. Prints one JSON line per repository: what went (or, with
 * --dry-run, what would go).
 */
import { resolve } from 'node:path';
import type { ServerIO, ServerValues } from './cli.js';
import { storageOf, wholeNumber } from './cli-values.js';
import { openPostgres } from './db.js';
import { collectRepository, DEFAULT_GRACE_DAYS, DEFAULT_UPLOAD_GRACE_DAYS } from './gc.js';
import { migrate } from './schema.js';
import { openServiceStorage } from './storage/index.js';

export async function runGcCommand(values: ServerValues, databaseUrl: string, io: ServerIO): Promise<number> {
  const keepSnapshots = wholeNumber(values['keep-snapshots'], 'keep-snapshots', 10, 1);
  const graceDays = wholeNumber(values['grace-days'], 'grace-days', DEFAULT_GRACE_DAYS, 0);
  const uploadGraceDays = wholeNumber(values['upload-grace-days'], 'upload-grace-days', DEFAULT_UPLOAD_GRACE_DAYS, 0);
  const db = await openPostgres(databaseUrl, (e) => io.stderr(`electron-tuf server gc: ${e.message}`));
  let closeStorage = (): void => undefined;
  try {
    await migrate(db);
    const storage = await openServiceStorage(db, resolve(values.data!), storageOf(values), process.env);
    closeStorage = () => storage.close();
    const { repositories } = storage;
    const names = values.repository ? [values.repository] : await repositories.list();
    let failed = 0;
    for (const name of names) {
      try {
        await repositories.get(name);
        const r = await collectRepository(db, repositories, name, {
          keepSnapshots,
          graceDays,
          uploadGraceDays,
          uploads: storage.uploads,
          dryRun: values['dry-run'],
        });
        io.stdout(
          JSON.stringify({
            repository: name,
            dryRun: values['dry-run'] === true,
            snapshotVersion: r.snapshotVersion,
            metadata: r.metadata,
            targets: r.targets,
            stillListed: r.stillListed,
            uploads: r.uploads,
          }),
        );
      } catch (e) {
        failed++;
        io.stderr(`error: ${name}: ${(e as Error).message}`);
      }
    }
    return failed > 0 ? 1 : 0;
  } finally {
    closeStorage();
    await db.close();
  }
}
