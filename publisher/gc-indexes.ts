/**
 * Garbage collection of channel indexes (`channels/<channel>/<platform>-<arch>.json`, in top-level
 * targets). Each publish that changes an index stores a new file under its hash-prefixed names
 * (5.7.3) and leaves the old one; a client reaches an index only through a targets version that
 * a snapshot it may still read names. So the stored files of an index entry in a targets version
 * being collected go too, unless a kept targets version names the same file. Found from the
 * metadata alone (the collected versions are read before they are deleted), never by listing.
 */
import { relative, sep } from 'node:path';
import { RepositoryError } from '../updater/core/errors.js';
import { Metadata, type Snapshot, type Targets } from '../updater/core/metadata.js';
import { countSignatures } from '../updater/core/verify.js';
import { channelIndexPath } from '../updater/release/index.js';
import { metadataFileName, targetFilePath } from './layout.js';
import type { RepositoryState } from './repository.js';
import { SIZE_LIMITS } from './role-files.js';

type Collectable = 'snapshot' | 'targets';

/**
 * Version `version` of `role` as stored, checked to be signed by the role's keys of the current
 * root or the one before it (a file planted in storage must not steer what gc deletes); undefined
 * when absent (never written, or collected already).
 */
export async function readSignedVersion<T extends Collectable>(
  state: RepositoryState,
  role: T,
  version: number,
): Promise<Metadata<T extends 'snapshot' ? Snapshot : Targets> | undefined> {
  const file = metadataFileName(role, version);
  const bytes = await state.storage.readMetadata(file, SIZE_LIMITS[role]);
  if (!bytes) return undefined;
  let md: Metadata;
  try {
    md = Metadata.fromBytes(bytes, role);
  } catch (e) {
    throw new RepositoryError(`${file}: ${(e as Error).message}`, { cause: e });
  }
  const signedByRoot = [state.root, state.previousRoot].some((root) => {
    const def = root?.signed.getRole(role);
    return def !== undefined && countSignatures(def, root!.signed.keys, md).signedBy.length >= def.threshold;
  });
  if (!signedByRoot || md.signed.version !== version)
    throw new RepositoryError(`${file} is not a ${role} signed by this repository's keys: not collecting garbage`);
  return md as Metadata<T extends 'snapshot' ? Snapshot : Targets>;
}

/** True for the path of a channel index (the form channelIndexPath builds, nothing else). */
export function isChannelIndexPath(path: string): boolean {
  const m = /^channels\/([^/]+)\/([a-z0-9]+)-([^/]+)\.json$/.exec(path);
  if (!m) return false;
  try {
    return channelIndexPath(m[1], m[2], m[3]) === path;
  } catch {
    return false; // not a valid channel, platform or arch: not an index
  }
}

/** The stored names of a target (one per hash), relative to targets/, checked to stay inside it. */
export function storedNames(state: RepositoryState, path: string, hashes: Record<string, string>): string[] {
  return Object.values(hashes).map((hash) =>
    relative(state.paths.targets, targetFilePath(state.paths, path, hash))
      .split(sep)
      .join('/'),
  );
}

/** Stored names of the channel indexes a top-level targets version lists. */
function indexFiles(targets: Targets, state: RepositoryState): Set<string> {
  const names = new Set<string>();
  for (const [path, t] of targets.targets)
    if (isChannelIndexPath(path)) for (const n of storedNames(state, path, t.hashes)) names.add(n);
  return names;
}

/**
 * The index files named by the `collected` targets versions and by none of the `kept` ones
 * (the versions the kept snapshots list, the current one among them).
 */
export async function unreachableIndexFiles(
  state: RepositoryState,
  collected: readonly number[],
  kept: ReadonlySet<number>,
): Promise<string[]> {
  if (collected.length === 0) return [];
  const keep = new Set<string>();
  for (const version of kept) {
    const md =
      version === state.targets.signed.version ? state.targets : await readSignedVersion(state, 'targets', version);
    // A kept version that is gone: what it named is unknown, so nothing is deleted this run.
    if (!md) return [];
    for (const n of indexFiles(md.signed, state)) keep.add(n);
  }
  const remove = new Set<string>();
  for (const version of collected) {
    const md = await readSignedVersion(state, 'targets', version);
    if (!md) continue; // gone already: what it named was collected with it (or never stored)
    for (const n of indexFiles(md.signed, state)) if (!keep.has(n)) remove.add(n);
  }
  return [...remove];
}
