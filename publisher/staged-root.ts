/**
 * Root changes waiting for signatures. A new root N+1 must be signed by a threshold of root N's
 * keys and by a threshold of its own (spec 5.3.4), and root keys belong offline with different
 * people. So the new root is staged, unsigned, in a StagedRootStore (staged-root-store.ts: on disk
 * at `<repo>/staged/root.json`, or in a service's database); each holder signs it on their own
 * machine (`repo sign`), producing a detached signature that is checked and kept beside it.
 * Once both thresholds are met the root is published.
 *
 * Publishing root N+1 writes `N+1.root.json` first; if the root changed the keys of targets,
 * snapshot or timestamp, those are then re-signed by their new keys (new versions), which must
 * be available at that moment.
 */
import { createHash } from 'node:crypto';
import { RepositoryError, StorageError, TufError, ValueError } from '../updater/core/errors.js';
import { verifySignature, type PublicKey, type Signer } from '../updater/core/keys.js';
import { Metadata, type Root } from '../updater/core/metadata.js';
import { TOP_LEVEL_ROLES } from '../updater/core/roles.js';
import { countSignatures, type SignatureCount } from '../updater/core/verify.js';
import { readFileBounded } from '../updater/node-io/index.js';
import { shortKeyId, type KeyRing } from './keystore.js';
import type { RepositoryState } from './repository.js';
import {
  checkKeyId,
  MAX_DETACHED_BYTES,
  parseDetached,
  type DetachedSignature,
  type StagedRootStore,
} from './staged-root-store.js';
import type { PublishReport, PublishSigners, RepositoryEdit } from './transaction.js';

export { detachedBytes, type DetachedSignature } from './staged-root-store.js';

export interface StagedRoot {
  /** The staged root with every valid detached signature attached. */
  md: Metadata<Root>;
  /** Stored detached signatures (files, or rows) that did not verify (stale, or for another staged root). */
  invalid: string[];
}

export interface StagedStatus {
  role: 'root';
  version: number;
  expires: string;
  /** Signatures by keys of the current root (old threshold). */
  current: SignatureCount;
  /** Signatures by the staged root's own keys (new threshold). */
  next: SignatureCount;
  ready: boolean;
  /** Key ids whose signature would help, each once. */
  waitingFor: string[];
  /** Roles whose keys the staged root changes (re-signed when it is published). */
  rotatedRoles: string[];
}

export function signedSha256(md: Metadata): string {
  return createHash('sha256').update(md.signedBytes).digest('hex');
}

/** A root key of the staged root or of the current one (a key being removed still signs for the old threshold). */
function rootKeyOf(staged: Metadata<Root>, current: Root, keyid: string): PublicKey | undefined {
  const own = (root: Root): PublicKey | undefined =>
    root.roles.root.keyids.includes(keyid) ? root.keys[keyid] : undefined;
  return own(staged.signed) ?? own(current);
}

/** The staged root, if any, with its stored signatures (checked against its keys and `current`'s, 5.3.4). */
export async function loadStagedRoot(store: StagedRootStore, current: Root): Promise<StagedRoot | undefined> {
  const loaded = await store.load();
  if (!loaded) return undefined;
  let md: Metadata<Root>;
  try {
    md = Metadata.fromBytes(loaded.bytes, 'root');
  } catch (e) {
    throw new RepositoryError(`${store.where}: ${(e as Error).message}`, { cause: e });
  }
  const invalid: string[] = [];
  const digest = signedSha256(md);
  for (const { where, bytes } of loaded.signatures) {
    try {
      const sig = parseDetached(bytes, where);
      if (sig.signedSha256 !== digest || sig.version !== md.signed.version)
        throw new ValueError('made for another staged root');
      const key = rootKeyOf(md, current, sig.keyid);
      if (!key || !verifySignature(key, sig.sig, md.signedBytes)) throw new ValueError('does not verify');
      md.signatures.set(sig.keyid, { keyid: sig.keyid, sig: sig.sig });
    } catch (e) {
      // A signature that does not parse or verify is reported; anything else is not "invalid".
      if (e instanceof StorageError || !(e instanceof TufError)) throw e;
      invalid.push(where);
    }
  }
  return { md, invalid };
}

/** Reads a detached signature file and checks it belongs to `staged` and verifies. */
export async function readDetachedSignature(
  path: string,
  staged: Metadata<Root>,
  current: Root,
): Promise<DetachedSignature> {
  const bytes = await readFileBounded(path, MAX_DETACHED_BYTES).catch((e: unknown) => {
    throw new ValueError(`cannot read ${path}: ${(e as Error).message}`);
  });
  if (!bytes) throw new ValueError(`no such file: ${path}`);
  const sig = parseDetached(bytes, path);
  if (sig.role !== 'root' || sig.version !== staged.signed.version || sig.signedSha256 !== signedSha256(staged)) {
    throw new ValueError(
      `${path} is a signature for ${sig.role} version ${sig.version}, not for the staged root version ${staged.signed.version}`,
    );
  }
  const key = rootKeyOf(staged, current, sig.keyid);
  if (!key)
    throw new ValueError(
      `${path} is signed by key ${sig.keyid.slice(0, 8)}, which is not a root key of the current or the staged root`,
    );
  if (!verifySignature(key, sig.sig, staged.signedBytes))
    throw new ValueError(`${path}: the signature does not verify`);
  return sig;
}

/** Replaces the staged root (dropping its signatures, which were over other content). */
export async function writeStagedRoot(store: StagedRootStore, md: Metadata<Root>): Promise<Metadata<Root>> {
  const bytes = new Metadata(md.signed, new Map(), md.unrecognized).toBytes();
  const staged = Metadata.fromBytes(bytes, 'root');
  await store.replace(bytes, signedSha256(staged));
  return staged;
}

/** Signs the staged root with `signer` and stores the detached signature beside it. */
export async function signStagedRoot(
  store: StagedRootStore,
  staged: Metadata<Root>,
  signer: Signer,
): Promise<DetachedSignature> {
  const sig = detachedFor(staged, signer.keyid, await signer.sign(staged.signedBytes));
  await storeDetached(store, staged, sig);
  return sig;
}

export function detachedFor(staged: Metadata<Root>, keyid: string, sig: string): DetachedSignature {
  return { role: 'root', version: staged.signed.version, keyid, sig, signedSha256: signedSha256(staged) };
}

/** Keeps a signature already checked against `staged` (readDetachedSignature) and attaches it. */
export async function storeDetached(
  store: StagedRootStore,
  staged: Metadata<Root>,
  sig: DetachedSignature,
): Promise<void> {
  checkKeyId(sig.keyid);
  if (sig.signedSha256 !== signedSha256(staged)) throw new ValueError('the signature is for another staged root');
  await store.addSignature(sig);
  staged.signatures.set(sig.keyid, { keyid: sig.keyid, sig: sig.sig });
}

/** Which roles' keys or thresholds differ between two roots. */
export function rotatedRoles(before: Root, after: Root): string[] {
  return TOP_LEVEL_ROLES.filter((r) => {
    const a = before.roles[r];
    const b = after.roles[r];
    return (
      a.threshold !== b.threshold || a.keyids.length !== b.keyids.length || a.keyids.some((k) => !b.keyids.includes(k))
    );
  });
}

export function stagedStatus(current: Root, staged: Metadata<Root>): StagedStatus {
  const old = countSignatures(current.roles.root, current.keys, staged);
  const next = countSignatures(staged.signed.roles.root, staged.signed.keys, staged);
  const waiting = new Set<string>();
  if (old.signedBy.length < old.threshold) old.missing.forEach((k) => waiting.add(k));
  if (next.signedBy.length < next.threshold) next.missing.forEach((k) => waiting.add(k));
  return {
    role: 'root',
    version: staged.signed.version,
    expires: staged.signed.expires,
    current: old,
    next,
    ready: old.signedBy.length >= old.threshold && next.signedBy.length >= next.threshold,
    waitingFor: [...waiting],
    rotatedRoles: rotatedRoles(current, staged.signed),
  };
}

/** Signs the staged root with every root key the ring holds (of the current or the new root). */
export async function signWithAvailableRootKeys(
  store: StagedRootStore,
  state: RepositoryState,
  staged: Metadata<Root>,
  ring: KeyRing,
): Promise<string[]> {
  const current = state.trustedKeys('root');
  const next = {
    keyids: staged.signed.roles.root.keyids,
    threshold: staged.signed.roles.root.threshold,
    keys: staged.signed.keys,
  };
  const signed: string[] = [];
  for (const signer of [...(await ring.available('root', current)), ...(await ring.available('root', next))]) {
    if (staged.signatures.has(signer.keyid)) continue;
    await signStagedRoot(store, staged, signer);
    signed.push(signer.keyid);
  }
  return signed;
}

export interface PublishedRoot {
  rootVersion: number;
  /** Roles re-signed because their keys changed. */
  resigned: string[];
  publish?: PublishReport;
}

/**
 * Publishes the staged root in `edit`'s transaction if both thresholds are met; the roles whose
 * keys it changed are re-signed there with their new keys (resolved before anything is written).
 * The caller discards the staged root once the transaction has committed.
 */
export async function publishStagedRoot(edit: RepositoryEdit, staged: Metadata<Root>): Promise<PublishedRoot> {
  const { state, ring, now } = edit;
  const current = state.root.signed;
  if (staged.signed.version !== current.version + 1) {
    throw new ValueError(
      `the staged root is version ${staged.signed.version}, but the published root is ${current.version}: rotate again`,
    );
  }
  const status = stagedStatus(current, staged);
  if (!status.ready) {
    throw new ValueError(
      `the staged root needs more signatures: waiting for ${status.waitingFor.map(shortKeyId).join(', ')}`,
    );
  }
  if (staged.signed.isExpired(now))
    throw new ValueError(`the staged root expired at ${staged.signed.expires}: rotate again`);
  const rotated = status.rotatedRoles.filter((r) => r !== 'root') as Array<'targets' | 'snapshot' | 'timestamp'>;
  const resigned: string[] = [];
  if (rotated.length > 0) {
    const signers = await newKeySigners(ring, staged.signed, rotated.includes('targets'));
    edit.useSigners(signers);
    if (signers.targets) await edit.resign('targets');
    edit.resignSnapshot();
    resigned.push(...(signers.targets ? ['targets'] : []), 'snapshot', 'timestamp');
  }
  const bytes = staged.toBytes();
  const check = Metadata.fromBytes(bytes, 'root'); // what clients will read must verify as counted
  if (!stagedStatus(current, check).ready)
    throw new RepositoryError('the serialized root does not verify; nothing was published');
  edit.publishRoot(staged.signed.version, bytes);
  return { rootVersion: staged.signed.version, resigned };
}

/** Signers by the keys the new root names: timestamp, snapshot and (when rotated) targets. */
async function newKeySigners(ring: KeyRing, root: Root, withTargets: boolean): Promise<PublishSigners> {
  const trusted = (role: 'targets' | 'snapshot' | 'timestamp') => ({
    keyids: root.roles[role].keyids,
    threshold: root.roles[role].threshold,
    keys: root.keys,
  });
  const purpose = (role: string) => `re-sign ${role} with its new keys, as the staged root requires`;
  const signers: PublishSigners = {
    timestamp: await ring.forThreshold('timestamp', trusted('timestamp'), purpose('timestamp')),
    snapshot: await ring.forThreshold('snapshot', trusted('snapshot'), purpose('snapshot')),
  };
  if (withTargets) signers.targets = await ring.forThreshold('targets', trusted('targets'), purpose('targets'));
  return signers;
}
