/**
 * The published state of a repository as the publisher reads it: as a client would, from its
 * own last trusted state (trusted-state.ts), and trusting its storage no more than a client does.
 *
 * Reading: `1.root.json`, then each `N.root.json` in turn, each signed by a threshold of the
 * previous root's keys and of its own (5.3.4, 5.3.5); then `timestamp.json` and what it names,
 * checking each hash, length and version link. Every role must be signed by its delegator's
 * keys: a bad signature is an error naming the file, never something to re-sign (whoever can
 * write the storage cannot make the publisher sign their rollback). The one allowance: timestamp,
 * snapshot and targets may carry the keys of the root before the newest one (a rotation whose
 * re-signing was interrupted); they are genuine, and the next publish re-signs them with the new
 * keys. Against the recorded state, versions never go down and a version never changes content
 * (5.4.3, 5.4.4, 5.5.5).
 *
 * Writing is transaction.ts's job alone.
 */
import { createHash } from 'node:crypto';
import { BadVersionNumberError, RepositoryError, ValueError } from '../updater/core/errors.js';
import { verifyLengthAndHashes } from '../updater/core/hashes.js';
import {
  Metadata,
  type MetaFile,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '../updater/core/metadata.js';
import { countSignatures, verifyDelegate } from '../updater/core/verify.js';
import { TrustedMetadataSet } from '../updater/client/trusted-metadata-set.js';
import { binNames, binForPath, succinctBins } from './bins.js';
import { eachConcurrently } from './concurrency.js';
import { readConfig, type ManagedRole, type RepositoryConfig } from './config.js';
import { metadataFileName, repositoryPaths, type RepositoryPaths } from './layout.js';
import type { TrustedKeys } from './keystore.js';
import { SIZE_LIMITS } from './role-files.js';
import { DiskStorage, type RepositoryStorage } from './storage.js';
import { settlePending, type FileRecord, type TrustedState } from './trusted-state.js';

const READ_CONCURRENCY = 16;

/** How a targets role's keys and lifetime are looked up: top-level targets or a bin. */
export function managedRoleOf(roleName: string): 'targets' | 'bins' {
  return roleName === 'targets' ? 'targets' : 'bins';
}

export interface LoadOptions {
  /** Default: the directory `repo`. */
  storage?: RepositoryStorage;
  /** What this publisher last published (and was publishing); versions must not go below it. */
  recorded?: TrustedState;
  /** The settings, when not read from `<repo>/electron-tuf.json`. */
  config?: RepositoryConfig;
}

/** The top-level files as loaded, for the trusted-state record. */
export interface LoadedDigests {
  root: FileRecord;
  timestamp: FileRecord;
  snapshot: FileRecord;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fileError(file: string, e: unknown): RepositoryError {
  const message = e instanceof Error ? e.message : String(e);
  return new RepositoryError(`${file}: ${message}`, { cause: e });
}

export class RepositoryState {
  private readonly delegatedCache = new Map<string, Promise<Metadata<Targets>>>();

  constructor(
    readonly paths: RepositoryPaths,
    readonly config: RepositoryConfig,
    readonly storage: RepositoryStorage,
    readonly root: Metadata<Root>,
    /** The root before `root`, if any (content signed just before a key rotation still loads). */
    readonly previousRoot: Metadata<Root> | undefined,
    readonly timestamp: Metadata<Timestamp>,
    readonly snapshot: Metadata<Snapshot>,
    readonly targets: Metadata<Targets>,
    /** Top-level roles signed by the previous root's keys only: the next publish must re-sign them. */
    readonly staleKeyRoles: ReadonlySet<'timestamp' | 'snapshot' | 'targets'>,
    readonly digests: LoadedDigests,
    /** Versioned files an interrupted publish of ours left unpublished: they may be written again. */
    readonly replaceable: ReadonlySet<string> = new Set(),
  ) {}

  /** Loads the published repository at `repo`; RepositoryError if it is not one, is broken or rolled back. */
  static async load(repo: string, options: LoadOptions = {}): Promise<RepositoryState> {
    const paths = repositoryPaths(repo);
    const storage = options.storage ?? new DiskStorage(paths);
    const config = options.config ?? (await readConfig(paths));
    const tsBytes = await readRequired(storage, metadataFileName('timestamp'), SIZE_LIMITS.timestamp);
    const { trusted, replaceable } = settlePending(options.recorded, sha256(tsBytes));
    const roots = await loadRoots(storage, trusted?.root);
    const stale = new Set<'timestamp' | 'snapshot' | 'targets'>();
    // Signed by the previous root's keys only: genuine but stale after an interrupted rotation.
    // Timestamp and snapshot get that allowance only as the very files this publisher recorded
    // (a rotated-out key may be the compromised one); targets is pinned by snapshot's hash.
    const check = (role: 'timestamp' | 'snapshot' | 'targets', md: Metadata, file: string, digest?: string): void => {
      if (meetsThreshold(roots.root.signed, role, md)) return;
      const recorded = role === 'targets' || (trusted !== undefined && digest === trusted[role].sha256);
      if (roots.previous && recorded && meetsThreshold(roots.previous.signed, role, md)) return void stale.add(role);
      throw new RepositoryError(
        `${file} is not signed by the ${role} keys of root ${roots.root.signed.version}: refusing to build on it ` +
          '(restore the file as published, or find out who wrote it)',
      );
    };

    const timestamp = parse(tsBytes, 'timestamp', 'timestamp.json');
    check('timestamp', timestamp, 'timestamp.json', sha256(tsBytes));
    const snapMeta = timestamp.signed.snapshotMeta;
    if (trusted) checkNotRolledBack('timestamp.json', timestamp.signed.version, sha256(tsBytes), trusted.timestamp);
    if (trusted && snapMeta.version < trusted.snapshot.version) {
      throw new BadVersionNumberError(
        `timestamp.json: snapshot version ${snapMeta.version} is below ${trusted.snapshot.version}, which this publisher published (5.4.4)`,
      );
    }
    const snap = await readLinked(storage, 'snapshot', snapMeta, SIZE_LIMITS.snapshot, 'snapshot');
    check('snapshot', snap.md, metadataFileName('snapshot', snapMeta.version), sha256(snap.bytes));
    if (trusted) await checkSnapshotRollback(storage, snap, trusted.snapshot);
    const targetsMeta = snap.md.signed.roleMeta('targets');
    if (!targetsMeta) throw new RepositoryError(`snapshot version ${snap.md.signed.version} does not list targets`);
    const targets = await readLinked(storage, 'targets', targetsMeta, SIZE_LIMITS.targets, 'targets');
    check('targets', targets.md, metadataFileName('targets', targetsMeta.version));
    const digests: LoadedDigests = {
      root: roots.record,
      timestamp: { version: timestamp.signed.version, sha256: sha256(tsBytes) },
      snapshot: { version: snap.md.signed.version, sha256: sha256(snap.bytes) },
    };
    return new RepositoryState(
      paths,
      config,
      storage,
      roots.root,
      roots.previous,
      timestamp,
      snap.md,
      targets.md,
      stale,
      digests,
      replaceable,
    );
  }

  /** Bin names (empty without hashed bins). */
  get binNames(): string[] {
    return binNames(this.targets.signed);
  }

  get hasBins(): boolean {
    return succinctBins(this.targets.signed) !== undefined;
  }

  /** The targets role that must list `path`. */
  roleFor(path: string): string {
    return binForPath(this.targets.signed, path);
  }

  /** Published metadata of a targets role: top-level or a bin, checked against snapshot and targets. */
  async targetsRole(name: string): Promise<Metadata<Targets>> {
    if (name === 'targets') return this.targets;
    let loaded = this.delegatedCache.get(name);
    if (!loaded) {
      loaded = this.loadDelegated(name);
      this.delegatedCache.set(name, loaded);
    }
    return loaded;
  }

  private async loadDelegated(name: string): Promise<Metadata<Targets>> {
    const meta = this.snapshot.signed.roleMeta(name);
    if (!meta) throw new RepositoryError(`snapshot does not list ${name}`);
    const { md } = await readLinked(this.storage, name, meta, SIZE_LIMITS.targets, 'targets');
    try {
      verifyDelegate(this.targets.signed, name, md);
    } catch (e) {
      throw fileError(metadataFileName(name, meta.version), e);
    }
    return md;
  }

  /** Loads the given targets roles, several files at a time (a bulk change touching thousands of bins). */
  async preload(names: Iterable<string>): Promise<void> {
    const pending = [...new Set(names)].filter((n) => n !== 'targets' && !this.delegatedCache.has(n));
    await eachConcurrently(pending, READ_CONCURRENCY, async (name) => void (await this.targetsRole(name)));
  }

  /** Every targets role, top-level first, loading bins a few at a time. */
  async *allTargetsRoles(): AsyncGenerator<[string, Metadata<Targets>]> {
    yield ['targets', this.targets];
    const names = this.binNames;
    for (let i = 0; i < names.length; i += READ_CONCURRENCY) {
      const batch = names.slice(i, i + READ_CONCURRENCY);
      const loaded = await Promise.all(batch.map((n) => this.targetsRole(n)));
      for (let j = 0; j < batch.length; j++) {
        yield [batch[j], loaded[j]];
        this.delegatedCache.delete(batch[j]); // a full scan must not keep 16,384 bins in memory
      }
    }
  }

  /** Keys and threshold trusted for a managed role (bins: from targets' succinct delegation). */
  trustedKeys(role: ManagedRole): TrustedKeys {
    if (role === 'bins') {
      const succinct = succinctBins(this.targets.signed);
      if (!succinct) throw new ValueError('this repository has no hashed bins');
      return { keyids: succinct.keyids, threshold: succinct.threshold, keys: this.targets.signed.keys };
    }
    const def = this.root.signed.roles[role];
    return { keyids: def.keyids, threshold: def.threshold, keys: this.root.signed.keys };
  }

  /** Throws ValueError when root has expired: nothing can be published until it is re-signed. */
  assertRootValid(now: Date): void {
    if (this.root.signed.isExpired(now)) {
      throw new ValueError(
        `root version ${this.root.signed.version} expired at ${this.root.signed.expires}: ` +
          'clients refuse the repository until a new root is published (repo rotate --role root)',
      );
    }
  }
}

function meetsThreshold(delegator: Root, role: string, md: Metadata): boolean {
  const def = delegator.getRole(role);
  return def !== undefined && countSignatures(def, delegator.keys, md).signedBy.length >= def.threshold;
}

/** 5.4.3 / 5.5.5 against this publisher's record: never below it, and the same content at its version. */
function checkNotRolledBack(file: string, version: number, digest: string, record: FileRecord): void {
  if (version < record.version) {
    throw new BadVersionNumberError(
      `${file}: version ${version} is below version ${record.version}, which this publisher published: a rollback`,
    );
  }
  if (version === record.version && digest !== record.sha256) {
    throw new RepositoryError(
      `${file}: version ${version} is not the file this publisher published under that version`,
    );
  }
}

/**
 * 5.5.5: a snapshot newer than the one this publisher last wrote must not take any targets role
 * below (or out of) what that one listed. The older snapshot is read back by its recorded hash.
 */
async function checkSnapshotRollback(
  storage: RepositoryStorage,
  snap: Linked<Snapshot>,
  record: FileRecord,
): Promise<void> {
  const file = metadataFileName('snapshot', snap.md.signed.version);
  checkNotRolledBack(file, snap.md.signed.version, sha256(snap.bytes), record);
  if (snap.md.signed.version === record.version) return;
  const oldFile = metadataFileName('snapshot', record.version);
  const oldBytes = await storage.readMetadata(oldFile, SIZE_LIMITS.snapshot).catch((e: unknown) => {
    throw fileError(oldFile, e);
  });
  if (!oldBytes || sha256(oldBytes) !== record.sha256) {
    throw new RepositoryError(
      `${oldFile}, which this publisher published, is ${oldBytes ? 'not as published' : 'missing'}: cannot check ${file} for a rollback`,
    );
  }
  const old = parse(oldBytes, 'snapshot', oldFile);
  for (const [name, meta] of old.signed.meta) {
    const now = snap.md.signed.meta.get(name);
    if (!now) throw new BadVersionNumberError(`${file} no longer lists ${name} (5.5.5)`);
    if (now.version < meta.version) {
      throw new BadVersionNumberError(
        `${file} rolls ${name} back from version ${meta.version} to ${now.version} (5.5.5): refusing to build on it`,
      );
    }
  }
}

interface LoadedRoots {
  root: Metadata<Root>;
  previous?: Metadata<Root>;
  record: FileRecord;
}

/**
 * 5.3: `1.root.json` signed by its own keys, then each `N.root.json` while they exist, signed
 * by the previous root's keys and its own, with version N. The recorded root must be on the
 * chain with its recorded content.
 */
async function loadRoots(storage: RepositoryStorage, recorded: FileRecord | undefined): Promise<LoadedRoots> {
  const first = metadataFileName('root', 1);
  const firstBytes = await storage.readMetadata(first, SIZE_LIMITS.root).catch((e: unknown) => {
    throw fileError(first, e);
  });
  if (!firstBytes)
    throw new RepositoryError(`${storage.location}/1.root.json is missing: not a repository (run repo init)`);
  let set: TrustedMetadataSet;
  try {
    set = new TrustedMetadataSet(firstBytes);
  } catch (e) {
    throw fileError(first, e);
  }
  let previous: Metadata<Root> | undefined;
  let record: FileRecord = { version: 1, sha256: sha256(firstBytes) };
  const checkRecorded = (): void => {
    if (recorded && record.version === recorded.version && record.sha256 !== recorded.sha256) {
      throw new RepositoryError(
        `${metadataFileName('root', record.version)} is not the root this publisher trusted at that version`,
      );
    }
  };
  checkRecorded();
  for (let version = 2; ; version++) {
    const file = metadataFileName('root', version);
    const bytes = await storage.readMetadata(file, SIZE_LIMITS.root).catch((e: unknown) => {
      throw fileError(file, e);
    });
    if (!bytes) break;
    const before = set.root;
    try {
      set.updateRoot(bytes);
    } catch (e) {
      throw fileError(file, e);
    }
    previous = before;
    record = { version, sha256: sha256(bytes) };
    checkRecorded();
  }
  if (recorded && record.version < recorded.version) {
    throw new BadVersionNumberError(
      `root version ${record.version} is below version ${recorded.version}, which this publisher trusted: ${metadataFileName('root', recorded.version)} is missing`,
    );
  }
  return { root: set.root, previous, record };
}

function parse<R extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(bytes: Uint8Array, type: R, file: string) {
  try {
    return Metadata.fromBytes(bytes, type);
  } catch (e) {
    throw fileError(file, e);
  }
}

async function readRequired(storage: RepositoryStorage, file: string, maxBytes: number): Promise<Uint8Array> {
  const bytes = await storage.readMetadata(file, maxBytes).catch((e: unknown) => {
    throw fileError(file, e);
  });
  if (!bytes) throw new RepositoryError(`${file} is missing from ${storage.location}`);
  return bytes;
}

interface Linked<S extends Snapshot | Targets> {
  md: Metadata<S>;
  bytes: Uint8Array;
}

/** Metadata a MetaFile points at: its version's file, with the length, hashes and version it names. */
async function readLinked<R extends 'snapshot' | 'targets'>(
  storage: RepositoryStorage,
  role: string,
  meta: MetaFile,
  limit: number,
  type: R,
): Promise<Linked<Extract<Snapshot | Targets, { type: R }>>> {
  const file = metadataFileName(role, meta.version);
  const bytes = await readRequired(storage, file, meta.length ?? limit);
  try {
    verifyLengthAndHashes(bytes, meta.length, meta.hashes, file);
  } catch (e) {
    throw new RepositoryError((e as Error).message, { cause: e });
  }
  const md = parse(bytes, type, file) as Metadata<Extract<Snapshot | Targets, { type: R }>>;
  if (md.signed.version !== meta.version) throw new RepositoryError(`${file} holds version ${md.signed.version}`);
  return { md, bytes };
}
