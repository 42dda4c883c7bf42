/**
 * Repositories the service publishes: bootstrapped from the output of the offline ceremony
 * (`electron-tuf repo init`: the signed root and the first versions of the other roles, plus the
 * electron-tuf.json settings). The files are written to a scratch directory, checked with the
 * publisher's own `verifyRepository` (signatures, thresholds, versions, expiry), and only then
 * moved into place, so a bad upload leaves nothing behind.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TufError, ValueError } from 'electron-tuf/core';
import {
  diskStagedRootStore,
  DiskStorage,
  repositoryPaths,
  verifyRepository,
  type RepositoryStorage,
  type StagedRootStore,
} from 'electron-tuf/publisher';
import type { Db, Queryable } from './db.js';
import { ConflictError, NotFoundError } from './errors.js';
import { checkOnlineKeys, keyOptionsFor, validateKeyReference, type KeyReference } from './keyrefs.js';
import type { S3Repositories, TransactionTarget } from './storage/s3-repositories.js';

export const REPOSITORY_NAME = '^[a-z0-9][a-z0-9-]{0,62}$';
/** Metadata file names as `repo init` writes them: `N.role.json` and `timestamp.json`. */
const METADATA_NAME = /^(?:[1-9][0-9]{0,9}\.[A-Za-z0-9][A-Za-z0-9_-]{0,99}|timestamp)\.json$/;
export const MAX_BOOTSTRAP_FILES = 20_000;

export interface BootstrapInput {
  name: string;
  /** File name -> content of metadata/ as `repo init` left it. */
  metadata: Record<string, string>;
  /** The content of electron-tuf.json (role lifetimes), if the ceremony wrote one. */
  settings?: string;
  keys: KeyReference;
}

export function noRepository(name: string): NotFoundError {
  return new NotFoundError(`no repository ${name}`);
}

export interface RepositoryRecord {
  name: string;
  keys: KeyReference;
}

export class Repositories {
  constructor(
    private readonly db: Db,
    readonly dataDir: string,
    /** Where the online keys' environment variables are read (bootstrap checks them). */
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Set when the repositories live on an object store instead of under dataDir. */
    readonly s3?: S3Repositories,
  ) {}

  /** What a publish transaction on `name` needs (besides keys): its directory, or storage, settings and record. */
  async target(name: string): Promise<TransactionTarget> {
    const dir = this.dirOf(name);
    return this.s3 ? this.s3.target(name) : { repo: dir };
  }

  dirOf(name: string): string {
    if (!new RegExp(REPOSITORY_NAME).test(name))
      throw new ValueError(`invalid repository name ${JSON.stringify(name)}`);
    return join(this.dataDir, 'repositories', name);
  }

  /** Where a repository's published files are (metadata/ and targets/). */
  async storageOf(name: string): Promise<RepositoryStorage> {
    return this.s3
      ? ((await this.s3.target(name)).storage as RepositoryStorage)
      : new DiskStorage(repositoryPaths(this.dirOf(name)));
  }

  /** Where a root change of `name` waits for signatures: beside its directory, or in the database (S3). */
  async stagedRootOf(name: string): Promise<StagedRootStore> {
    const dir = this.dirOf(name);
    return this.s3
      ? ((await this.s3.target(name)).stagedStore as StagedRootStore)
      : diskStagedRootStore(repositoryPaths(dir));
  }

  async get(name: string, db: Queryable = this.db): Promise<RepositoryRecord> {
    const rows = await db.query<{ name: string; keys: KeyReference }>(
      'SELECT name, keys FROM repositories WHERE name = $1',
      [name],
    );
    if (!rows[0]) throw noRepository(name);
    return rows[0];
  }

  async list(): Promise<string[]> {
    return (await this.db.query<{ name: string }>('SELECT name FROM repositories ORDER BY name')).map((r) => r.name);
  }

  /** The referenced online keys must serve this repository's root now, not fail at the first publish. */
  private async checkKeys(name: string, scratch: string, keys: KeyReference): Promise<void> {
    try {
      await checkOnlineKeys(scratch, await keyOptionsFor(name, keys, this.env));
    } catch (e) {
      if (!(e instanceof TufError)) throw e;
      throw new ValueError(`the online keys given for ${name} cannot sign for its root: ${e.message}`, { cause: e });
    }
  }

  async bootstrap(input: BootstrapInput): Promise<{ name: string; rootVersion: number; targets: number }> {
    const dir = this.dirOf(input.name);
    const keys = validateKeyReference(input.keys, this.dataDir);
    const names = Object.keys(input.metadata);
    if (!names.includes('1.root.json') || !names.includes('timestamp.json'))
      throw new ValueError('metadata must hold 1.root.json and timestamp.json (the output of repo init)');
    if (names.length > MAX_BOOTSTRAP_FILES)
      throw new ValueError(`metadata holds more than ${MAX_BOOTSTRAP_FILES} files`);
    for (const n of names)
      if (!METADATA_NAME.test(n)) throw new ValueError(`${JSON.stringify(n)} is not a metadata file name`);

    await mkdir(join(this.dataDir, 'repositories'), { recursive: true });
    const scratch = await mkdtemp(join(this.dataDir, 'repositories', `.bootstrap-${input.name}-`));
    try {
      await mkdir(join(scratch, 'metadata'));
      await mkdir(join(scratch, 'targets'));
      for (const [n, text] of Object.entries(input.metadata)) await writeFile(join(scratch, 'metadata', n), text);
      if (input.settings !== undefined) await writeFile(join(scratch, 'electron-tuf.json'), input.settings);
      const check = await verifyRepository({ repo: scratch });
      if (!check.ok) throw new ValueError(`the uploaded repository does not verify: ${check.problems.join('; ')}`);
      await this.checkKeys(input.name, scratch, keys);
      // Reserve the name first: two concurrent bootstraps of one name, one wins.
      await this.db.transaction(async (tx) => {
        const existing = await tx.query(
          'INSERT INTO repositories (name, keys, settings) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name',
          [input.name, JSON.stringify(keys), this.s3 ? (input.settings ?? null) : null],
        );
        if (existing.length === 0) throw new ConflictError(`repository ${input.name} exists already`);
        if (this.s3) return this.s3.install(input.name, scratch);
        await rename(scratch, dir).catch((e: unknown) => {
          throw new ConflictError(`${dir} exists already: ${(e as Error).message}`);
        });
      });
      return { name: input.name, rootVersion: check.rootVersion, targets: check.targetCount };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
