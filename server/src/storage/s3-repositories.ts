/**
 * Repositories on an object store, as the service's workers see them: any worker on any machine
 * publishes any repository, so nothing a publish needs lives on one machine's disk. The tree is
 * in the bucket (S3Storage); the settings (electron-tuf.json) and the publisher's trusted record
 * (electron-tuf.state.json on disk) are rows in the service's database, read and written whole,
 * and so is a staged root waiting for signatures (db-staged-root.ts).
 * Each worker keeps only a local working directory per repository for staging installers.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  eachConcurrently,
  MAX_STATE_BYTES,
  parseConfig,
  parseTrustedState,
  repositoryPaths,
  serializeConfig,
  serializeTrustedState,
  type RepositoryConfig,
  type TransactionOptions,
  type TrustedStateStore,
} from 'electron-tuf/publisher';
import { StorageError } from 'electron-tuf/core';
import type { Db, Queryable } from '../db.js';
import { ConflictError } from '../errors.js';
import type { Bucket } from './bucket.js';
import { dbStagedRootStore } from './db-staged-root.js';
import { S3Storage } from './s3-storage.js';

/** What a transaction on one repository needs besides keys. */
export type TransactionTarget = Pick<
  TransactionOptions,
  'repo' | 'storage' | 'config' | 'saveConfig' | 'stateStore' | 'stagedStore'
>;

const MAX_METADATA_BYTES = 64 * 1024 * 1024;

/** The trusted record of `repository` as a database row. */
export function dbStateStore(db: Queryable, repository: string): TrustedStateStore {
  const where = `the trusted state of repository ${repository} (database)`;
  return {
    where,
    async read() {
      const rows = await db.query<{ state: string }>('SELECT state FROM publisher_state WHERE repository = $1', [
        repository,
      ]);
      if (!rows[0]) return undefined;
      const bytes = Buffer.from(rows[0].state, 'utf8');
      if (bytes.length > MAX_STATE_BYTES) throw new StorageError(`${where}: more than ${MAX_STATE_BYTES} bytes`);
      return parseTrustedState(bytes, where);
    },
    async write(state) {
      await db.query(
        `INSERT INTO publisher_state (repository, state) VALUES ($1, $2)
         ON CONFLICT (repository) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
        [repository, serializeTrustedState(state)],
      );
    },
  };
}

export class S3Repositories {
  constructor(
    readonly bucket: Bucket,
    private readonly db: Db,
    /** This process's working directories (one per repository). */
    private readonly workDir: string,
  ) {}

  async target(name: string): Promise<TransactionTarget> {
    const repo = join(this.workDir, name);
    return {
      repo,
      storage: new S3Storage(this.bucket, name, repositoryPaths(repo)),
      config: await this.settingsOf(name),
      saveConfig: (config) => this.saveSettings(name, config),
      stateStore: dbStateStore(this.db, name),
      stagedStore: dbStagedRootStore(this.db, name),
    };
  }

  private async saveSettings(name: string, config: RepositoryConfig): Promise<void> {
    await this.db.query('UPDATE repositories SET settings = $2 WHERE name = $1', [name, serializeConfig(config)]);
  }

  private async settingsOf(name: string): Promise<RepositoryConfig | undefined> {
    const rows = await this.db.query<{ settings: string | null }>('SELECT settings FROM repositories WHERE name = $1', [
      name,
    ]);
    const text = rows[0]?.settings;
    return text ? parseConfig(Buffer.from(text, 'utf8'), `the settings of repository ${name} (database)`) : undefined;
  }

  /**
   * Copies a verified bootstrap into the bucket, each file created only if absent (a file left by
   * an earlier, failed bootstrap of this name with the same bytes is fine; other bytes: conflict),
   * `timestamp.json` last so the tree is complete before anything names it.
   */
  async install(name: string, scratch: string): Promise<void> {
    const dir = join(scratch, 'metadata');
    const names = (await readdir(dir)).sort((a, b) => Number(a === 'timestamp.json') - Number(b === 'timestamp.json'));
    const put = async (file: string): Promise<void> => {
      const bytes = await readFile(join(dir, file));
      if (bytes.length > MAX_METADATA_BYTES) throw new ConflictError(`${file} is too large`);
      const key = this.bucket.key('repositories', name, 'metadata', file);
      if ((await this.bucket.create(key, bytes)) === 'created') return;
      if ((await this.bucket.holds(key, bytes)) !== true)
        throw new ConflictError(`${this.bucket.url(key)} exists already with other content`);
    };
    await eachConcurrently(
      names.filter((n) => n !== 'timestamp.json'),
      16,
      put,
    );
    if (names.includes('timestamp.json')) await put('timestamp.json');
  }
}
