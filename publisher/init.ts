/**
 * `repo init`: the key ceremony and the first version of every role. Root keys (t of n), one
 * key each for targets, snapshot, timestamp and (with hashed bins) bins; root 1 with consistent
 * snapshots, signed here; then empty targets (delegating to empty bins), snapshot 1 and
 * timestamp 1 through the one publish transaction (transaction.ts), starting from an empty
 * repository (version 0 of everything but root).
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageError, ValueError } from '../updater/core/errors.js';
import { describeError, errorCode } from '../updater/node-io/error-code.js';
import type { PublicKey, Signer } from '../updater/core/keys.js';
import { Metadata, MetaFile, Root, Snapshot, Targets, Timestamp } from '../updater/core/metadata.js';
import { Role, TOP_LEVEL_ROLES, type TopLevelRole } from '../updater/core/roles.js';
import { binNames, binsDelegation } from './bins.js';
import { lifetimesWith, writeConfig, type Lifetimes, type ManagedRole, type RepositoryConfig } from './config.js';
import { isInside, metadataFileName, repositoryPaths, type RepositoryPaths } from './layout.js';
import { KeyDirectory, KeyRing, validateKeyAlgorithm, type KeyEntry } from './keystore.js';
import { nowOf } from './options.js';
import { RepositoryState } from './repository.js';
import { expiryAfter, signAndSerialize } from './role-files.js';
import { DiskStorage, withRepositoryLock } from './storage.js';
import { RepositoryEdit, runEdit } from './transaction.js';
import { fileStateStore, sha256Hex, stateFilePath } from './trusted-state.js';

export interface InitOptions {
  repo: string;
  /** Where the generated private keys go (must not be inside the repository). */
  keys: string;
  /** Number of root keys (default 1) and how many must sign a new root (default 1). */
  rootKeys?: number;
  rootThreshold?: number;
  /** ed25519 (default), ecdsa-p256, ecdsa-p384 or rsa-pss. */
  keyType?: string;
  /** Lifetime in days per role (root, targets, snapshot, timestamp, bins). */
  expires?: Partial<Record<string, number>>;
  /** Number of hashed bins (a power of two), or 0 for none (default). */
  bins?: number;
  now?: Date;
  /** The publisher's record of what it published (see trusted-state.ts). */
  stateFile?: string;
}

export interface InitResult {
  repo: string;
  /** The root to ship inside the app. */
  trustedRoot: string;
  keys: Array<{ role: ManagedRole; keyid: string; file: string }>;
  /** Key files to move to offline storage (root). */
  offline: string[];
  /** Key files the publishing machine or CI needs (as files or ELECTRON_TUF_<ROLE>_KEY secrets). */
  online: string[];
  bins: number;
  lifetimes: Lifetimes;
}

const MAX_ROOT_KEYS = 32;

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ValueError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export async function initRepository(options: InitOptions): Promise<InitResult> {
  const paths = repositoryPaths(options.repo);
  const rootKeys = checkCount('the number of root keys', options.rootKeys ?? 1, 1, MAX_ROOT_KEYS);
  const rootThreshold = checkCount('the root threshold', options.rootThreshold ?? 1, 1, rootKeys);
  const alg = validateKeyAlgorithm(options.keyType ?? 'ed25519');
  const lifetimes = lifetimesWith(options.expires ?? {});
  const binCount = options.bins ?? 0;
  if (binCount !== 0) binsDelegation({}, 1, binCount); // validates the count
  const now = nowOf(options);
  if (!options.keys) throw new ValueError('a keys directory is required');
  const keysDir = resolve(options.keys);
  if (isInside(paths.root, keysDir))
    throw new ValueError(`the keys directory ${keysDir} must not be inside the repository ${paths.root}`);
  if (isInside(keysDir, paths.root))
    throw new ValueError(`the repository ${paths.root} must not be inside the keys directory ${keysDir}`);
  const keyDir = await KeyDirectory.open(keysDir);
  if (keyDir.list().length > 0)
    throw new ValueError(`${keysDir} already holds keys (keys.json); use a new, empty keys directory`);
  await mkdir(paths.root, { recursive: true });

  return withRepositoryLock(paths, async () => {
    const existing = await readdir(paths.metadata).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return []; // a new repository
      throw new StorageError(`cannot list ${paths.metadata}: ${describeError(error)}`, { cause: error });
    });
    if (existing.length > 0)
      throw new ValueError(`${paths.metadata} is not empty: ${paths.root} already holds a repository`);
    const generated: KeyEntry[] = [];
    const generate = async (role: ManagedRole, count: number): Promise<KeyEntry[]> => {
      const made: KeyEntry[] = [];
      for (let i = 0; i < count; i++) made.push(await keyDir.generate(role, alg));
      generated.push(...made);
      return made;
    };
    const roleKeys: Record<TopLevelRole, KeyEntry[]> = {
      root: await generate('root', rootKeys),
      targets: await generate('targets', 1),
      snapshot: await generate('snapshot', 1),
      timestamp: await generate('timestamp', 1),
    };
    const binKeys = binCount ? await generate('bins', 1) : [];

    const ring = new KeyRing({ keysDir });
    const signersOf = async (role: ManagedRole, entries: KeyEntry[], threshold = 1): Promise<Signer[]> =>
      ring.forThreshold(role, { keyids: entries.map((e) => e.keyid), threshold, keys: keyTable(entries) });

    const root = new Metadata(
      new Root(
        { version: 1, expires: expiryAfter(now, lifetimes.root) },
        keyTable(Object.values(roleKeys).flat()),
        Object.fromEntries(
          TOP_LEVEL_ROLES.map((r) => [
            r,
            new Role(
              roleKeys[r].map((e) => e.keyid),
              r === 'root' ? rootThreshold : 1,
            ),
          ]),
        ) as Record<TopLevelRole, Role>,
        true,
      ),
    );
    const rootBytes = await signAndSerialize(
      root,
      await signersOf('root', roleKeys.root, rootThreshold),
      '1.root.json',
    );
    const targets = new Metadata(
      new Targets(
        { version: 1, expires: expiryAfter(now, lifetimes.targets) },
        new Map(),
        binCount ? binsDelegation(keyTable(binKeys), 1, binCount) : undefined,
      ),
    );

    await mkdir(paths.metadata, { recursive: true });
    await mkdir(paths.targets, { recursive: true });
    await writeConfig(paths, { lifetimes });
    const state = emptyRepository(paths, { lifetimes }, Metadata.fromBytes(rootBytes, 'root'), rootBytes, targets, now);
    await runEdit(new RepositoryEdit(state, ring, now), fileStateStore(stateFilePath(paths, options)), (edit) => {
      edit.publishRoot(1, rootBytes);
      edit.targets.put('targets', targets);
      for (const name of binNames(targets.signed)) {
        edit.targets.put(
          name,
          new Metadata(new Targets({ version: 1, expires: expiryAfter(now, lifetimes.bins) }, new Map())),
        );
      }
      edit.resignSnapshot();
    });
    const rootFile = { name: metadataFileName('root', 1) };
    const fileOf = (e: KeyEntry): string => join(keysDir, e.file);
    return {
      repo: paths.root,
      trustedRoot: join(paths.metadata, rootFile.name),
      keys: generated.map((e) => ({ role: e.role, keyid: e.keyid, file: fileOf(e) })),
      offline: roleKeys.root.map(fileOf),
      online: generated.filter((e) => e.role !== 'root').map(fileOf),
      bins: binCount,
      lifetimes,
    };
  });
}

function keyTable(entries: KeyEntry[]): Record<string, PublicKey> {
  const out: Record<string, PublicKey> = {};
  for (const e of entries) out[e.keyid] = e.publicKey;
  return out;
}

/** A repository with root 1 and nothing else yet: version 0 of snapshot and timestamp, `targets` unsigned. */
function emptyRepository(
  paths: RepositoryPaths,
  config: RepositoryConfig,
  root: Metadata<Root>,
  rootBytes: Uint8Array,
  targets: Metadata<Targets>,
  now: Date,
): RepositoryState {
  const expires = expiryAfter(now, 1);
  const timestamp = new Metadata(new Timestamp({ version: 0, expires }, new MetaFile(0)));
  const snapshot = new Metadata(new Snapshot({ version: 0, expires }, new Map()));
  const none = { version: 0, sha256: '' };
  const digests = { root: { version: 1, sha256: sha256Hex(rootBytes) }, timestamp: none, snapshot: none };
  return new RepositoryState(
    paths,
    config,
    new DiskStorage(paths),
    root,
    undefined,
    timestamp,
    snapshot,
    targets,
    new Set(),
    digests,
  );
}
