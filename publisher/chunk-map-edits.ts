/**
 * Chunk map targets inside a release edit (release-edits.ts): a map is published, replaced and
 * removed together with its installer, so metadata never names a map without its installer, and
 * an installer's `custom.chunkMap` never names a missing or stale map.
 */
import { ValueError } from '../updater/core/errors.js';
import { TargetFile } from '../updater/core/metadata.js';
import { chunkMapTargetPath } from '../updater/release/index.js';
import type { TargetsEdits } from './edits.js';
import { readCustom, sameTarget } from './release-entries.js';
import type { IncomingFile } from './target-store.js';
import type { RepositoryEdit } from './transaction.js';

/**
 * Deletes the chunk map of the installer `installer` (as it stands before the edit), if any.
 * Only the map beside it: a `custom.chunkMap` naming another path never deletes that target.
 */
export async function deleteChunkMapOf(
  edits: TargetsEdits,
  installer: TargetFile | undefined,
): Promise<{ path: string; role: string } | undefined> {
  const mapPath = installer && readCustom(installer)?.chunkMap;
  if (mapPath === undefined || mapPath !== chunkMapTargetPath(installer!.path)) return undefined;
  if (!(await edits.get(mapPath))) return undefined;
  const role = edits.state.roleFor(mapPath);
  await edits.delete(role, mapPath);
  return { path: mapPath, role };
}

/**
 * Publishes `map` as the chunk map of installer `path` (whose entry before the edit was
 * `existing`), or, without one, removes the map it had. A path already holding other content
 * that is not this installer's map is refused unless `force`, as for installers.
 */
export async function applyChunkMap(
  edit: RepositoryEdit,
  path: string,
  existing: TargetFile | undefined,
  map: IncomingFile | undefined,
  force: boolean,
): Promise<void> {
  const edits = edit.targets;
  if (!map) {
    await deleteChunkMapOf(edits, existing);
    return;
  }
  const mapPath = chunkMapTargetPath(path);
  const target = new TargetFile(mapPath, map.length, { sha256: map.hashes.sha256, sha512: map.hashes.sha512 });
  const current = await edits.get(mapPath);
  if (current && sameTarget(current, target)) return;
  const ours = existing !== undefined && readCustom(existing)?.chunkMap === mapPath;
  if (current && !ours && !force)
    throw new ValueError(`${mapPath} is already published, but not as ${path}'s chunk map; pass --force to replace it`);
  await edits.set(target);
  edit.placeFile(mapPath, map);
}
