/**
 * Reading and writing channel index targets (`channels/<channel>/<platform>-<arch>.json`).
 * They always live in top-level targets, so an app's update check needs timestamp, snapshot,
 * targets and the index: never a bin, however many targets the repository holds.
 */
import { TargetFile } from '../updater/core/metadata.js';
import { verifyLengthAndHashes } from '../updater/core/hashes.js';
import {
  CHANNEL_INDEX_MAX_BYTES,
  channelIndexPath,
  parseChannelIndex,
  serializeChannelIndex,
  type ChannelIndex,
} from '../updater/release/index.js';
import { isSystemFailure } from '../updater/node-io/index.js';
import { DeserializationError, LengthOrHashMismatchError, ValueError } from '../updater/core/errors.js';
import type { TargetsEdits } from './edits.js';
import type { RepositoryPaths } from './layout.js';
import type { RepositoryStorage } from './storage.js';
import { indexFromInstallers, indexKeyOf, indexKeyString, readCustom, type IndexKey } from './release-entries.js';
import type { ReleaseCustom } from '../updater/release/index.js';
import { stageBytes, type IncomingFile } from './target-store.js';

export function indexPathOf(key: IndexKey): string {
  return channelIndexPath(key.channel, key.platform, key.arch);
}

/**
 * The published index a target entry describes, read from the repository's storage by its
 * sha256 name; undefined when it is missing or damaged (too large, or its signed length or hashes
 * do not match): the caller then rebuilds it from the signed targets, so damage is repaired, not
 * trusted. A failing disk (EACCES, EIO) is an error: rebuilding would hide it.
 */
export async function readPublishedIndex(
  storage: RepositoryStorage,
  info: TargetFile,
): Promise<ChannelIndex | undefined> {
  if (info.length > CHANNEL_INDEX_MAX_BYTES || !info.hashes.sha256) return undefined;
  let bytes: Uint8Array | undefined;
  try {
    bytes = await storage.readTarget(info.path, info.hashes.sha256, CHANNEL_INDEX_MAX_BYTES);
  } catch (error) {
    if (isSystemFailure(error)) throw error; // a StorageError naming the file
    return undefined; // too large or not a regular file: damaged
  }
  if (!bytes) return undefined;
  try {
    verifyLengthAndHashes(bytes, info.length, info.hashes, info.path);
    return parseChannelIndex(bytes);
  } catch (error) {
    if (
      error instanceof LengthOrHashMismatchError ||
      error instanceof DeserializationError ||
      error instanceof ValueError
    )
      return undefined;
    throw error;
  }
}

/** Every installer target (with a valid ReleaseCustom) as the edits leave them, grouped by index. */
export async function collectInstallers(
  edits: TargetsEdits,
): Promise<Map<string, Array<{ role: string; path: string; custom: ReleaseCustom }>>> {
  const byIndex = new Map<string, Array<{ role: string; path: string; custom: ReleaseCustom }>>();
  for await (const [role, md] of edits.allRoles()) {
    for (const [path, target] of md.signed.targets) {
      const custom = readCustom(target);
      if (!custom) continue;
      const k = indexKeyString(indexKeyOf(custom));
      let list = byIndex.get(k);
      if (!list) byIndex.set(k, (list = []));
      list.push({ role, path, custom });
    }
  }
  return byIndex;
}

/** The index of `key` rebuilt from every installer in the repository (with the edits applied). */
export async function rebuildIndex(edits: TargetsEdits, key: IndexKey): Promise<ChannelIndex> {
  const all = await collectInstallers(edits);
  return indexFromInstallers(key, all.get(indexKeyString(key)) ?? []);
}

/**
 * Records `index` as the target of its path in top-level targets and stages its bytes, unless
 * the published one is byte-identical. Returns what the caller must place before publishing.
 */
export async function stageIndex(
  edits: TargetsEdits,
  paths: RepositoryPaths,
  index: ChannelIndex,
): Promise<{ path: string; file: IncomingFile } | undefined> {
  const path = indexPathOf(index);
  const bytes = serializeChannelIndex(index);
  const current = await edits.getTopLevel(path);
  if (current) {
    try {
      verifyLengthAndHashes(bytes, current.length, current.hashes, path);
      return undefined;
    } catch {
      // changed: fall through
    }
  }
  const file = await stageBytes(paths, bytes);
  await edits.setTopLevel(
    new TargetFile(path, file.length, { sha256: file.hashes.sha256, sha512: file.hashes.sha512 }),
  );
  return { path, file };
}
