/** Options every repository command shares, and the checks that come with them. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import type { Signer } from '../updater/core/keys.js';
import type { ManagedRole } from './config.js';
import { isInside, metadataFileName, repositoryPaths, type RepositoryPaths } from './layout.js';
import { KeyRing } from './keystore.js';

export interface KeyOptions {
  /** Keys directory (`<role>-<n>.key.pem` files and keys.json). */
  keys?: string;
  /** Environment holding ELECTRON_TUF_<ROLE>_KEY variables; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Signers supplied by the caller (KMS, HSM), per role; tried before keys and env. */
  signers?: Partial<Record<ManagedRole, Signer[]>>;
}

export interface RepositoryOptions {
  /** The repository directory (holding metadata/ and targets/). */
  repo: string;
  /** The time to sign at (tests, or reproducible runs); default now. */
  now?: Date;
  /** How long to wait for another command on the same repository (ms); default 120,000. */
  lockTimeoutMs?: number;
}

export function nowOf(options: { now?: Date }): Date {
  const now = options.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new ValueError('invalid time');
  return now;
}

/** The key ring for a command; a keys directory inside the repository is refused (it could be published). */
export function keyRingFor(paths: RepositoryPaths, options: KeyOptions): KeyRing {
  if (options.keys && isInside(paths.root, options.keys)) {
    throw new ValueError(
      `the keys directory ${resolve(options.keys)} is inside the repository ${paths.root}: keep keys out of it`,
    );
  }
  return new KeyRing({
    keysDir: options.keys && resolve(options.keys),
    env: options.env ?? process.env,
    signers: options.signers,
  });
}

/** Fails early (before hashing gigabytes or taking a lock) when `repo` is not a repository. */
export async function openPaths(repo: string): Promise<RepositoryPaths> {
  const paths = repositoryPaths(repo);
  const rootFile = join(paths.metadata, metadataFileName('root', 1));
  const ok = await stat(rootFile).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok)
    throw new ValueError(`${paths.root} is not a repository (no metadata/1.root.json); create one with repo init`);
  return paths;
}

/**
 * The paths of the repository an edit works on. With a storage of its own (an object store),
 * `repo` is only the local working directory (staging, settings) and need not hold metadata:
 * loading reports a missing 1.root.json in that storage instead.
 */
export async function pathsFor(options: { repo: string; storage?: object }): Promise<RepositoryPaths> {
  return options.storage ? repositoryPaths(options.repo) : openPaths(options.repo);
}
