/**
 * `repo add`: publish a release's installers, and the lower-level `addTargets` for importing
 * many arbitrary targets in one transaction.
 *
 * Installers are hashed and copied before the repository lock is taken (the slow part, done in
 * parallel by concurrent publishers); the rest is one transaction (transaction.ts): under the
 * lock the repository is loaded and verified, the release edited in, every needed key resolved
 * and everything signed before anything is written.
 */
import { performance } from 'node:perf_hooks';
import { canonicalString } from '../updater/core/canonical.js';
import { ValueError } from '../updater/core/errors.js';
import { indexPathOf } from './channel-indexes.js';
import { validatePublishedTargetPath } from './layout.js';
import { pathsFor } from './options.js';
import { applyRelease, applyTargets, type AddedTarget, type TargetEntry } from './release-edits.js';
import { validateReleaseInput, type ReleaseRequest } from './release-input.js';
import { editRepository, type PublishReport, type RepositoryEdit, type TransactionOptions } from './transaction.js';
import { stageInstaller } from './chunk-maps.js';
import { discard, type IncomingFile } from './target-store.js';
import { cleanupAfter } from './cleanup.js';

export { MAX_RELEASE_NOTES_BYTES } from './release-input.js';
export type { AddedTarget, TargetEntry, TargetStatus } from './release-edits.js';

export interface AddReleaseOptions extends TransactionOptions {
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
  /** Replace the release's installer of the same kind published under another file name. */
  replace?: boolean;
  /** Publish chunk maps for differential updates with the kinds that have them (default true). */
  chunkMap?: boolean;
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
  /** Installers of the same kind this release had under another name, replaced (`replace`). */
  replaced: string[];
  /** Probably mistakes, published anyway (a file name naming another version). */
  warnings: string[];
  /** Metadata written (absent when unchanged). */
  publish?: PublishReport;
  timings: { hashAndCopyMs: number; publishMs: number };
}

/** What both kinds of add report about the publish itself. */
interface PublishOutcome {
  changed: boolean;
  publish?: PublishReport;
  timings: { hashAndCopyMs: number; publishMs: number };
}

/**
 * Both adds: hash and copy the incoming files before the lock (the slow part, done in parallel
 * by concurrent publishers), then one transaction. Incoming copies that were not placed are
 * removed whatever happens.
 */
async function addInTransaction<R extends PublishOutcome>(
  options: TransactionOptions,
  sources: Array<{ source: string; chunkMap?: boolean }>,
  apply: (edit: RepositoryEdit, incoming: IncomingFile[], hashAndCopyMs: number) => Promise<R>,
): Promise<R> {
  const paths = await pathsFor(options);
  const incoming: IncomingFile[] = [];
  return cleanupAfter(
    async () => {
      const started = performance.now();
      for (const { source, chunkMap } of sources) incoming.push(await stageInstaller(paths, source, chunkMap ?? false));
      const hashAndCopyMs = performance.now() - started;
      let lockedAt = 0;
      const { value, publish } = await editRepository(options, (edit) => {
        lockedAt = performance.now();
        return apply(edit, incoming, hashAndCopyMs);
      });
      value.changed = publish !== undefined;
      if (publish) {
        value.publish = publish;
        value.timings.publishMs = performance.now() - lockedAt;
      }
      return value;
    },
    () => discard(...incoming),
  );
}

/** Publishes a release's installers and updates its channel index. */
export async function addRelease(options: AddReleaseOptions): Promise<AddReleaseResult> {
  return (await addReleases(options, [options]))[0];
}

/** One release of a batch: what `addRelease` takes beyond the repository and keys. */
export interface ReleaseSpec extends ReleaseRequest {
  force?: boolean;
  replace?: boolean;
}

/**
 * Publishes several releases in ONE transaction (group commit: one new version of each role
 * they touch, all or nothing), e.g. every platform and arch of one build. Results in order;
 * they share one publish report.
 */
export async function addReleases(options: TransactionOptions, releases: ReleaseSpec[]): Promise<AddReleaseResult[]> {
  const inputs = releases.map((release) => validateReleaseInput(release));
  const sources = inputs.flatMap((input) => input.files.map((f) => ({ source: f.source, chunkMap: f.chunkMap })));
  const outcome = await addInTransaction(options, sources, async (edit, incoming, hashAndCopyMs) => {
    const results: AddReleaseResult[] = [];
    let next = 0;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const staged = incoming.slice(next, (next += input.files.length));
      const applied = await applyRelease(edit, input, staged, {
        force: releases[i].force,
        replace: releases[i].replace,
      });
      results.push({
        changed: false,
        version: input.version,
        ...input.key,
        targets: applied.targets,
        channelIndex: { path: indexPathOf(input.key), status: applied.indexChanged ? 'updated' : 'unchanged' },
        replaced: applied.replaced,
        warnings: input.warnings,
        timings: { hashAndCopyMs, publishMs: 0 },
      });
    }
    const batch: PublishOutcome & { results: AddReleaseResult[] } = {
      changed: false,
      results,
      timings: { hashAndCopyMs, publishMs: 0 },
    };
    return batch;
  });
  return outcome.results.map((result) => ({
    ...result,
    changed: outcome.changed,
    publish: outcome.publish,
    timings: outcome.timings,
  }));
}

// ---------------------------------------------------------------------------------------------

export interface AddTargetsOptions extends TransactionOptions {
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
  if (entry.path.startsWith(RESERVED_PREFIX))
    throw new ValueError(`${entry.path}: paths under ${RESERVED_PREFIX} are reserved for channel indexes`);
  if (entry.custom !== undefined) {
    try {
      canonicalString(entry.custom);
    } catch (e) {
      throw new ValueError(`${entry.path}: custom cannot be signed: ${(e as Error).message}`);
    }
  }
  if (entry.file !== undefined) return;
  if (!Number.isSafeInteger(entry.length) || (entry.length as number) < 0)
    throw new ValueError(`${entry.path}: length is required without a file`);
  if (!entry.hashes || !/^[0-9a-f]{64}$/.test(entry.hashes.sha256 ?? ''))
    throw new ValueError(`${entry.path}: a sha256 hash is required without a file`);
}

/**
 * Adds arbitrary targets in one publish (an import, or tooling of your own). Channel indexes
 * are not touched. Identical entries change nothing; a path already published differently is
 * refused unless `force`.
 */
export async function addTargets(options: AddTargetsOptions): Promise<AddTargetsResult> {
  options.targets.forEach(validateEntry);
  if (new Set(options.targets.map((t) => t.path)).size !== options.targets.length)
    throw new ValueError('a target path is given twice');
  const withFiles = options.targets.filter((t) => t.file !== undefined);
  return addInTransaction(
    options,
    withFiles.map((t) => ({ source: t.file! })),
    async (edit, incoming, hashAndCopyMs) => {
      const staged = new Map(withFiles.map((t, i) => [t.path, incoming[i]]));
      const counts = await applyTargets(edit, options.targets, staged, options.force);
      return { changed: false, ...counts, timings: { hashAndCopyMs, publishMs: 0 } };
    },
  );
}
