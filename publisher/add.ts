/**
 * `repo add`: publish a release's installers, and the lower-level `addTargets` for importing
 * many arbitrary targets in one transaction.
 *
 * Installers are hashed and copied before the repository lock is taken (the slow part, done in
 * parallel by concurrent publishers); under the lock the current metadata is read, the change
 * planned, every needed key resolved, and only then is anything written.
 */
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { canonicalString } from '../updater/core/canonical.js';
import { ValueError } from '../updater/core/errors.js';
import { TargetFile } from '../updater/core/metadata.js';
import {
  defaultChannelFor,
  installerKindOf,
  installerTargetPath,
  validateArch,
  validateChannel,
  validatePlatform,
  validateVersion,
  type ChannelRelease,
  type InstallerKind,
  type ReleaseCustom,
} from '../updater/release/index.js';
import { indexPathOf, readPublishedIndex, rebuildIndex, stageIndex } from './channel-indexes.js';
import { TargetsEdits } from './edits.js';
import { validatePublishedTargetPath } from './layout.js';
import { keyRingFor, nowOf, openPaths, publishSigners, type KeyOptions, type RepositoryOptions } from './options.js';
import {
  fieldsOf,
  formatReleaseDate,
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
} from './releases.js';
import { publish, RepositoryState, withRepositoryLock, type PublishReport } from './repository.js';
import { discard, hashAndCopy, placeTarget, type IncomingFile } from './target-store.js';

/** Release notes are signed into every installer's metadata: keep them to a page or two. */
export const MAX_RELEASE_NOTES_BYTES = 64 * 1024;

export interface AddReleaseOptions extends RepositoryOptions, KeyOptions {
  /** Installer files; their base names become `<version>/<name>` target paths. */
  files: string[];
  version: string;
  /** Default: the version's prerelease tag (`1.2.0-beta.1` -> beta), else `stable`. */
  channel?: string;
  platform: string;
  arch: string;
  /** Release notes text (empty clears earlier notes of this release). */
  notes?: string;
  /** Staged rollout: the percentage of installs offered this release (100 = everyone). */
  stagingPercentage?: number;
  /** Replace a target path already published with different content. */
  force?: boolean;
}

export type TargetStatus = 'added' | 'updated' | 'replaced' | 'unchanged';

export interface AddedTarget {
  path: string;
  length: number;
  hashes: Record<string, string>;
  /** The role listing it: `targets` or its bin. */
  role: string;
  status: TargetStatus;
}

export interface AddReleaseResult {
  /** False when everything was already published exactly so: nothing was written. */
  changed: boolean;
  version: string;
  channel: string;
  platform: string;
  arch: string;
  targets: AddedTarget[];
  channelIndex: { path: string; status: 'updated' | 'unchanged' };
  /** Metadata written (absent when unchanged). */
  publish?: PublishReport;
  timings: { hashAndCopyMs: number; publishMs: number };
}

interface ReleaseInput {
  version: string;
  key: IndexKey;
  files: Array<{ source: string; path: string; kind: InstallerKind }>;
  notes?: string;
  staging?: number;
}

function validateReleaseInput(options: AddReleaseOptions): ReleaseInput {
  const version = validateVersion(options.version);
  const key: IndexKey = {
    channel: validateChannel(options.channel ?? defaultChannelFor(version)),
    platform: validatePlatform(options.platform),
    arch: validateArch(options.arch),
  };
  if (!Array.isArray(options.files) || options.files.length === 0) throw new ValueError('no installer files given');
  const seen = new Set<string>();
  const files = options.files.map((source) => {
    const name = basename(source);
    const kind = installerKindOf(name);
    if (!kind) throw new ValueError(`${name} is not an installer (expected .tar.gz, .zip, .AppImage, .deb, .rpm, .exe or .dmg)`);
    const path = validatePublishedTargetPath(installerTargetPath(version, name));
    if (seen.has(path)) throw new ValueError(`${name} is given twice`);
    seen.add(path);
    return { source, path, kind };
  });
  const staging = options.stagingPercentage;
  if (staging !== undefined && !(Number.isInteger(staging) && staging >= 0 && staging <= 100)) {
    throw new ValueError(`staging percentage must be an integer from 0 to 100, got ${String(staging)}`);
  }
  if (options.notes !== undefined && Buffer.byteLength(options.notes, 'utf8') > MAX_RELEASE_NOTES_BYTES) {
    throw new ValueError(`release notes are longer than ${MAX_RELEASE_NOTES_BYTES} bytes`);
  }
  return { version, key, files, notes: options.notes, staging };
}

/** What both kinds of add report about the publish itself. */
interface PublishOutcome {
  changed: boolean;
  publish?: PublishReport;
  timings: { hashAndCopyMs: number; publishMs: number };
}

interface Placement {
  path: string;
  file: IncomingFile;
}

/**
 * The transaction both adds share: hash and copy the incoming files before the lock (the
 * slow part, done in parallel by concurrent publishers); under the lock load the repository,
 * let `plan` edit targets, then place the files and publish only what changed. Incoming
 * copies that were not placed are removed whatever happens.
 */
async function publishTargetsChange<R extends PublishOutcome>(
  options: RepositoryOptions & KeyOptions,
  sources: string[],
  plan: (state: RepositoryState, edits: TargetsEdits, incoming: IncomingFile[], hashAndCopyMs: number) => Promise<{ result: R; placements: Placement[] }>,
): Promise<R> {
  const paths = await openPaths(options.repo);
  const ring = keyRingFor(paths, options);
  const now = nowOf(options);
  const incoming: IncomingFile[] = [];
  const placed: IncomingFile[] = [];
  try {
    const started = performance.now();
    for (const source of sources) incoming.push(await hashAndCopy(paths, source));
    const hashAndCopyMs = performance.now() - started;
    return await withRepositoryLock(
      paths,
      async () => {
        const lockedAt = performance.now();
        const state = await RepositoryState.load(paths.root);
        state.assertRootValid(now);
        const edits = new TargetsEdits(state);
        const { result, placements } = await plan(state, edits, incoming, hashAndCopyMs);
        placed.push(...placements.map((p) => p.file));
        result.changed = edits.changed.size > 0;
        if (!result.changed) return result;
        const signers = await publishSigners(state, ring, edits.changed.keys());
        for (const p of placements) await placeTarget(paths, p.path, p.file);
        result.publish = await publish(state, { changed: edits.changed, signers, now });
        result.timings.publishMs = performance.now() - lockedAt;
        return result;
      },
      options,
    );
  } finally {
    for (const f of new Set([...incoming, ...placed])) await discard(f);
  }
}

/** Publishes a release's installers and updates its channel index. */
export async function addRelease(options: AddReleaseOptions): Promise<AddReleaseResult> {
  const input = validateReleaseInput(options);
  const now = nowOf(options);
  return publishTargetsChange(options, input.files.map((f) => f.source), async (_state, edits, incoming, hashAndCopyMs) => {
    const plan = await planRelease(edits, input, incoming, now, options.force ?? false);
    const result: AddReleaseResult = {
      changed: false,
      version: input.version,
      ...input.key,
      targets: plan.targets,
      channelIndex: { path: indexPathOf(input.key), status: plan.indexChanged ? 'updated' : 'unchanged' },
      timings: { hashAndCopyMs, publishMs: 0 },
    };
    return { result, placements: plan.placements };
  });
}

interface ReleasePlan {
  targets: AddedTarget[];
  placements: Placement[];
  indexChanged: boolean;
}

async function planRelease(edits: TargetsEdits, input: ReleaseInput, staged: IncomingFile[], now: Date, force: boolean): Promise<ReleasePlan> {
  const { state } = edits;
  const { key, version } = input;
  const indexInfo = await edits.getTopLevel(indexPathOf(key));
  let index = indexInfo && (await readPublishedIndex(state.paths, indexInfo));
  if (indexInfo && !index) index = await rebuildIndex(edits, key); // damaged on disk: derive it again
  const previous = index?.releases.find((r) => r.version === version);
  const fields = releaseFields(input, previous, now);

  const plan: ReleasePlan = { targets: [], placements: [], indexChanged: false };
  const staleIndexes = new Map<string, IndexKey>();
  const installers = new Map<string, InstallerKind>();
  for (let i = 0; i < input.files.length; i++) {
    const { path, kind } = input.files[i];
    const { status, previousKey } = await planInstaller(edits, plan, path, staged[i], makeCustom(key, version, kind, fields), force);
    if (previousKey && indexKeyString(previousKey) !== indexKeyString(key)) staleIndexes.set(indexKeyString(previousKey), previousKey);
    installers.set(path, kind);
    plan.targets.push({ path, length: staged[i].length, hashes: { ...staged[i].hashes }, role: state.roleFor(path), status });
  }
  // The release's other installers (added earlier) take the same release-level fields.
  for (const other of previous?.installers ?? []) {
    if (installers.has(other.target)) continue;
    if (await alignInstaller(edits, other.target, key, version, fields)) installers.set(other.target, other.kind);
  }

  const release: ChannelRelease = makeChannelRelease(version, fields, [...installers].map(([target, kind]) => ({ target, kind })));
  const placedIndex = await stageIndex(edits, state.paths, upsertRelease(key, index, release));
  if (placedIndex) plan.placements.push(placedIndex);
  plan.indexChanged = placedIndex !== undefined;
  for (const stale of staleIndexes.values()) {
    const placed = await stageIndex(edits, state.paths, await rebuildIndex(edits, stale));
    if (placed) plan.placements.push(placed);
  }
  return plan;
}

/** Records one installer in the edits (and its file among the placements) as `classify` decides. */
async function planInstaller(
  edits: TargetsEdits,
  plan: ReleasePlan,
  path: string,
  file: IncomingFile,
  custom: ReleaseCustom,
  force: boolean,
): Promise<{ status: TargetStatus; previousKey?: IndexKey }> {
  const target = installerTarget(path, file.length, file.hashes, custom);
  const existing = await edits.get(path);
  const status = classify(existing, target, indexKeyOf(custom), force);
  if (status !== 'unchanged') await edits.set(target);
  if (status === 'added' || (status === 'replaced' && !sameContent(existing!, target))) plan.placements.push({ path, file });
  const previous = existing && readCustom(existing);
  return { status, previousKey: previous && indexKeyOf(previous) };
}

/** Date from the release's first publication; notes and staging from this call, else kept. */
function releaseFields(input: ReleaseInput, previous: ChannelRelease | undefined, now: Date): ReleaseFields {
  const kept = previous ? fieldsOf(previous) : undefined;
  const notes = input.notes !== undefined ? input.notes || undefined : kept?.releaseNotes;
  const staging = input.staging !== undefined ? (input.staging === 100 ? undefined : input.staging) : kept?.stagingPercentage;
  return { releaseDate: kept?.releaseDate ?? formatReleaseDate(now), releaseNotes: notes, stagingPercentage: staging };
}

function classify(existing: TargetFile | undefined, target: TargetFile, key: IndexKey, force: boolean): TargetStatus {
  if (!existing) return 'added';
  if (sameTarget(existing, target)) return 'unchanged';
  const old = readCustom(existing);
  const sameRelease = old !== undefined && indexKeyString(indexKeyOf(old)) === indexKeyString(key) && old.kind === readCustom(target)?.kind;
  if (sameContent(existing, target) && sameRelease) return 'updated'; // notes or staging changed
  if (force) return 'replaced';
  const what = sameContent(existing, target)
    ? `for ${old ? `${old.channel} ${old.platform}-${old.arch}` : 'another purpose'}`
    : `with different content (sha256 ${existing.hashes.sha256?.slice(0, 12) ?? '?'}...)`;
  throw new ValueError(`${target.path} is already published ${what}; pass --force to replace it`);
}

/** Gives an installer of the release the release's fields; false if it is no longer a valid installer. */
async function alignInstaller(edits: TargetsEdits, path: string, key: IndexKey, version: string, fields: ReleaseFields): Promise<boolean> {
  const target = await edits.get(path);
  const custom = target && readCustom(target);
  if (!target || !custom || custom.version !== version || indexKeyString(indexKeyOf(custom)) !== indexKeyString(key)) return false;
  const wanted = makeCustom(key, version, custom.kind, fields);
  if (canonicalString(wanted) !== canonicalString(custom)) {
    await edits.set(new TargetFile(path, target.length, target.hashes, { ...target.unrecognized, custom: wanted }));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

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

export interface AddTargetsOptions extends RepositoryOptions, KeyOptions {
  targets: TargetEntry[];
  force?: boolean;
}

export interface AddTargetsResult {
  changed: boolean;
  added: number;
  replaced: number;
  unchanged: number;
  publish?: PublishReport;
  timings: { hashAndCopyMs: number; publishMs: number };
}

const RESERVED_PREFIX = 'channels/';

function validateEntry(entry: TargetEntry): void {
  validatePublishedTargetPath(entry.path);
  if (entry.path.startsWith(RESERVED_PREFIX)) throw new ValueError(`${entry.path}: paths under ${RESERVED_PREFIX} are reserved for channel indexes`);
  if (entry.custom !== undefined) {
    try {
      canonicalString(entry.custom);
    } catch (e) {
      throw new ValueError(`${entry.path}: custom cannot be signed: ${(e as Error).message}`);
    }
  }
  if (entry.file !== undefined) return;
  if (!Number.isSafeInteger(entry.length) || (entry.length as number) < 0) throw new ValueError(`${entry.path}: length is required without a file`);
  if (!entry.hashes || !/^[0-9a-f]{64}$/.test(entry.hashes.sha256 ?? '')) throw new ValueError(`${entry.path}: a sha256 hash is required without a file`);
}

/**
 * Adds arbitrary targets in one publish (an import, or tooling of your own). Channel indexes
 * are not touched. Identical entries change nothing; a path already published differently is
 * refused unless `force`.
 */
export async function addTargets(options: AddTargetsOptions): Promise<AddTargetsResult> {
  options.targets.forEach(validateEntry);
  if (new Set(options.targets.map((t) => t.path)).size !== options.targets.length) throw new ValueError('a target path is given twice');
  const withFiles = options.targets.filter((t) => t.file !== undefined);
  return publishTargetsChange(options, withFiles.map((t) => t.file!), async (state, edits, incoming, hashAndCopyMs) => {
    const staged = new Map(withFiles.map((t, i) => [t.path, incoming[i]]));
    await state.preload(options.targets.map((t) => state.roleFor(t.path)));
    const result: AddTargetsResult = { changed: false, added: 0, replaced: 0, unchanged: 0, timings: { hashAndCopyMs, publishMs: 0 } };
    for (const entry of options.targets) {
      const file = staged.get(entry.path);
      const hashes = file ? { ...file.hashes } : { ...entry.hashes! };
      const target = new TargetFile(entry.path, file?.length ?? entry.length!, hashes, entry.custom === undefined ? {} : { custom: entry.custom });
      const existing = await edits.get(entry.path);
      if (existing && sameTarget(existing, target)) {
        result.unchanged++;
        continue;
      }
      if (existing && !options.force) throw new ValueError(`${entry.path} is already published differently; pass force to replace it`);
      await edits.set(target);
      result[existing ? 'replaced' : 'added']++;
    }
    return { result, placements: [...staged].map(([path, file]) => ({ path, file })) };
  });
}
