/**
 * The published state of a repository as the publisher reads it, and the one way new metadata
 * is written.
 *
 * Reading: the newest `N.root.json`, then `timestamp.json` and what it names, checking each
 * hash, length and version link like a client would. Content roles (targets and bins) must be
 * signed by their delegator's keys, so the publisher never re-signs something it did not sign;
 * timestamp and snapshot only carry pointers, and a bad signature on them is recorded
 * (`unsignedRoles`) for `refresh` to repair instead of making the repository unrecoverable.
 *
 * Writing (`publish`): changed targets roles get version + 1, then a new snapshot, then a new
 * timestamp, written in that order, each file by atomic rename: target files first (by the
 * caller), delegated bins, targets, snapshot, timestamp last. Until timestamp.json is replaced a
 * client sees only the previous repository, and everything the new timestamp names exists
 * before it does; so a publish killed at any point leaves the previous repository valid.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, StorageError, ValueError } from '../updater/core/errors.js';
import { digest, verifyLengthAndHashes } from '../updater/core/hashes.js';
import type { Signer } from '../updater/core/keys.js';
import { formatExpires, Metadata, MetaFile, type Root, type Snapshot, type Targets, Timestamp } from '../updater/core/metadata.js';
import { countSignatures, verifyDelegate } from '../updater/core/verify.js';
import { errorCode, fsyncDirectory, readFileBounded, tempPathBeside, withLock } from '../updater/node-io/index.js';
import { DEFAULT_CONFIG } from '../updater/client/updater.js';
import { binNames, binForPath, succinctBins } from './bins.js';
import { DAY_MS, readConfig, type ManagedRole, type RepositoryConfig } from './config.js';
import { metadataFileName, repositoryPaths, type RepositoryPaths } from './layout.js';
import type { TrustedKeys } from './keystore.js';
import { cleanIncoming, isAlive } from './target-store.js';

/** The client's size limits (updater DEFAULT_CONFIG): nothing we publish may exceed them. */
export const SIZE_LIMITS = {
  root: DEFAULT_CONFIG.rootMaxLength,
  timestamp: DEFAULT_CONFIG.timestampMaxLength,
  snapshot: DEFAULT_CONFIG.snapshotMaxLength,
  targets: DEFAULT_CONFIG.targetsMaxLength,
} as const;

/**
 * Above this many bins, snapshot lists only version and length per bin and is written compact:
 * with hashes, 16,384 entries would come close to the client's 2,000,000-byte snapshot limit.
 * Versions are what the spec requires (4.4); the length still bounds each bin download.
 */
export const SNAPSHOT_HASHES_MAX_ROLES = 4096;
const WRITE_CONCURRENCY = 32;
const READ_CONCURRENCY = 16;
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/** How a targets role's keys and lifetime are looked up: top-level targets or a bin. */
export function managedRoleOf(roleName: string): ManagedRole {
  return roleName === 'targets' ? 'targets' : 'bins';
}

export class RepositoryState {
  private readonly delegatedCache = new Map<string, Promise<Metadata<Targets>>>();

  constructor(
    readonly paths: RepositoryPaths,
    readonly config: RepositoryConfig,
    readonly root: Metadata<Root>,
    /** The root before `root`, if any (content signed just before a key rotation still loads). */
    readonly previousRoot: Metadata<Root> | undefined,
    readonly timestamp: Metadata<Timestamp>,
    readonly snapshot: Metadata<Snapshot>,
    readonly targets: Metadata<Targets>,
    /** Timestamp or snapshot whose signatures do not meet the current root's threshold. */
    readonly unsignedRoles: ReadonlySet<'timestamp' | 'snapshot'>,
  ) {}

  /** Loads the published repository at `repo`; RepositoryError if it is not one or is broken. */
  static async load(repo: string): Promise<RepositoryState> {
    const paths = repositoryPaths(repo);
    const config = await readConfig(paths);
    const { root, previous } = await loadRoots(paths);
    const unsigned = new Set<'timestamp' | 'snapshot'>();
    const timestamp = await readMetadata(paths, 'timestamp', undefined, SIZE_LIMITS.timestamp, 'timestamp');
    if (!meetsThreshold(root.signed, 'timestamp', timestamp)) unsigned.add('timestamp');
    const snapMeta = timestamp.signed.snapshotMeta;
    const snapshot = await readLinked(paths, 'snapshot', snapMeta, SIZE_LIMITS.snapshot, 'snapshot');
    if (!meetsThreshold(root.signed, 'snapshot', snapshot)) unsigned.add('snapshot');
    const targetsMeta = snapshot.signed.roleMeta('targets');
    if (!targetsMeta) throw new RepositoryError(`snapshot version ${snapshot.signed.version} does not list targets`);
    const targets = await readLinked(paths, 'targets', targetsMeta, SIZE_LIMITS.targets, 'targets');
    if (!meetsThreshold(root.signed, 'targets', targets) && !(previous && meetsThreshold(previous.signed, 'targets', targets))) {
      throw new RepositoryError(`targets version ${targets.signed.version} is not signed by the targets keys of root ${root.signed.version}`);
    }
    return new RepositoryState(paths, config, root, previous, timestamp, snapshot, targets, unsigned);
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
    const md = await readLinked(this.paths, name, meta, SIZE_LIMITS.targets, 'targets');
    try {
      verifyDelegate(this.targets.signed, name, md);
    } catch (e) {
      throw new RepositoryError(`${metadataFileName(name, meta.version)}: ${(e as Error).message}`);
    }
    return md;
  }

  /** Loads the given targets roles, several files at a time (a bulk change touching thousands of bins). */
  async preload(names: Iterable<string>): Promise<void> {
    const pending = [...new Set(names)].filter((n) => n !== 'targets' && !this.delegatedCache.has(n));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length) await this.targetsRole(pending[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, pending.length) }, worker));
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

/** The newest root `N.root.json` (N = 1, 2, ... while they exist), self-signed, and the one before. */
async function loadRoots(paths: RepositoryPaths): Promise<{ root: Metadata<Root>; previous?: Metadata<Root> }> {
  let previous: Metadata<Root> | undefined;
  let current: Metadata<Root> | undefined;
  for (let version = 1; ; version++) {
    const bytes = await readFileBounded(join(paths.metadata, metadataFileName('root', version)), SIZE_LIMITS.root);
    if (!bytes) break;
    previous = current;
    current = parse(bytes, 'root', metadataFileName('root', version));
    if (current.signed.version !== version) throw new RepositoryError(`${version}.root.json holds root version ${current.signed.version}`);
  }
  if (!current) throw new RepositoryError(`${paths.root} is not a repository: ${paths.metadata}/1.root.json is missing (run repo init)`);
  if (!meetsThreshold(current.signed, 'root', current)) {
    throw new RepositoryError(`root version ${current.signed.version} is not signed by a threshold of its own keys`);
  }
  return { root: current, previous };
}

function parse<R extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(bytes: Uint8Array, type: R, file: string) {
  try {
    return Metadata.fromBytes(bytes, type);
  } catch (e) {
    throw new RepositoryError(`${file}: ${(e as Error).message}`);
  }
}

async function readMetadata<R extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(
  paths: RepositoryPaths,
  role: string,
  version: number | undefined,
  maxBytes: number,
  type: R,
) {
  const file = metadataFileName(role, version);
  const bytes = await readFileBounded(join(paths.metadata, file), maxBytes).catch((e: unknown) => {
    throw new RepositoryError(`${file}: ${(e as Error).message}`);
  });
  if (!bytes) throw new RepositoryError(`${file} is missing from ${paths.metadata}`);
  return parse(bytes, type, file);
}

/** Metadata a MetaFile points at: its version's file, with the length, hashes and version it names. */
async function readLinked<R extends 'snapshot' | 'targets'>(
  paths: RepositoryPaths,
  role: string,
  meta: MetaFile,
  limit: number,
  type: R,
): Promise<Metadata<Extract<Snapshot | Targets, { type: R }>>> {
  const file = metadataFileName(role, meta.version);
  const bytes = await readFileBounded(join(paths.metadata, file), meta.length ?? limit).catch((e: unknown) => {
    throw new RepositoryError(`${file}: ${(e as Error).message}`);
  });
  if (!bytes) throw new RepositoryError(`${file} is missing from ${paths.metadata}`);
  try {
    verifyLengthAndHashes(bytes, meta.length, meta.hashes, file);
  } catch (e) {
    throw new RepositoryError((e as Error).message);
  }
  const md = parse(bytes, type, file) as Metadata<Extract<Snapshot | Targets, { type: R }>>;
  if (md.signed.version !== meta.version) throw new RepositoryError(`${file} holds version ${md.signed.version}`);
  return md;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface PublishSigners {
  targets?: Signer[];
  bins?: Signer[];
  snapshot?: Signer[];
  timestamp: Signer[];
  root?: Signer[];
}

export interface PublishOptions {
  /** Targets roles with new content (editable copies); each gets version + 1. */
  changed?: Map<string, Metadata<Targets>>;
  /** Re-sign snapshot even when no targets role changed (implied when one did). */
  snapshot?: boolean;
  signers: PublishSigners;
  now: Date;
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

export interface Prepared {
  name: string;
  bytes: Buffer;
}

/**
 * Expiry `days` after `now`, rounded up to the second (the format has no fractions): rounding
 * up means nothing is ever written already expired, however short its lifetime.
 */
export function expiryAfter(now: Date, days: number): string {
  return formatExpires(new Date(Math.ceil((now.getTime() + days * DAY_MS + 1) / 1000) * 1000));
}

/** File bytes of metadata: python-tuf's indented form, compact for very large snapshots. */
function serialize(md: Metadata, compact = false): Buffer {
  return md.toBytes(compact ? 0 : 1);
}

function checkSize(name: string, bytes: Buffer, limit: number): void {
  if (bytes.length > limit) {
    throw new ValueError(
      `${name} would be ${bytes.length} bytes, above the ${limit}-byte limit clients accept` +
        (limit === SIZE_LIMITS.targets ? ': use (more) hashed bins' : ''),
    );
  }
}

/**
 * Signs `md` (replacing its signatures) by every signer given and returns its file bytes,
 * refusing anything larger than clients accept for its type.
 */
export async function signAndSerialize(md: Metadata, signers: Signer[] | undefined, file: string): Promise<Buffer> {
  if (!signers || signers.length === 0) throw new ValueError(`no signer for ${file}`);
  md.signatures.clear();
  for (const signer of signers) await md.sign(signer);
  const compact = md.signed.type === 'snapshot' && md.signed.meta.size > SNAPSHOT_HASHES_MAX_ROLES;
  const bytes = serialize(md, compact);
  checkSize(file, bytes, SIZE_LIMITS[md.signed.type]);
  return bytes;
}

/** Snapshot's entry for a targets role (4.4): version and length, hashes unless bins are very many. */
export function metaFileFor(role: string, version: number, bytes: Buffer, binCount: number): MetaFile {
  const withHashes = role === 'targets' || binCount <= SNAPSHOT_HASHES_MAX_ROLES;
  return new MetaFile(version, bytes.length, withHashes ? digest(bytes, ['sha256']) : undefined);
}

/** Timestamp's entry for snapshot: always version, length and hash (5.5.2). */
export function snapshotMetaFor(version: number, bytes: Buffer): MetaFile {
  return new MetaFile(version, bytes.length, digest(bytes, ['sha256']));
}

/**
 * Signs and writes the next versions: changed targets roles, snapshot (when anything changed
 * or asked), and always a new timestamp. Everything is signed and size-checked before the
 * first byte is written; then files go out in the safe order.
 */
export async function publish(state: RepositoryState, options: PublishOptions): Promise<PublishReport> {
  const { now, signers } = options;
  const lifetimes = state.config.lifetimes;
  const { delegated, targets, meta } = await prepareTargetsRoles(state, options);

  let snapshot: Prepared | undefined;
  let snapshotMeta = state.timestamp.signed.snapshotMeta;
  if (meta.size > 0 || options.snapshot) {
    const md = state.snapshot.editable();
    for (const [name, m] of meta) md.signed.meta.set(name, m);
    md.signed.version = state.snapshot.signed.version + 1;
    md.signed.expires = expiryAfter(now, lifetimes.snapshot);
    const file = metadataFileName('snapshot', md.signed.version);
    snapshot = { name: file, bytes: await signAndSerialize(md, signers.snapshot, file) };
    snapshotMeta = snapshotMetaFor(md.signed.version, snapshot.bytes);
  }

  const tsVersion = state.timestamp.signed.version + 1;
  const ts = new Metadata(new Timestamp({ version: tsVersion, expires: expiryAfter(now, lifetimes.timestamp) }, snapshotMeta));
  const timestamp: Prepared = { name: metadataFileName('timestamp'), bytes: await signAndSerialize(ts, signers.timestamp, 'timestamp.json') };

  const files = await writeInOrder(state.paths.metadata, [delegated, targets ? [targets] : [], snapshot ? [snapshot] : [], [timestamp]]);
  return {
    files,
    metadataBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    timestampVersion: tsVersion,
    snapshotVersion: snapshotMeta.version,
  };
}

/** The next version of each changed targets role, signed, and its new entry for snapshot. */
async function prepareTargetsRoles(
  state: RepositoryState,
  { changed = new Map(), signers, now }: PublishOptions,
): Promise<{ delegated: Prepared[]; targets?: Prepared; meta: Map<string, MetaFile> }> {
  const binCount = state.binNames.length;
  const delegated: Prepared[] = [];
  let targets: Prepared | undefined;
  const meta = new Map<string, MetaFile>();
  for (const [name, md] of changed) {
    const role = managedRoleOf(name);
    md.signed.version = (state.snapshot.signed.roleMeta(name)?.version ?? 0) + 1;
    md.signed.expires = expiryAfter(now, state.config.lifetimes[role]);
    const file = metadataFileName(name, md.signed.version);
    const bytes = await signAndSerialize(md, signers[role], file);
    meta.set(`${name}.json`, metaFileFor(name, md.signed.version, bytes, binCount));
    if (name === 'targets') targets = { name: file, bytes };
    else delegated.push({ name: file, bytes });
  }
  return { delegated, targets, meta };
}

/** Writes the groups one after another, each durable before the next (which points at it) starts. */
export async function writeInOrder(dir: string, groups: Prepared[][]): Promise<WrittenFile[]> {
  const files: WrittenFile[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    await writeGroup(dir, group);
    for (const p of group) files.push({ name: p.name, bytes: p.bytes.length });
  }
  return files;
}

/**
 * Writes files into one directory, each by temp file + fsync + rename, several at a time, then
 * fsyncs the directory once: when this returns, the whole group is durable, so the next group
 * (which points at it) may go.
 */
export async function writeGroup(dir: string, files: Array<{ name: string; bytes: Uint8Array }>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++];
      await writeDurably(join(dir, file.name), file.bytes);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, files.length) }, worker));
  await fsyncDirectory(dir);
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const temp = tempPathBeside(path);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new StorageError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Temp files (`.<name>.<pid>.<random>.tmp`) that killed writers left in metadata/. */
async function cleanMetadataTemps(paths: RepositoryPaths): Promise<void> {
  let names: string[];
  try {
    names = await readdir(paths.metadata);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new StorageError(`cannot list ${paths.metadata}: ${(error as Error).message}`);
  }
  for (const name of names) {
    const pid = Number(/^\..*\.(\d+)\.[0-9a-f]{16}\.tmp$/.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid)) await unlink(join(paths.metadata, name)).catch(() => undefined);
  }
}

export interface LockSettings {
  /** How long to wait for another command working on the same repository (ms). */
  lockTimeoutMs?: number;
}

/**
 * Runs `fn` holding the repository's lock: concurrent commands run one after another. A holder
 * that died (kill -9) is detected by pid and its lock broken; its leftovers are cleaned first.
 */
export async function withRepositoryLock<T>(paths: RepositoryPaths, fn: () => Promise<T>, settings: LockSettings = {}): Promise<T> {
  return withLock(
    paths.lock,
    async () => {
      await cleanIncoming(paths);
      await cleanMetadataTemps(paths);
      return fn();
    },
    { timeoutMs: settings.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS },
  );
}
