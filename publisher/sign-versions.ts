/**
 * The signing half of a commit (transaction.ts): the next version of each changed targets role,
 * of snapshot when any changed (or was asked for), and of timestamp, each with a fresh expiry,
 * signed with the edit's signers or the keys of the key ring. Nothing here writes: the commit
 * writes only once every file is signed.
 */
import { Metadata, type MetaFile, Snapshot, type Targets, Timestamp } from '../updater/core/metadata.js';
import type { ManagedRole } from './config.js';
import { metadataFileName } from './layout.js';
import { managedRoleOf, type RepositoryState } from './repository.js';
import { expiryAfter, metaFileFor, signAndSerialize, snapshotMetaFor } from './role-files.js';
import type { Prepared } from './storage.js';
import type { PublishSigners, RepositoryEdit } from './transaction.js';

export interface SignedVersions {
  delegated: Prepared[];
  targets?: Prepared;
  snapshot?: Prepared;
  snapshotMeta: MetaFile;
  timestamp: Prepared;
  timestampVersion: number;
}

/** The next version of each changed targets role, of snapshot when any changed (or asked), and of timestamp. */
export async function signNewVersions(edit: RepositoryEdit): Promise<SignedVersions> {
  const { state, now } = edit;
  const changed = edit.targets.changed;
  const withSnapshot = changed.size > 0 || edit.gathered().snapshot || state.staleKeyRoles.has('snapshot');
  const signers = await resolveSigners(edit, new Set([...changed.keys()].map(managedRoleOf)), withSnapshot);
  const { delegated, targets, meta } = await prepareTargetsRoles(state, changed, signers, now);
  let snapshot: Prepared | undefined;
  let snapshotMeta = state.timestamp.signed.snapshotMeta;
  if (withSnapshot) {
    const md = nextSnapshot(state, meta, now);
    md.signed.version = await freeVersion(state, 'snapshot', md.signed.version);
    const file = metadataFileName('snapshot', md.signed.version);
    const bytes = await signAndSerialize(md, signers.snapshot, file);
    snapshot = { name: file, bytes };
    snapshotMeta = snapshotMetaFor(md.signed.version, bytes);
  }
  const timestampVersion = state.timestamp.signed.version + 1;
  const ts = new Metadata(
    new Timestamp(
      { version: timestampVersion, expires: expiryAfter(now, state.config.lifetimes.timestamp) },
      snapshotMeta,
    ),
  );
  const timestamp: Prepared = {
    name: metadataFileName('timestamp'),
    bytes: await signAndSerialize(ts, signers.timestamp, 'timestamp.json'),
  };
  return { delegated, targets, snapshot, snapshotMeta, timestamp, timestampVersion };
}

/**
 * `version`, or the first one above it that the storage has free: an object store never
 * overwrites a versioned file, so one an interrupted publish left (named by no timestamp) is
 * skipped rather than replaced. TUF allows gaps in snapshot and targets versions (5.5.5 and
 * 5.6.4 only ask for "not lower"); root versions are never skipped.
 */
async function freeVersion(state: RepositoryState, role: string, version: number): Promise<number> {
  return state.storage.freeVersion ? state.storage.freeVersion(role, version) : version;
}

/** The next snapshot: the current one (none yet for a new repository) with the new entries (4.4). */
function nextSnapshot(state: RepositoryState, meta: Map<string, MetaFile>, now: Date): Metadata<Snapshot> {
  const current = state.snapshot;
  const md =
    current.signed.version === 0
      ? new Metadata(new Snapshot({ version: 0, expires: current.signed.expires }, new Map()))
      : current.editable();
  for (const [name, m] of meta) md.signed.meta.set(name, m);
  md.signed.version = current.signed.version + 1;
  md.signed.expires = expiryAfter(now, state.config.lifetimes.snapshot);
  return md;
}

/** The next version of each changed targets role, signed, and its new entry for snapshot. */
async function prepareTargetsRoles(
  state: RepositoryState,
  changed: Map<string, Metadata<Targets>>,
  signers: PublishSigners,
  now: Date,
): Promise<{ delegated: Prepared[]; targets?: Prepared; meta: Map<string, MetaFile> }> {
  const binCount = state.binNames.length;
  const delegated: Prepared[] = [];
  let targets: Prepared | undefined;
  const meta = new Map<string, MetaFile>();
  for (const [name, md] of changed) {
    const role = managedRoleOf(name);
    md.signed.version = await freeVersion(state, name, (state.snapshot.signed.roleMeta(name)?.version ?? 0) + 1);
    md.signed.expires = expiryAfter(now, state.config.lifetimes[role]);
    const file = metadataFileName(name, md.signed.version);
    const bytes = await signAndSerialize(md, signers[role], file);
    meta.set(`${name}.json`, metaFileFor(name, md.signed.version, bytes, binCount));
    if (name === 'targets') targets = { name: file, bytes };
    else delegated.push({ name: file, bytes });
  }
  return { delegated, targets, meta };
}

async function resolveSigners(
  edit: RepositoryEdit,
  roles: Set<ManagedRole>,
  withSnapshot: boolean,
): Promise<PublishSigners> {
  const { state, ring } = edit;
  const signers: PublishSigners = { ...edit.gathered().signers };
  const needed: Array<keyof PublishSigners> = ['timestamp'];
  if (withSnapshot) needed.push('snapshot');
  if (roles.has('targets')) needed.push('targets');
  if (roles.has('bins')) needed.push('bins');
  // One message naming every role whose keys are missing, not just the first.
  const missing = needed.filter((role) => !signers[role]);
  const found = await ring.forThresholds(missing.map((role) => ({ role, trusted: state.trustedKeys(role) })));
  for (const role of missing) signers[role] = found.get(role);
  return signers;
}
