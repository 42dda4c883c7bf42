/**
 * Release-level edits inside one transaction (transaction.ts): add a release's installers, add
 * arbitrary targets, yank a release, change a release's staged rollout. Each works on the
 * transaction's edit only, so any number of them (a service's batch) commit as one new version
 * of each role they touch. Installer targets and the channel index that lists them change
 * together, so the two signed sources never disagree.
 */
import { canonicalString } from '../updater/core/canonical.js';
import { UnknownReleaseError, ValueError } from '../updater/core/errors.js';
import { TargetFile } from '../updater/core/metadata.js';
import {
  chunkMapTargetPath,
  type ChannelRelease,
  type InstallerKind,
  type ReleaseCustom,
} from '../updater/release/index.js';
import { applyChunkMap, deleteChunkMapOf } from './chunk-map-edits.js';
import { collectInstallers, indexPathOf, readPublishedIndex, rebuildIndex, stageIndex } from './channel-indexes.js';
import type { TargetsEdits } from './edits.js';
import {
  fieldsOf,
  formatReleaseDate,
  indexFromInstallers,
  indexKeyOf,
  indexKeyString,
  installerTarget,
  makeChannelRelease,
  makeCustom,
  readCustom,
  sameContent,
  sameTarget,
  upsertRelease,
  type IndexKey,
  type ReleaseFields,
} from './release-entries.js';
import type { ReleaseInput } from './release-input.js';
import type { IncomingFile } from './target-store.js';
import type { RepositoryEdit } from './transaction.js';

export type TargetStatus = 'added' | 'updated' | 'replaced' | 'unchanged';

export interface AddedTarget {
  path: string;
  length: number;
  hashes: Record<string, string>;
  /** The role listing it: `targets` or its bin. */
  role: string;
  status: TargetStatus;
  /** Its chunk map (differential updates), when it has one. */
  chunkMap?: { path: string; length: number; hashes: Record<string, string> };
}

export interface ReleaseEditOptions {
  /** Replace a target path already published with different content. */
  force?: boolean;
  /** Replace the release's installer of the same kind published under another file name. */
  replace?: boolean;
}

export interface ReleaseEditResult {
  targets: AddedTarget[];
  /** Installers of the same kind this release had under another name, now replaced. */
  replaced: string[];
  indexChanged: boolean;
}

type Index = Parameters<typeof stageIndex>[2];

/**
 * The channel indexes each transaction staged, by path and sha256: their bytes reach targets/
 * only at commit, so a later edit of the same batch reads them here instead of rebuilding the
 * index from every installer (which made a batch of n adds cost O(n x targets)).
 */
const stagedIndexes = new WeakMap<RepositoryEdit, Map<string, { sha256: string; index: Index }>>();

/** Stages a channel index and hands its bytes to the transaction. */
async function publishIndex(edit: RepositoryEdit, index: Index): Promise<boolean> {
  const placed = await stageIndex(edit.targets, edit.state.paths, index);
  if (placed) edit.placeFile(placed.path, placed.file);
  const path = indexPathOf(index);
  const sha256 = (await edit.targets.getTopLevel(path))?.hashes.sha256;
  let staged = stagedIndexes.get(edit);
  if (!staged) stagedIndexes.set(edit, (staged = new Map<string, { sha256: string; index: Index }>()));
  if (sha256) staged.set(path, { sha256, index });
  return placed !== undefined;
}

/** The index this transaction staged for `info`, if its target still names those bytes. */
function stagedIndexOf(edit: RepositoryEdit, info: TargetFile): Index | undefined {
  const staged = stagedIndexes.get(edit)?.get(info.path);
  return staged && staged.sha256 === info.hashes.sha256 ? staged.index : undefined;
}

/** Adds a release's installers (hashed and copied beforehand, in `input.files` order) and updates its channel index. */
export async function applyRelease(
  edit: RepositoryEdit,
  input: ReleaseInput,
  staged: IncomingFile[],
  options: ReleaseEditOptions = {},
): Promise<ReleaseEditResult> {
  const edits = edit.targets;
  const { key, version } = input;
  const indexInfo = await edits.getTopLevel(indexPathOf(key));
  let index =
    indexInfo && (stagedIndexOf(edit, indexInfo) ?? (await readPublishedIndex(edit.state.storage, indexInfo)));
  if (indexInfo && !index) index = await rebuildIndex(edits, key); // missing or damaged: derive it again
  const previous = index?.releases.find((r) => r.version === version);
  const fields = releaseFields(input, previous, edit.now);
  const replaced = await replaceSameKind(edits, input, previous, options.replace ?? false);

  const result: ReleaseEditResult = { targets: [], replaced, indexChanged: false };
  const staleIndexes = new Map<string, IndexKey>();
  const installers = new Map<string, InstallerKind>();
  for (let i = 0; i < input.files.length; i++) {
    const { path, kind } = input.files[i];
    const map = staged[i].chunkMap;
    const custom = makeCustom(key, version, kind, fields, map && chunkMapTargetPath(path));
    const target = installerTarget(path, staged[i].length, staged[i].hashes, custom);
    const existing = await edits.get(path);
    const status = classify(existing, target, key, options.force ?? false);
    await applyChunkMap(edit, path, existing, map, options.force ?? false);
    if (status !== 'unchanged') await edits.set(target);
    if (status === 'added' || (status === 'replaced' && !sameContent(existing!, target)))
      edit.placeFile(path, staged[i]);
    const previousCustom = existing && readCustom(existing);
    if (previousCustom && indexKeyString(indexKeyOf(previousCustom)) !== indexKeyString(key))
      staleIndexes.set(indexKeyString(indexKeyOf(previousCustom)), indexKeyOf(previousCustom));
    installers.set(path, kind);
    result.targets.push({
      path,
      length: staged[i].length,
      hashes: { ...staged[i].hashes },
      role: edit.state.roleFor(path),
      status,
      ...(map ? { chunkMap: { path: chunkMapTargetPath(path), length: map.length, hashes: { ...map.hashes } } } : {}),
    });
  }
  // The release's other installers (added earlier) take the same release-level fields.
  for (const other of previous?.installers ?? []) {
    if (installers.has(other.target) || replaced.includes(other.target)) continue;
    if (await alignInstaller(edits, other.target, key, version, fields)) installers.set(other.target, other.kind);
  }

  const release: ChannelRelease = makeChannelRelease(
    version,
    fields,
    [...installers].map(([target, kind]) => ({ target, kind })),
  );
  result.indexChanged = await publishIndex(edit, upsertRelease(key, index, release));
  for (const stale of staleIndexes.values()) await publishIndex(edit, await rebuildIndex(edits, stale));
  return result;
}

/**
 * A release has one installer of each kind (the updater installs the first it finds): another
 * file of the same kind is refused, or with `replace` takes the old one's place.
 */
async function replaceSameKind(
  edits: TargetsEdits,
  input: ReleaseInput,
  previous: ChannelRelease | undefined,
  replace: boolean,
): Promise<string[]> {
  const replaced: string[] = [];
  const given = new Set(input.files.map((f) => f.path));
  for (const old of previous?.installers ?? []) {
    const file = input.files.find((f) => f.kind === old.kind);
    if (!file || given.has(old.target)) continue;
    if (!replace) {
      throw new ValueError(
        `${input.version} (${input.key.channel} ${input.key.platform}-${input.key.arch}) already has a ${old.kind} installer, ${old.target}; ` +
          'pass --replace to publish this one instead',
      );
    }
    await deleteChunkMapOf(edits, await edits.get(old.target));
    await edits.delete(edits.state.roleFor(old.target), old.target);
    replaced.push(old.target);
  }
  return replaced;
}

/** Date from the release's first publication; notes and staging from this call, else kept. */
function releaseFields(input: ReleaseInput, previous: ChannelRelease | undefined, now: Date): ReleaseFields {
  const kept = previous ? fieldsOf(previous) : undefined;
  const notes = input.notes !== undefined ? input.notes || undefined : kept?.releaseNotes;
  const staging =
    input.staging !== undefined ? (input.staging === 100 ? undefined : input.staging) : kept?.stagingPercentage;
  return { releaseDate: kept?.releaseDate ?? formatReleaseDate(now), releaseNotes: notes, stagingPercentage: staging };
}

function classify(existing: TargetFile | undefined, target: TargetFile, key: IndexKey, force: boolean): TargetStatus {
  if (!existing) return 'added';
  if (sameTarget(existing, target)) return 'unchanged';
  const old = readCustom(existing);
  const sameRelease =
    old !== undefined &&
    indexKeyString(indexKeyOf(old)) === indexKeyString(key) &&
    old.kind === readCustom(target)?.kind;
  if (sameContent(existing, target) && sameRelease) return 'updated'; // notes or staging changed
  if (force) return 'replaced';
  const what = sameContent(existing, target)
    ? `for ${old ? `${old.channel} ${old.platform}-${old.arch}` : 'another purpose'}`
    : `with different content (sha256 ${existing.hashes.sha256?.slice(0, 12) ?? '?'}...)`;
  throw new ValueError(`${target.path} is already published ${what}; pass --force to replace it`);
}

/** Gives an installer of the release the release's fields; false if it is no longer a valid installer. */
async function alignInstaller(
  edits: TargetsEdits,
  path: string,
  key: IndexKey,
  version: string,
  fields: ReleaseFields,
): Promise<boolean> {
  const target = await edits.get(path);
  const custom = target && readCustom(target);
  if (!target || !custom || custom.version !== version || indexKeyString(indexKeyOf(custom)) !== indexKeyString(key))
    return false;
  const wanted = makeCustom(key, version, custom.kind, fields, custom.chunkMap);
  if (canonicalString(wanted) !== canonicalString(custom)) {
    await edits.set(new TargetFile(path, target.length, target.hashes, { ...target.unrecognized, custom: wanted }));
  }
  return true;
}

export interface RemovalResult {
  removed: Array<{ path: string; role: string }>;
  /** Channel indexes rewritten, with the version each now offers first (undefined: none left). */
  indexes: Array<{ path: string; newest?: string }>;
}

/** Yanks a release: its installer targets leave the metadata; each affected index is rebuilt from what remains. */
export async function applyRemoval(edit: RepositoryEdit, version: string, channel?: string): Promise<RemovalResult> {
  const installers = await collectInstallers(edit.targets);
  const affected = new Map<string, IndexKey>();
  const removed: RemovalResult['removed'] = [];
  for (const list of installers.values()) {
    for (const item of list) {
      if (item.custom.version !== version || (channel !== undefined && item.custom.channel !== channel)) continue;
      removed.push({ path: item.path, role: item.role });
      affected.set(indexKeyString(indexKeyOf(item.custom)), indexKeyOf(item.custom));
    }
  }
  if (removed.length === 0) throw new UnknownReleaseError(version, channel);
  const gone = new Set(removed.map((r) => r.path));
  for (const r of removed) {
    await deleteChunkMapOf(edit.targets, await edit.targets.get(r.path)); // the map goes with its installer
    await edit.targets.delete(r.role, r.path);
  }
  const indexes: RemovalResult['indexes'] = [];
  for (const [k, key] of affected) {
    const index = indexFromInstallers(
      key,
      (installers.get(k) ?? []).filter((i) => !gone.has(i.path)),
    );
    await publishIndex(edit, index);
    indexes.push({ path: indexPathOf(key), newest: index.releases[0]?.version });
  }
  return { removed, indexes };
}

/** Sets the staged-rollout percentage of a published release (100 = everyone) in its installers and indexes. */
export async function applyStaging(
  edit: RepositoryEdit,
  version: string,
  percentage: number,
  channel?: string,
): Promise<{ installers: number }> {
  if (!(Number.isInteger(percentage) && percentage >= 0 && percentage <= 100)) {
    throw new ValueError(`staging percentage must be an integer from 0 to 100, got ${String(percentage)}`);
  }
  const installers = await collectInstallers(edit.targets);
  const affected = new Map<string, IndexKey>();
  let count = 0;
  for (const list of installers.values()) {
    for (const item of list) {
      if (item.custom.version !== version || (channel !== undefined && item.custom.channel !== channel)) continue;
      const target = (await edit.targets.get(item.path))!;
      const fields = { ...fieldsOf(item.custom), stagingPercentage: percentage === 100 ? undefined : percentage };
      const custom: ReleaseCustom = makeCustom(
        indexKeyOf(item.custom),
        version,
        item.custom.kind,
        fields,
        item.custom.chunkMap,
      );
      if (canonicalString(custom) !== canonicalString(item.custom)) {
        await edit.targets.set(
          new TargetFile(item.path, target.length, target.hashes, { ...target.unrecognized, custom }),
        );
      }
      affected.set(indexKeyString(indexKeyOf(item.custom)), indexKeyOf(item.custom));
      count++;
    }
  }
  if (count === 0) throw new UnknownReleaseError(version, channel);
  for (const key of affected.values()) await publishIndex(edit, await rebuildIndex(edit.targets, key));
  return { installers: count };
}

export interface TargetEntry {
  /** Target path, `/`-separated (validated: stays inside targets/, portable names). */
  path: string;
  /** Copy this file into the repository. Without it, give length and hashes and place the file yourself. */
  file?: string;
  length?: number;
  hashes?: Record<string, string>;
  /** Signed `custom` metadata (JSON with integers only). */
  custom?: unknown;
}

export interface TargetsEditResult {
  added: number;
  replaced: number;
  unchanged: number;
}

/**
 * Adds arbitrary targets (validated by the caller); `staged` holds the copied content of the
 * entries that have a file. Identical entries change nothing; a path already published
 * differently is refused unless `force`.
 */
export async function applyTargets(
  edit: RepositoryEdit,
  entries: TargetEntry[],
  staged: Map<string, IncomingFile>,
  force = false,
): Promise<TargetsEditResult> {
  await edit.state.preload(entries.map((t) => edit.state.roleFor(t.path)));
  const result: TargetsEditResult = { added: 0, replaced: 0, unchanged: 0 };
  for (const entry of entries) {
    const file = staged.get(entry.path);
    const hashes = file ? { ...file.hashes } : { ...entry.hashes! };
    const target = new TargetFile(
      entry.path,
      file?.length ?? entry.length!,
      hashes,
      entry.custom === undefined ? {} : { custom: entry.custom },
    );
    const existing = await edit.targets.get(entry.path);
    if (existing && sameTarget(existing, target)) {
      result.unchanged++;
      continue;
    }
    if (existing && !force)
      throw new ValueError(`${entry.path} is already published differently; pass force to replace it`);
    await edit.targets.set(target);
    result[existing ? 'replaced' : 'added']++;
  }
  for (const [path, file] of staged) edit.placeFile(path, file);
  return result;
}
