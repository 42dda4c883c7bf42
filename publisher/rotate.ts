/**
 * `repo rotate`: add or remove keys of a role and change its threshold.
 *
 * - root, targets, snapshot, timestamp: their keys are listed in root, so the change is a new
 *   root version, staged (see staged-root.ts) and signed by every root key at hand; it is published
 *   at once if both root thresholds are met, otherwise when `repo sign` completes them. Changes
 *   made while a root is staged accumulate in it. With no key change, `--role root` simply
 *   re-signs root with a fresh expiry.
 * - bins: their keys are listed in targets' succinct delegation; targets (signed by the targets
 *   keys) and every bin (signed by the new bin keys) are re-signed and published at once.
 */
import { ValueError } from '../updater/core/errors.js';
import type { PublicKey } from '../updater/core/keys.js';
import type { Root } from '../updater/core/metadata.js';
import { Delegations, SuccinctRoles } from '../updater/core/delegations.js';
import { Role, TOP_LEVEL_ROLES } from '../updater/core/roles.js';
import { isManagedRole, lifetimesWith, writeConfig, type ManagedRole } from './config.js';
import { KeyDirectory, readPublicKeyFile, validateKeyAlgorithm } from './keystore.js';
import { computeKeyId } from '../updater/core/keys.js';
import { pathsFor } from './options.js';
import { expiryAfter } from './role-files.js';
import { diskStagedRootStore, type StagedRootStore } from './staged-root-store.js';
import {
  loadStagedRoot,
  publishStagedRoot,
  signWithAvailableRootKeys,
  stagedStatus,
  writeStagedRoot,
  type PublishedRoot,
  type StagedStatus,
} from './staged-root.js';
import { editRepository, type PublishReport, type RepositoryEdit, type TransactionOptions } from './transaction.js';

export interface RotateOptions extends TransactionOptions {
  role: string;
  /** Files holding TUF public keys (JSON, as `repo keygen` writes) to add. */
  addKeyFiles?: string[];
  /** Public keys to add (library callers, e.g. a KMS key). */
  addPublicKeys?: PublicKey[];
  /** Generate this many new keys into the keys directory and add them. */
  generate?: number;
  keyType?: string;
  /** Key ids, or unique prefixes of at least 8 hex digits, to remove. */
  removeKeys?: string[];
  threshold?: number;
  /** Root only: days the new root is valid (also becomes the root lifetime setting). */
  expiresDays?: number;
}

export interface RotateResult {
  role: ManagedRole;
  keyids: string[];
  threshold: number;
  generated: Array<{ keyid: string; file: string }>;
  /** Top-level roles: the staged root after this change. */
  staged?: StagedStatus;
  /** Set when the change was published. */
  published?: PublishedRoot | { publish: PublishReport };
}

interface KeyChange {
  add: PublicKey[];
  remove: string[];
  threshold?: number;
}

export async function rotateKeys(options: RotateOptions): Promise<RotateResult> {
  if (!isManagedRole(options.role)) throw new ValueError(`unknown role ${JSON.stringify(options.role)}`);
  const role = options.role;
  const paths = await pathsFor(options);
  const store = options.stagedStore ?? diskStagedRootStore(paths);
  if (options.threshold !== undefined && !(Number.isInteger(options.threshold) && options.threshold >= 1)) {
    throw new ValueError(`threshold must be a positive integer, got ${options.threshold}`);
  }
  const generateCount = options.generate ?? 0;
  if (!Number.isInteger(generateCount) || generateCount < 0 || generateCount > 32)
    throw new ValueError('generate: 0 to 32 keys');
  if (generateCount > 0 && !options.keys) throw new ValueError('generating keys needs a keys directory (--keys)');
  if (options.expiresDays !== undefined && role !== 'root')
    throw new ValueError('--expires applies to --role root only');
  const added = [...(options.addPublicKeys ?? [])];
  for (const file of options.addKeyFiles ?? []) added.push(await readPublicKeyFile(file));

  // No expiry check for top-level roles: a new root is exactly how an expired one is replaced
  // (clients only require the final root of the chain to be valid, 5.3.10).
  const { value, publish } = await editRepository({ ...options, requireValidRoot: false }, async (edit) => {
    const generated: RotateResult['generated'] = [];
    if (generateCount > 0) {
      const dir = await KeyDirectory.open(options.keys!);
      const alg = validateKeyAlgorithm(options.keyType ?? 'ed25519');
      for (let i = 0; i < generateCount; i++) {
        const entry = await dir.generate(role, alg);
        added.push(entry.publicKey);
        generated.push({ keyid: entry.keyid, file: `${dir.dir}/${entry.file}` });
      }
    }
    const change: KeyChange = { add: added, remove: options.removeKeys ?? [], threshold: options.threshold };
    if (role === 'bins') return rotateBins(edit, change, generated);
    if (options.expiresDays !== undefined) {
      const config = {
        ...edit.state.config,
        lifetimes: lifetimesWith({ root: options.expiresDays }, edit.state.config.lifetimes),
      };
      // Settings kept elsewhere (a service's database) are saved there, never in a worker's directory.
      await (options.saveConfig ? options.saveConfig(config) : writeConfig(paths, config));
      (edit.state.config.lifetimes as Record<string, number>).root = config.lifetimes.root;
    }
    return rotateTopLevel(edit, store, role, change, generated);
  });
  if (value.published && 'rootVersion' in value.published) {
    await store.discard(); // only now: until the new root is out, the collected signatures matter
    if (publish) value.published.publish = publish;
  } else if (role === 'bins' && publish) {
    value.published = { publish };
  }
  return value;
}

/** The new key ids of a role after `change`, checked: known removals, a reachable threshold. */
function applyChange(
  role: string,
  keyids: readonly string[],
  threshold: number,
  change: KeyChange,
): { keyids: string[]; threshold: number } {
  const result = [...keyids];
  for (const key of change.add) {
    const id = computeKeyId(key);
    if (!result.includes(id)) result.push(id);
  }
  for (const prefix of change.remove) {
    if (!/^[0-9a-f]{8,}$/.test(prefix))
      throw new ValueError(`remove: ${JSON.stringify(prefix)} is not a key id (8 or more hex digits)`);
    const matches = result.filter((k) => k.startsWith(prefix));
    if (matches.length !== 1) throw new ValueError(`remove: ${prefix} matches ${matches.length} ${role} keys`);
    result.splice(result.indexOf(matches[0]), 1);
  }
  const newThreshold = change.threshold ?? Math.min(threshold, result.length);
  if (result.length === 0) throw new ValueError(`${role} would have no keys left`);
  if (newThreshold > result.length)
    throw new ValueError(`${role} threshold ${newThreshold} is more than its ${result.length} key(s)`);
  return { keyids: result, threshold: Math.max(1, newThreshold) };
}

async function rotateTopLevel(
  edit: RepositoryEdit,
  store: StagedRootStore,
  role: 'root' | 'targets' | 'snapshot' | 'timestamp',
  change: KeyChange,
  generated: RotateResult['generated'],
): Promise<RotateResult> {
  const { state, ring, now } = edit;
  const current = state.root.signed;
  const previous = await loadStagedRoot(store, current);
  // Changes accumulate in a staged root of the next version; a stale one (already superseded) is dropped.
  const base = previous && previous.md.signed.version === current.version + 1 ? previous.md : state.root;
  const md = base.editable();
  const root = md.signed;
  root.version = current.version + 1;
  root.expires = expiryAfter(now, state.config.lifetimes.root);
  const def = root.roles[role];
  const next = applyChange(role, def.keyids, def.threshold, change);
  for (const key of change.add) root.keys[computeKeyId(key)] = key;
  root.roles[role] = new Role(next.keyids, next.threshold, def.unrecognized);
  dropUnusedKeys(root);

  const staged = await writeStagedRoot(store, md);
  await signWithAvailableRootKeys(store, state, staged, ring);
  const result: RotateResult = {
    role,
    keyids: next.keyids,
    threshold: next.threshold,
    generated,
    staged: stagedStatus(current, staged),
  };
  if (result.staged!.ready) {
    result.published = await publishStagedRoot(edit, staged);
  }
  return result;
}

function dropUnusedKeys(root: Root): void {
  const used = new Set(TOP_LEVEL_ROLES.flatMap((r) => root.roles[r].keyids));
  for (const id of Object.keys(root.keys)) if (!used.has(id)) delete root.keys[id];
}

async function rotateBins(
  edit: RepositoryEdit,
  change: KeyChange,
  generated: RotateResult['generated'],
): Promise<RotateResult> {
  const { state, ring, now } = edit;
  state.assertRootValid(now);
  const targets = state.targets.editable();
  const delegations = targets.signed.delegations;
  const succinct = delegations?.succinctRoles;
  if (!delegations || !succinct) throw new ValueError('this repository has no hashed bins');
  const next = applyChange('bins', succinct.keyids, succinct.threshold, change);
  const keys: Record<string, PublicKey> = { ...delegations.keys };
  for (const key of change.add) keys[computeKeyId(key)] = key;
  for (const id of Object.keys(keys)) if (!next.keyids.includes(id)) delete keys[id];
  targets.signed.delegations = new Delegations(
    keys,
    undefined,
    new SuccinctRoles(next.keyids, next.threshold, succinct.bitLength, succinct.namePrefix, succinct.unrecognized),
    delegations.unrecognized,
  );
  edit.useSigners({ bins: await ring.forThreshold('bins', { ...next, keys }, 're-sign the bins with their new keys') });
  edit.targets.put('targets', targets);
  for await (const [name, md] of state.allTargetsRoles()) if (name !== 'targets') edit.targets.put(name, md.editable());
  return { role: 'bins', keyids: next.keyids, threshold: next.threshold, generated }; // published: set once committed
}
