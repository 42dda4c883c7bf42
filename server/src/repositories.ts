/**
 * Repositories the service publishes: bootstrapped from the output of the offline ceremony
 * (`electron-tuf repo init`: the signed root and the first versions of the other roles, plus the
 * electron-tuf.json settings). The files are written to a scratch directory, checked with the
 * publisher's own `verifyRepository` (signatures, thresholds, versions, expiry), and only then
 * moved into place, so a bad upload leaves nothing behind.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from 'electron-tuf/core';
import { DiskStorage, repositoryPaths, verifyRepository, type RepositoryStorage } from 'electron-tuf/publisher';
import type { Db, Queryable } from './db.js';
import { ConflictError, NotFoundError } from './errors.js';
import { validateKeyReference, type KeyReference } from './keyrefs.js';

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

export interface RepositoryRecord {
  name: string;
  keys: KeyReference;
}

export class Repositories {
  constructor(
    private readonly db: Db,
    readonly dataDir: string,
  ) {}

  dirOf(name: string): string {
    if (!new RegExp(REPOSITORY_NAME).test(name))
      throw new ValueError(`invalid repository name ${JSON.stringify(name)}`);
    return join(this.dataDir, 'repositories', name);
  }

  /** Where a repository's published files are (metadata/ and targets/). */
  storageOf(name: string): RepositoryStorage {
    return new DiskStorage(repositoryPaths(this.dirOf(name)));
  }

  async get(name: string, db: Queryable = this.db): Promise<RepositoryRecord> {
    const rows = await db.query<{ name: string; keys: KeyReference }>(
      'SELECT name, keys FROM repositories WHERE name = $1',
      [name],
    );
    if (!rows[0]) throw new NotFoundError(`no repository ${name}`);
    return rows[0];
  }

  async list(): Promise<string[]> {
    return (await this.db.query<{ name: string }>('SELECT name FROM repositories ORDER BY name')).map((r) => r.name);
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
      // Reserve the name first: two concurrent bootstraps of one name, one wins.
      await this.db.transaction(async (tx) => {
        const existing = await tx.query(
          'INSERT INTO repositories (name, keys) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name',
          [input.name, JSON.stringify(keys)],
        );
        if (existing.length === 0) throw new ConflictError(`repository ${input.name} exists already`);
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
