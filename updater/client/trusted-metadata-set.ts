/**
 * The trusted metadata of one refresh: bytes in, verified state out, no I/O (spec 5.2-5.6).
 * The rules, each pinned by test/client/trusted-metadata-set.test.ts:
 *
 * - Order. root (any number of updateRoot) -> timestamp -> snapshot -> targets -> delegated
 *   targets, each delegated role after its delegator. A call out of this order is a bug in
 *   the caller: OrderError, and nothing changes.
 * - All or nothing. An update that is refused leaves the set exactly as it was, except for
 *   the two intermediate cases below.
 * - Root (5.3). Version N+1 only, signed by a threshold of N's keys and of its own. Root
 *   cannot change once a timestamp is loaded; the final root must not be expired (5.3.10,
 *   checked whenever a timestamp comes in).
 * - Intermediate timestamp (5.4). A timestamp may replace a trusted one (the local copy,
 *   then the remote one) until a snapshot is loaded. The new one must be signed by root's
 *   timestamp keys, must not be older (BadVersionNumberError) nor name an older snapshot;
 *   an equal version is EqualVersionNumberError and the trusted one stays. A new timestamp
 *   that passes these checks but is expired is kept, as the next one's rollback guard, and
 *   then reported (ExpiredMetadataError): no snapshot loads while it is the trusted one.
 * - Intermediate snapshot (5.5). A snapshot may replace a trusted one (the local copy, then
 *   the remote one) until targets are loaded. The new one must match the timestamp's length
 *   and hashes (unless it is the local copy, checked when stored), be signed by root's
 *   snapshot keys, and neither drop nor roll back any role the trusted one lists. One that
 *   passes these checks but is expired or is not the version the timestamp names is kept, as
 *   the next one's rollback guard, and then reported: no targets load while it is the
 *   trusted one.
 * - Targets (5.6). Listed in the trusted snapshot, matching its length and hashes, signed by
 *   the delegator's threshold for the role, the version the snapshot names, not expired.
 */
import {
  BadVersionNumberError,
  EqualVersionNumberError,
  ExpiredMetadataError,
  OrderError,
  RepositoryError,
} from '../core/errors.js';
import { verifyLengthAndHashes } from '../core/hashes.js';
import { Metadata, type Root, type Snapshot, type Targets, type Timestamp } from '../core/metadata.js';
import type { TopLevelRole } from '../core/roles.js';
import { verifyDelegate } from '../core/verify.js';

export class TrustedMetadataSet {
  private rootMd: Metadata<Root>;
  private timestampMd?: Metadata<Timestamp>;
  /** A copy of the bytes timestampMd was parsed from. */
  private timestampBytes?: Uint8Array;
  private snapshotMd?: Metadata<Snapshot>;
  /** Verified targets metadata: 'targets' and delegated roles by name. */
  private readonly targetsMd = new Map<string, Metadata<Targets>>();

  /**
   * 5.2: load the trusted root. It is trusted because it came from a trusted place, but it
   * must still be signed by a threshold of its own keys. Expiry is checked later (5.3.10).
   */
  constructor(
    rootBytes: Uint8Array,
    readonly referenceTime: Date = new Date(),
  ) {
    const root = Metadata.fromBytes(rootBytes, 'root');
    verifyDelegate(root.signed, 'root', root);
    this.rootMd = root;
  }

  get root(): Metadata<Root> {
    return this.rootMd;
  }
  get timestamp(): Metadata<Timestamp> | undefined {
    return this.timestampMd;
  }
  get snapshot(): Metadata<Snapshot> | undefined {
    return this.snapshotMd;
  }
  get targets(): Metadata<Targets> | undefined {
    return this.targetsMd.get('targets');
  }
  /** Verified targets metadata of a role (top-level or delegated). */
  getTargets(roleName: string): Metadata<Targets> | undefined {
    return this.targetsMd.get(roleName);
  }

  /** 5.3.3-5.3.8: accept root N+1, signed by a threshold of N's keys and of its own. */
  updateRoot(bytes: Uint8Array): Metadata<Root> {
    if (this.timestampMd) throw new OrderError('cannot update root after timestamp');
    const newRoot = Metadata.fromBytes(bytes, 'root');
    verifyDelegate(this.rootMd.signed, 'root', newRoot); // 5.3.4 old threshold
    const expected = this.rootMd.signed.version + 1;
    if (newRoot.signed.version !== expected) {
      // 5.3.5
      throw new BadVersionNumberError(`expected root version ${expected}, got ${newRoot.signed.version}`);
    }
    verifyDelegate(newRoot.signed, 'root', newRoot); // 5.3.4 new threshold
    this.rootMd = newRoot;
    return newRoot;
  }

  /**
   * 5.4: accept a timestamp. A timestamp that is newer but expired is kept (it protects the
   * next one against rollback) and then reported with ExpiredMetadataError; the caller must
   * not persist it.
   */
  updateTimestamp(bytes: Uint8Array): Metadata<Timestamp> {
    if (this.snapshotMd) throw new OrderError('cannot update timestamp after snapshot');
    // 5.3.10: the final root must not be expired.
    if (this.rootMd.signed.isExpired(this.referenceTime)) throw new ExpiredMetadataError('the final root is expired');
    // The bytes of the timestamp this set holds, already verified against this root (which
    // cannot change any more): parsing and verifying them again could only end below in
    // "version equal". The usual no-change refresh: local timestamp, then the same remotely.
    if (this.timestampBytes && bytes instanceof Uint8Array && Buffer.compare(bytes, this.timestampBytes) === 0)
      throw new EqualVersionNumberError('timestamp unchanged');
    const newTs = Metadata.fromBytes(bytes, 'timestamp');
    verifyDelegate(this.rootMd.signed, 'timestamp', newTs); // 5.4.2
    if (this.timestampMd) {
      const old = this.timestampMd.signed;
      // 5.4.3.1: no rollback of the timestamp version.
      if (newTs.signed.version < old.version) {
        throw new BadVersionNumberError(
          `timestamp version ${newTs.signed.version} is older than trusted ${old.version}`,
        );
      }
      if (newTs.signed.version === old.version) throw new EqualVersionNumberError('timestamp unchanged');
      // 5.4.3.2: no rollback of the snapshot version.
      if (newTs.signed.snapshotMeta.version < old.snapshotMeta.version) {
        throw new BadVersionNumberError(
          `timestamp names snapshot version ${newTs.signed.snapshotMeta.version}, older than trusted ${old.snapshotMeta.version}`,
        );
      }
    }
    this.timestampMd = newTs;
    this.timestampBytes = Uint8Array.from(bytes);
    this.checkFinalTimestamp(); // 5.4.4
    return newTs;
  }

  private checkFinalTimestamp(): void {
    if (this.timestampMd!.signed.isExpired(this.referenceTime)) throw new ExpiredMetadataError('timestamp is expired');
  }

  /**
   * 5.5: accept a snapshot. `trusted` is set for a snapshot read from local storage, which
   * was checked against a timestamp when it was stored.
   */
  updateSnapshot(bytes: Uint8Array, trusted = false): Metadata<Snapshot> {
    if (!this.timestampMd) throw new OrderError('cannot update snapshot before timestamp');
    if (this.targetsMd.size > 0) throw new OrderError('cannot update snapshot after targets');
    this.checkFinalTimestamp();
    const meta = this.timestampMd.signed.snapshotMeta;
    if (!trusted) verifyLengthAndHashes(bytes, meta.length, meta.hashes, 'snapshot'); // 5.5.2
    const newSnap = Metadata.fromBytes(bytes, 'snapshot');
    verifyDelegate(this.rootMd.signed, 'snapshot', newSnap); // 5.5.3
    if (this.snapshotMd) {
      // 5.5.5: no role may disappear or roll back.
      for (const [name, oldMeta] of this.snapshotMd.signed.meta) {
        const newMeta = newSnap.signed.meta.get(name);
        if (!newMeta) throw new RepositoryError(`new snapshot drops ${name}`);
        if (newMeta.version < oldMeta.version) {
          throw new BadVersionNumberError(
            `new snapshot rolls ${name} back from ${oldMeta.version} to ${newMeta.version}`,
          );
        }
      }
    }
    this.snapshotMd = newSnap;
    this.checkFinalSnapshot();
    return newSnap;
  }

  private checkFinalSnapshot(): void {
    const snap = this.snapshotMd!.signed;
    if (snap.isExpired(this.referenceTime)) throw new ExpiredMetadataError('snapshot is expired'); // 5.5.6
    const expected = this.timestampMd!.signed.snapshotMeta.version;
    if (snap.version !== expected) {
      // 5.5.4
      throw new BadVersionNumberError(`snapshot version ${snap.version} does not match timestamp's ${expected}`);
    }
  }

  /** 5.6: accept top-level targets. */
  updateTargets(bytes: Uint8Array): Metadata<Targets> {
    return this.updateDelegatedTargets(bytes, 'targets', 'root');
  }

  /**
   * 5.6 for `roleName`, delegated by `delegatorName` (already trusted). Verified against
   * that delegator, whatever was loaded before.
   */
  updateDelegatedTargets(bytes: Uint8Array, roleName: string, delegatorName: string): Metadata<Targets> {
    if (!this.snapshotMd) throw new OrderError('cannot load targets before snapshot');
    this.checkFinalSnapshot();
    const delegator = delegatorName === 'root' ? this.rootMd.signed : this.targetsMd.get(delegatorName)?.signed;
    if (!delegator) throw new OrderError(`cannot load ${roleName} before its delegator ${delegatorName}`);
    const meta = this.snapshotMd.signed.roleMeta(roleName);
    if (!meta) throw new RepositoryError(`snapshot does not list ${roleName}`);
    verifyLengthAndHashes(bytes, meta.length, meta.hashes, roleName); // 5.6.2
    const md = Metadata.fromBytes(bytes, 'targets');
    verifyDelegate(delegator, roleName, md); // 5.6.3
    if (md.signed.version !== meta.version) {
      // 5.6.4
      throw new BadVersionNumberError(
        `${roleName} version ${md.signed.version} does not match snapshot's ${meta.version}`,
      );
    }
    if (md.signed.isExpired(this.referenceTime)) throw new ExpiredMetadataError(`${roleName} is expired`); // 5.6.5
    this.targetsMd.set(roleName, md);
    return md;
  }

  /**
   * Re-checks already trusted delegated metadata against another delegator: a role reached
   * through a second path must satisfy that path's keys too (docs/architecture.md, "Trust across delegations").
   */
  verifyCachedDelegate(roleName: string, delegatorName: string): Metadata<Targets> | undefined {
    const md = this.targetsMd.get(roleName);
    if (!md) return undefined;
    const delegator = delegatorName === 'root' ? this.rootMd.signed : this.targetsMd.get(delegatorName)?.signed;
    if (!delegator) throw new OrderError(`delegator ${delegatorName} is not loaded`);
    verifyDelegate(delegator, roleName, md);
    return md;
  }

  /** The top-level role metadata currently trusted, by name. */
  get(role: TopLevelRole): Metadata | undefined {
    switch (role) {
      case 'root':
        return this.rootMd;
      case 'timestamp':
        return this.timestampMd;
      case 'snapshot':
        return this.snapshotMd;
      case 'targets':
        return this.targets;
    }
  }
}
