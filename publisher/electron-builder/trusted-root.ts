/**
 * The root a build embeds as the app's trust anchor (TUF 5.2: shipped out of band).
 *
 * By default the repository's newest published root, reached the way a client reaches it
 * (5.3: each version signed by the previous version's root keys and by its own), not 1.root.json:
 * an app that starts from the newest root no longer trusts keys rotated out before it was built,
 * and needs no chain walk on first start (the client walks at most 256 rotations). An explicit
 * root file is checked to be a self-signed root and, with a repository, one of its roots.
 */
import { join } from 'node:path';
import { RepositoryError, ValueError } from '../../updater/core/errors.js';
import { Metadata, type Root } from '../../updater/core/metadata.js';
import { verifyDelegate } from '../../updater/core/verify.js';
import { readFileBounded } from '../../updater/node-io/index.js';
import { EMBEDDED_ROOT_MAX_BYTES } from '../../updater/electron/embedded-config.js';
import { metadataFileName, repositoryPaths } from '../layout.js';

/** More root versions than any real repository has; bounds the walk over a hostile directory. */
const MAX_ROOT_VERSIONS = 10_000;

export interface TrustedRoot {
  /** The file's bytes, embedded unchanged (signatures cover the canonical form, not these bytes). */
  bytes: Uint8Array;
  version: number;
  /** Where it was read. */
  path: string;
}

/** The newest root of `repository`, with the chain from 1.root.json verified; expired is refused. */
export async function newestRepositoryRoot(repository: string, now: Date): Promise<TrustedRoot> {
  const metadataDir = repositoryPaths(repository).metadata;
  let newest: (TrustedRoot & { md: Metadata<Root> }) | undefined;
  for (let version = 1; version <= MAX_ROOT_VERSIONS; version++) {
    const path = join(metadataDir, metadataFileName('root', version));
    const bytes = await readFileBounded(path, EMBEDDED_ROOT_MAX_BYTES);
    if (!bytes) break;
    const md = parseRoot(bytes, path);
    if (md.signed.version !== version) throw new RepositoryError(`${path} holds root version ${md.signed.version}`);
    if (newest) checked(path, () => verifyDelegate(newest!.md.signed, 'root', md)); // 5.3.4: signed by the old keys
    checked(path, () => verifyDelegate(md.signed, 'root', md)); // and by the new ones
    newest = { bytes, version, path, md };
  }
  if (!newest) throw new ValueError(`${repository} is not a repository (no metadata/1.root.json)`);
  if (newest.md.signed.isExpired(now)) {
    throw new ValueError(
      `root version ${newest.version} of ${repository} expired at ${newest.md.signed.expires}: publish a new root (repo rotate --role root) before releasing`,
    );
  }
  return { bytes: newest.bytes, version: newest.version, path: newest.path };
}

/** A root file given explicitly: self-signed, and byte-identical to that version in `repository` if given. */
export async function explicitRoot(path: string, repository: string | undefined): Promise<TrustedRoot> {
  const bytes = await readFileBounded(path, EMBEDDED_ROOT_MAX_BYTES);
  if (!bytes) throw new ValueError(`the root to embed, ${path}, does not exist`);
  const md = parseRoot(bytes, path);
  checked(path, () => verifyDelegate(md.signed, 'root', md));
  const version = md.signed.version;
  if (repository !== undefined) {
    const published = await readFileBounded(
      join(repositoryPaths(repository).metadata, metadataFileName('root', version)),
      EMBEDDED_ROOT_MAX_BYTES,
    );
    if (!published || !Buffer.from(published).equals(bytes)) {
      throw new ValueError(
        `${path} is not root version ${version} of the repository ${repository}: the app would not trust it`,
      );
    }
  }
  return { bytes, version, path };
}

function parseRoot(bytes: Uint8Array, path: string): Metadata<Root> {
  return checked(path, () => Metadata.fromBytes(bytes, 'root'));
}

function checked<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new RepositoryError(`${path}: ${(e as Error).message}`, { cause: e });
  }
}
