/**
 * What the repo commands check and read on disk themselves: a repository path before any work
 * (one clear line instead of a low-level error), and the metadata a refresh wrote.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { errorCode, readFileBounded } from '../../updater/node-io/index.js';
import { openPaths } from '../options.js';

/** One clear line for a path that cannot become a repository (a file, say), before any work. */
export async function newRepositoryPath(repo: string): Promise<string> {
  const found = await stat(repo).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined; // a new repository
    throw error;
  });
  if (found && !found.isDirectory())
    throw new ValueError(`${repo} is a file, not a directory: give a new or empty directory for the repository`);
  return repo;
}

/** One clear line for a directory that is not a repository, instead of a list of problems. */
export async function existingRepository(repo: string): Promise<string> {
  await openPaths(repo);
  return repo;
}

interface Written {
  version: number;
  expires: string;
}

/**
 * The timestamp and snapshot now on disk (version and expiry), read back after a refresh: what
 * it wrote, whatever the result object reports for the role.
 */
export async function writtenRoles(repo: string): Promise<Record<string, Written>> {
  const out: Record<string, Written> = {};
  const timestamp = await signedOf(join(repo, 'metadata', 'timestamp.json'));
  if (timestamp === undefined) return out;
  out.timestamp = timestamp;
  const version = (timestamp.meta as Record<string, { version?: unknown }> | undefined)?.['snapshot.json']?.version;
  if (typeof version !== 'number') return out;
  const snapshot =
    (await signedOf(join(repo, 'metadata', `${version}.snapshot.json`))) ??
    (await signedOf(join(repo, 'metadata', 'snapshot.json')));
  if (snapshot?.version === version) out.snapshot = snapshot;
  return out;
}

async function signedOf(file: string): Promise<(Written & { meta?: unknown }) | undefined> {
  const bytes = await readFileBounded(file, 2_000_000);
  if (!bytes) return undefined;
  const signed = (
    JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      signed?: { version?: unknown; expires?: unknown; meta?: unknown };
    }
  ).signed;
  if (typeof signed?.version !== 'number' || typeof signed.expires !== 'string') return undefined;
  return { version: signed.version, expires: signed.expires, meta: signed.meta };
}
