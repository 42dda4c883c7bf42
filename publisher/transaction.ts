/**
 * The one publish transaction (in the spirit of python-tuf's `Repository.edit()` with
 * `do_snapshot`/`do_timestamp`). Every command that changes a repository, the electron-builder
 * hook and the library go through `editRepository`:
 *
 *   lock -> load, verified as a client would from the publisher's own last trusted state
 *   (repository.ts, trusted-state.ts) -> the caller's edits -> version + 1 and a fresh expiry for
 *   exactly the roles that changed (targets roles, then snapshot when any did, timestamp always)
 *   -> sign everything -> write in the crash-safe order -> record the new trusted state.
 *
 * Several edits in one transaction make ONE new version of each affected role (group commit:
 * a service batches many pending adds into one). Nothing is written until every file is signed
 * and size-checked, so a failed edit, a missing key or a refused signature leaves the
 * repository byte-identical. Then: target files, a new root (if any), delegated bins, targets,
 * snapshot, and `timestamp.json` last (5.7.3: everything the new timestamp names exists before
 * it does), each group durable before the next starts; a publish killed at any point leaves the
 * previous repository valid. A versioned file that already exists with other bytes is refused
 * (storage.ts): one version never means two contents.
 */
import type { Signer } from '../updater/core/keys.js';
import { eachConcurrently } from './concurrency.js';
import type { RepositoryConfig } from './config.js';
import { TargetsEdits } from './edits.js';
import type { KeyRing } from './keystore.js';
import { metadataFileName } from './layout.js';
import { keyRingFor, nowOf, pathsFor, type KeyOptions, type RepositoryOptions } from './options.js';
import { RepositoryState } from './repository.js';
import { DiskStorage, type Prepared, type RepositoryStorage } from './storage.js';
import type { StagedRootStore } from './staged-root-store.js';
import {
  applyRelease,
  applyRemoval,
  applyStaging,
  applyTargets,
  type ReleaseEditOptions,
  type ReleaseEditResult,
  type RemovalResult,
  type TargetEntry,
  type TargetsEditResult,
} from './release-edits.js';
import type { ReleaseInput } from './release-input.js';
import { discard, type IncomingFile } from './target-store.js';
import { signNewVersions, type SignedVersions } from './sign-versions.js';
import { cleanupAfter } from './cleanup.js';
import {
  fileStateStore,
  sha256Hex,
  stateFilePath,
  type PublishedState,
  type TrustedState,
  type TrustedStateStore,
} from './trusted-state.js';

/** Target files placed at once (on an object store each is a few requests, bound by their latency more than by CPU). */
const PLACE_CONCURRENCY = 32;

export interface PublishSigners {
  targets?: Signer[];
  bins?: Signer[];
  snapshot?: Signer[];
  timestamp?: Signer[];
}

export interface WrittenFile {
  /** File name inside metadata/. */
  name: string;
  bytes: number;
}

export interface PublishReport {
  files: WrittenFile[];
  /** Sum of the metadata bytes written (the cost of this publish for mirrors and clients). */
  metadataBytes: number;
  timestampVersion: number;
  snapshotVersion: number;
}

export interface TransactionOptions extends RepositoryOptions, KeyOptions {
  /** Where the repository's files are; default the directory `repo`. */
  storage?: RepositoryStorage;
  /** The publisher's record of what it last published (trusted-state.ts). */
  stateFile?: string;
  /** Where that record is kept when not in a file (a service's database); wins over stateFile. */
  stateStore?: TrustedStateStore;
  /** The repository's settings when they are not in `<repo>/electron-tuf.json` (a service's database). */
  config?: RepositoryConfig;
  /** Where changed settings go when they are not in `<repo>/electron-tuf.json` (with `config`). */
  saveConfig?: (config: RepositoryConfig) => Promise<void>;
  /** Where a staged root waits for signatures; default `<repo>/staged/` (staged-root-store.ts). */
  stagedStore?: StagedRootStore;
  /** Refuse to edit when root has expired (default true; a root rotation is how it is renewed). */
  requireValidRoot?: boolean;
}

export interface TransactionResult<T> {
  /** What the edit function returned. */
  value: T;
  /** The metadata written; undefined when the edits changed nothing (nothing was written). */
  publish?: PublishReport;
}

/** The edits of one transaction: what changes, gathered until the transaction commits. */
export class RepositoryEdit {
  /** Target entries by path, through the role (bin) that lists each. */
  readonly targets: TargetsEdits;
  private readonly placements = new Map<string, IncomingFile>();
  private readonly handed = new Set<IncomingFile>();
  private snapshotWanted = false;
  private timestampWanted = false;
  private rootFile?: Prepared & { version: number };
  private readonly signerOverrides: PublishSigners = {};

  constructor(
    readonly state: RepositoryState,
    readonly ring: KeyRing,
    readonly now: Date,
  ) {
    this.targets = new TargetsEdits(state);
  }

  /** Publishes `file` as the content of target `path` (placed before any metadata names it). */
  placeFile(path: string, file: IncomingFile): void {
    this.placements.set(path, file);
    this.handed.add(file);
  }

  /** Re-signs a targets role (top-level or a bin) with unchanged entries: new version and expiry. */
  async resign(role: string): Promise<void> {
    await this.targets.touch(role);
  }

  /** Re-signs snapshot even if no targets role changes (timestamp is always re-signed). */
  resignSnapshot(): void {
    this.snapshotWanted = true;
  }

  /** Re-signs timestamp even if nothing else changes (a commit always re-signs it). */
  resignTimestamp(): void {
    this.timestampWanted = true;
  }

  /** Publishes a new, fully signed root first (the caller checked its thresholds, 5.3.4). */
  publishRoot(version: number, bytes: Uint8Array): void {
    this.rootFile = { name: metadataFileName('root', version), bytes, version };
  }

  /** Signers for roles whose keys the caller resolved itself (e.g. new keys of a rotation). */
  useSigners(signers: PublishSigners): void {
    Object.assign(this.signerOverrides, signers);
  }

  /** True when committing would write anything. */
  get hasChanges(): boolean {
    return this.targets.changed.size > 0 || this.snapshotWanted || this.timestampWanted || this.rootFile !== undefined;
  }

  // Release-level edits (release-edits.ts); any number of them commit together.

  /** Adds a release's installers, hashed and copied beforehand (`staged`, in `input.files` order). */
  addRelease(input: ReleaseInput, staged: IncomingFile[], options?: ReleaseEditOptions): Promise<ReleaseEditResult> {
    return applyRelease(this, input, staged, options);
  }

  /** Adds arbitrary targets; `staged` holds the copied content of the entries given with a file. */
  addTargets(entries: TargetEntry[], staged: Map<string, IncomingFile>, force?: boolean): Promise<TargetsEditResult> {
    return applyTargets(this, entries, staged, force);
  }

  /** Yanks a release (in one channel, or every channel). */
  removeRelease(version: string, channel?: string): Promise<RemovalResult> {
    return applyRemoval(this, version, channel);
  }

  /** Changes a published release's staged rollout percentage. */
  setStaging(version: string, percentage: number, channel?: string): Promise<{ installers: number }> {
    return applyStaging(this, version, percentage, channel);
  }

  /** Removes every staged copy handed to placeFile that was not placed (after the transaction). */
  async discardStaged(): Promise<void> {
    await discard(...this.handed);
  }

  /** @internal the transaction's view of the gathered edits. */
  gathered(): {
    placements: Map<string, IncomingFile>;
    snapshot: boolean;
    timestamp: boolean;
    root?: Prepared & { version: number };
    signers: PublishSigners;
  } {
    const timestamp = this.timestampWanted || this.snapshotWanted || this.targets.changed.size > 0;
    return {
      placements: this.placements,
      snapshot: this.snapshotWanted,
      timestamp,
      root: this.rootFile,
      signers: this.signerOverrides,
    };
  }
}

/**
 * Runs `edit` in one transaction on the repository `options.repo` and publishes what it changed.
 * Throws (changing nothing) when the repository does not verify, an edit throws, or a key is missing.
 */
export async function editRepository<T>(
  options: TransactionOptions,
  edit: (edit: RepositoryEdit) => Promise<T>,
): Promise<TransactionResult<T>> {
  const paths = await pathsFor(options);
  const ring = keyRingFor(paths, options);
  const now = nowOf(options);
  return withLoadedState(options, async (state, stateStore) => {
    if (options.requireValidRoot !== false) state.assertRootValid(now);
    const repositoryEdit = new RepositoryEdit(state, ring, now);
    return cleanupAfter(
      () => runEdit(repositoryEdit, stateStore, edit),
      () => repositoryEdit.discardStaged(),
    );
  });
}

/**
 * The one verified load under the repository's lock, for a publish and for anything else that
 * must see the repository as a publish would (garbage collection): storage, trusted record and
 * settings wherever they live (files, or the service's database and bucket).
 */
export async function withLoadedState<T>(
  options: Pick<
    TransactionOptions,
    'repo' | 'storage' | 'stateStore' | 'stateFile' | 'env' | 'config' | 'lockTimeoutMs'
  >,
  fn: (state: RepositoryState, stateStore: TrustedStateStore, recorded: TrustedState | undefined) => Promise<T>,
): Promise<T> {
  const paths = await pathsFor(options);
  const storage = options.storage ?? new DiskStorage(paths);
  const stateStore = options.stateStore ?? fileStateStore(stateFilePath(paths, options));
  return storage.withLock(async () => {
    const recorded = await stateStore.read();
    return fn(
      await RepositoryState.load(paths.root, { storage, recorded, config: options.config }),
      stateStore,
      recorded,
    );
  }, options);
}

/** Applies `fn` to `edit` and commits; for callers already holding the lock (repo init). */
export async function runEdit<T>(
  edit: RepositoryEdit,
  stateStore: TrustedStateStore,
  fn: (edit: RepositoryEdit) => T | Promise<T>,
): Promise<TransactionResult<T>> {
  const value = await fn(edit);
  if (!edit.hasChanges) return { value };
  const report = await commit(edit, stateStore);
  return { value, publish: report };
}

/** Signs every new version, then writes them in the crash-safe order. */
async function commit(edit: RepositoryEdit, stateStore: TrustedStateStore): Promise<PublishReport> {
  const { state } = edit;
  const gathered = edit.gathered();
  const signed = gathered.timestamp ? await signNewVersions(edit) : undefined;
  const after = publishedAfter(state, gathered.root, signed);
  const groups = [
    gathered.root ? [gathered.root] : [],
    signed?.delegated ?? [],
    signed?.targets ? [signed.targets] : [],
    signed?.snapshot ? [signed.snapshot] : [],
  ];
  // A versioned file stored with other bytes is refused before anything (the record included) is written.
  await state.storage.checkVersioned(groups.flat(), state.replaceable);
  if (signed) {
    // Write-ahead: the files this publish may leave behind if killed before its timestamp is out.
    const pending = { files: groups.flat().map((p) => p.name), after };
    await stateStore.write({ ...state.digests, pending });
  }

  // Everything is signed: now write, in order.
  // Several at a time: on an object store each placement is a few round trips (a release's
  // installers, its channel indexes, a whole batch of releases); all are done before any metadata.
  await eachConcurrently([...gathered.placements], PLACE_CONCURRENCY, ([path, file]) =>
    state.storage.placeTarget(path, file),
  );
  const files: WrittenFile[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    await state.storage.createVersioned(group, state.replaceable);
    for (const p of group) files.push({ name: p.name, bytes: p.bytes.length });
  }
  if (signed) {
    await state.storage.replaceUnversioned(signed.timestamp);
    files.push({ name: signed.timestamp.name, bytes: signed.timestamp.bytes.length });
  }

  await stateStore.write(after);
  const report = {
    files,
    metadataBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    timestampVersion: after.timestamp.version,
    snapshotVersion: after.snapshot.version,
  };
  return report;
}

/** What the repository is once this commit is done, for the trusted-state record. */
function publishedAfter(
  state: RepositoryState,
  root: (Prepared & { version: number }) | undefined,
  signed: SignedVersions | undefined,
): PublishedState {
  return {
    root: root ? { version: root.version, sha256: sha256Hex(root.bytes) } : state.digests.root,
    timestamp: signed
      ? { version: signed.timestampVersion, sha256: sha256Hex(signed.timestamp.bytes) }
      : state.digests.timestamp,
    snapshot: signed?.snapshot
      ? { version: signed.snapshotMeta.version, sha256: sha256Hex(signed.snapshot.bytes) }
      : state.digests.snapshot,
  };
}
