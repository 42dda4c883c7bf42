/**
 * TrustedMetadataSet on its own, bytes in and state out, in the manner of python-tuf's
 * test_trusted_metadata_set.py: the update order, each refusal (and that it changes nothing),
 * the intermediate timestamp and snapshot rules stated in trusted-metadata-set.ts, and root
 * key rotations as one table, like python-tuf's test_updater_key_rotations.py.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BadVersionNumberError,
  DeserializationError,
  EqualVersionNumberError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  OrderError,
  RepositoryError,
  UnsignedMetadataError,
} from '../../updater/core/errors.js';
import { MetaFile } from '../../updater/core/metadata.js';
import type { Signer } from '../../updater/core/keys.js';
import { TrustedMetadataSet } from '../../updater/client/trusted-metadata-set.js';
import { MetadataStore } from '../../updater/client/metadata-store.js';
import { simClient } from '../helpers/client.js';
import { daysFromNow, newSigner, RepositorySimulator } from '../helpers/simulator.js';
import { parseDoc } from '../helpers/metadata-doc.js';

let sim: RepositorySimulator;

/** Signed bytes of every role as the repository serves them now. */
async function bytesOf(): Promise<
  Record<'root' | 'timestamp' | 'snapshot' | 'targets' | 'role1' | 'role2', Uint8Array>
> {
  return {
    root: sim.signedRoots.at(-1)!,
    timestamp: await sim.metadataBytes('timestamp'),
    snapshot: await sim.metadataBytes('snapshot'),
    targets: await sim.metadataBytes('targets'),
    role1: await sim.metadataBytes('role1'),
    role2: await sim.metadataBytes('role2'),
  };
}

/** What the set trusts, by version, to show a refusal changed nothing. */
function versions(set: TrustedMetadataSet): Record<string, number | undefined> {
  return {
    root: set.root.signed.version,
    timestamp: set.timestamp?.signed.version,
    snapshot: set.snapshot?.signed.version,
    targets: set.targets?.signed.version,
    role1: set.getTargets('role1')?.signed.version,
    role2: set.getTargets('role2')?.signed.version,
  };
}

function expectRefused(set: TrustedMetadataSet, update: () => unknown, error: new (...args: never[]) => Error): void {
  const before = versions(set);
  expect(update).toThrow(error);
  expect(versions(set)).toEqual(before);
}

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  sim.computeMetafileHashesAndLength = true; // timestamp and snapshot carry lengths and hashes
  sim.addDelegation('targets', { name: 'role1', paths: ['a/*'] });
  sim.addDelegation('role1', { name: 'role2', paths: ['a/b/*'] });
  sim.updateSnapshot();
});

describe('TrustedMetadataSet: order', () => {
  it('loads root, timestamp, snapshot, targets and delegated roles in order', async () => {
    const b = await bytesOf();
    const set = new TrustedMetadataSet(b.root);
    set.updateTimestamp(b.timestamp);
    set.updateSnapshot(b.snapshot);
    set.updateTargets(b.targets);
    set.updateDelegatedTargets(b.role1, 'role1', 'targets');
    set.updateDelegatedTargets(b.role2, 'role2', 'role1');
    expect(versions(set)).toEqual({ root: 1, timestamp: 2, snapshot: 2, targets: 1, role1: 1, role2: 1 });
    expect(set.get('snapshot')).toBe(set.snapshot);
    expect(set.verifyCachedDelegate('role2', 'role1')).toBe(set.getTargets('role2'));
  });

  it('refuses every call out of order with OrderError, changing nothing', async () => {
    const b = await bytesOf();
    const set = new TrustedMetadataSet(b.root);
    expectRefused(set, () => set.updateSnapshot(b.snapshot), OrderError);
    expectRefused(set, () => set.updateTargets(b.targets), OrderError);
    set.updateTimestamp(b.timestamp);
    expectRefused(set, () => set.updateTargets(b.targets), OrderError);
    expectRefused(set, () => set.updateRoot(sim.signedRoots[0]), OrderError); // root is final once timestamp is in
    set.updateSnapshot(b.snapshot);
    expectRefused(set, () => set.updateTimestamp(b.timestamp), OrderError);
    expectRefused(set, () => set.updateDelegatedTargets(b.role1, 'role1', 'targets'), OrderError); // delegator not loaded
    set.updateTargets(b.targets);
    expectRefused(set, () => set.updateSnapshot(b.snapshot), OrderError);
    expectRefused(set, () => set.updateDelegatedTargets(b.role2, 'role2', 'role1'), OrderError); // role1 not loaded
  });
});

describe('TrustedMetadataSet: root (5.2, 5.3)', () => {
  it('refuses a trusted root that is not valid metadata or not signed by its own keys', async () => {
    expect(() => new TrustedMetadataSet(Buffer.from('{"signed": 1}'))).toThrow(DeserializationError);
    expect(() => new TrustedMetadataSet(Buffer.from([0xff, 0xfe]))).toThrow(DeserializationError);
    const timestamp = (await bytesOf()).timestamp;
    expect(() => new TrustedMetadataSet(timestamp)).toThrow(DeserializationError);
    sim.signedRoots.length = 0;
    await sim.publishRoot([], [newSigner()]);
    expect(() => new TrustedMetadataSet(sim.signedRoots[0])).toThrow(UnsignedMetadataError);
  });

  it('accepts only version N+1 as the new root, and only root metadata', async () => {
    const set = new TrustedMetadataSet(sim.initialRoot);
    const v2 = await sim.publishRoot();
    const v3 = await sim.publishRoot();
    expectRefused(set, () => set.updateRoot(v3), BadVersionNumberError); // 5.3.5: N+1 only
    expectRefused(set, () => set.updateRoot(sim.initialRoot), BadVersionNumberError);
    expectRefused(set, () => set.updateRoot(Buffer.from('[]')), DeserializationError);
    set.updateRoot(v2);
    expect(set.root.signed.version).toBe(2);
    set.updateRoot(v3);
    expect(set.root.signed.version).toBe(3);
  });

  it('checks that the final root is not expired when a timestamp comes in (5.3.10)', async () => {
    sim.root.expires = daysFromNow(-1);
    sim.signedRoots.length = 0;
    await sim.publishRoot();
    const set = new TrustedMetadataSet(sim.initialRoot); // 5.2: expiry is not judged yet
    expectRefused(set, () => set.updateTimestamp(Buffer.from('not even parsed')), ExpiredMetadataError);
  });
});

describe('TrustedMetadataSet: timestamp (5.4)', () => {
  let set: TrustedMetadataSet;
  beforeEach(async () => {
    set = new TrustedMetadataSet(sim.initialRoot);
  });

  it("refuses a timestamp not signed by root's timestamp keys, or of another type", async () => {
    expectRefused(set, () => set.updateTimestamp(Buffer.from('')), DeserializationError);
    const b = await bytesOf();
    expectRefused(set, () => set.updateTimestamp(b.snapshot), DeserializationError);
    const forged = await sim.metadataBytes('timestamp', [newSigner()]);
    expectRefused(set, () => set.updateTimestamp(forged), UnsignedMetadataError);
  });

  it('intermediate timestamp: a newer one replaces the trusted one; older, equal, or naming an older snapshot is refused', async () => {
    const first = (await bytesOf()).timestamp;
    set.updateTimestamp(first);
    sim.updateTimestamp();
    const newer = await sim.metadataBytes('timestamp');
    expectRefused(set, () => set.updateTimestamp(first), EqualVersionNumberError); // the same bytes
    sim.timestamp.version -= 1; // the same version, other bytes
    sim.timestamp.expires = daysFromNow(300);
    const equalVersion = await sim.metadataBytes('timestamp');
    expectRefused(set, () => set.updateTimestamp(equalVersion), EqualVersionNumberError);
    set.updateTimestamp(newer);
    expect(set.timestamp!.signed.version).toBe(3);
    expectRefused(set, () => set.updateTimestamp(first), BadVersionNumberError); // 5.4.3.1
    sim.computeMetafileHashesAndLength = false;
    sim.timestamp.version = 9;
    sim.timestamp.snapshotMeta = new MetaFile(1); // older than the trusted timestamp's snapshot (2)
    const olderSnapshot = await sim.metadataBytes('timestamp');
    expectRefused(set, () => set.updateTimestamp(olderSnapshot), BadVersionNumberError); // 5.4.3.2
  });

  it('keeps a newer but expired timestamp as the rollback guard, reports it, and loads no snapshot after it', async () => {
    const b = await bytesOf();
    set.updateTimestamp(b.timestamp);
    sim.updateTimestamp();
    sim.timestamp.expires = daysFromNow(-1);
    const expired = await sim.metadataBytes('timestamp');
    expect(() => set.updateTimestamp(expired)).toThrow(ExpiredMetadataError);
    expect(set.timestamp!.signed.version).toBe(3); // kept: the next timestamp must not be older
    expectRefused(set, () => set.updateTimestamp(b.timestamp), BadVersionNumberError);
    expectRefused(set, () => set.updateSnapshot(b.snapshot), ExpiredMetadataError);
  });
});

describe('TrustedMetadataSet: snapshot (5.5)', () => {
  let set: TrustedMetadataSet;
  beforeEach(async () => {
    set = new TrustedMetadataSet(sim.initialRoot);
    set.updateTimestamp((await bytesOf()).timestamp);
  });

  it("refuses a snapshot that does not match the timestamp's length and hashes, or is not signed", async () => {
    const b = await bytesOf();
    const tampered = Buffer.from(b.snapshot);
    tampered[tampered.length - 2] ^= 1;
    expectRefused(set, () => set.updateSnapshot(tampered), LengthOrHashMismatchError); // 5.5.2
    const forged = await sim.metadataBytes('snapshot', [newSigner()]);
    // Same model, other signature: another hash than the timestamp names, so still 5.5.2;
    // as a local copy (no hash check) the signature check (5.5.3) refuses it.
    expectRefused(set, () => set.updateSnapshot(forged), LengthOrHashMismatchError);
    expectRefused(set, () => set.updateSnapshot(forged, true), UnsignedMetadataError);
  });

  it('keeps a snapshot that is not the version the timestamp names, reports it, and loads no targets after it', async () => {
    sim.snapshot.version += 1; // signed and otherwise fine, but timestamp names version 2
    const wrongVersion = await sim.metadataBytes('snapshot');
    expect(() => set.updateSnapshot(wrongVersion, true)).toThrow(BadVersionNumberError); // 5.5.4
    expect(set.snapshot!.signed.version).toBe(3); // kept as the rollback guard
    expectRefused(set, () => set.updateTargets(Buffer.from('{}')), BadVersionNumberError);
  });

  it('keeps an expired snapshot, reports it, and loads no targets after it', async () => {
    const targets = (await bytesOf()).targets;
    sim.snapshot.expires = daysFromNow(-1);
    const expired = await sim.metadataBytes('snapshot');
    expect(() => set.updateSnapshot(expired, true)).toThrow(ExpiredMetadataError); // 5.5.6
    expect(set.snapshot).toBeDefined();
    expectRefused(set, () => set.updateTargets(targets), ExpiredMetadataError);
  });

  it('intermediate snapshot: a new one replaces the trusted one unless it drops or rolls back a role (5.5.5)', async () => {
    // Local copies (no hash check against the timestamp), all of the version it names.
    sim.computeMetafileHashesAndLength = false;
    set.updateSnapshot((await bytesOf()).snapshot, true);
    const meta = sim.snapshot.meta;
    const role1 = meta.get('role1.json')!;
    meta.delete('role1.json');
    const dropped = await sim.metadataBytes('snapshot');
    expectRefused(set, () => set.updateSnapshot(dropped, true), RepositoryError);
    meta.set('role1.json', role1);
    meta.set('role2.json', new MetaFile(2));
    const newer = await sim.metadataBytes('snapshot');
    set.updateSnapshot(newer, true); // nothing dropped or rolled back: it replaces the trusted one
    expect(set.snapshot!.signed.meta.get('role2.json')!.version).toBe(2);
    meta.set('role2.json', new MetaFile(1));
    const rolledBack = await sim.metadataBytes('snapshot');
    expectRefused(set, () => set.updateSnapshot(rolledBack, true), BadVersionNumberError);
    expect(set.snapshot!.signed.meta.get('role2.json')!.version).toBe(2);
  });
});

describe('TrustedMetadataSet: targets and delegated targets (5.6)', () => {
  let set: TrustedMetadataSet;
  let b: Awaited<ReturnType<typeof bytesOf>>;
  beforeEach(async () => {
    b = await bytesOf();
    set = new TrustedMetadataSet(sim.initialRoot);
    set.updateTimestamp(b.timestamp);
    set.updateSnapshot(b.snapshot);
  });

  /** A set whose trusted snapshot lists `role` at `version` with no length or hashes (5.6.2 has nothing to check). */
  async function setListing(role: string, version: number): Promise<TrustedMetadataSet> {
    sim.computeMetafileHashesAndLength = false;
    sim.snapshot.meta.set(`${role}.json`, new MetaFile(version));
    const s = new TrustedMetadataSet(sim.initialRoot);
    s.updateTimestamp(b.timestamp);
    s.updateSnapshot(await sim.metadataBytes('snapshot'), true);
    return s;
  }

  it("refuses targets not matching the snapshot's hashes, not signed, of another version, or expired", async () => {
    const tampered = Buffer.from(b.targets);
    tampered[tampered.length - 2] ^= 1;
    expectRefused(set, () => set.updateTargets(tampered), LengthOrHashMismatchError); // 5.6.2
    const forged = await sim.metadataBytes('targets', [newSigner()]);
    const s1 = await setListing('targets', 1);
    expectRefused(s1, () => s1.updateTargets(forged), UnsignedMetadataError); // 5.6.3
    sim.targets.get('targets')!.version = 5;
    const wrongVersion = await sim.metadataBytes('targets');
    const s2 = await setListing('targets', 1);
    expectRefused(s2, () => s2.updateTargets(wrongVersion), BadVersionNumberError); // 5.6.4
    sim.targets.get('targets')!.version = 1;
    sim.targets.get('targets')!.expires = daysFromNow(-1);
    const expired = await sim.metadataBytes('targets');
    const s3 = await setListing('targets', 1);
    expectRefused(s3, () => s3.updateTargets(expired), ExpiredMetadataError); // 5.6.5
  });

  it('refuses a role the snapshot does not list, and a delegated role signed by the wrong key', async () => {
    set.updateTargets(b.targets);
    expectRefused(set, () => set.updateDelegatedTargets(b.role1, 'unlisted', 'targets'), RepositoryError);
    // role2's bytes where role1's are expected: another hash than the snapshot lists.
    expectRefused(set, () => set.updateDelegatedTargets(b.role2, 'role1', 'targets'), LengthOrHashMismatchError);
    set.updateDelegatedTargets(b.role1, 'role1', 'targets');
    // role1 verified against root instead of its delegator: root does not delegate role1.
    expect(() => set.verifyCachedDelegate('role1', 'root')).toThrow(UnsignedMetadataError);
  });
});

/**
 * Root key rotations, one table, like python-tuf's test_updater_key_rotations.py. Each case is
 * the chain of root versions the repository publishes: `keys` and `threshold` of that version
 * (indexes into a pool of keys) and the keys that sign it. A version with `error` must be
 * refused with that error, and the client keeps the version before it; otherwise the client
 * ends on the last version.
 */
interface RootVersion {
  keys: number[];
  threshold: number;
  sigs: number[];
  error?: new (...args: never[]) => Error;
}

const ROTATIONS: Array<[string, RootVersion[]]> = [
  [
    '1-of-1 key rotation',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [1], threshold: 1, sigs: [1, 0] },
      { keys: [1], threshold: 1, sigs: [1] },
    ],
  ],
  [
    '1-of-1 key rotation, unused signatures',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [1], threshold: 1, sigs: [2, 1, 0, 3] },
    ],
  ],
  [
    '1-of-1 key rotation, old key does not sign',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [1], threshold: 1, sigs: [1], error: UnsignedMetadataError },
    ],
  ],
  [
    '1-of-1 key rotation, new key does not sign',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [1], threshold: 1, sigs: [0], error: UnsignedMetadataError },
    ],
  ],
  [
    '3-of-5, each version signed by another combination',
    [
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [2, 3, 4] },
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 2, 4] },
    ],
  ],
  [
    '3-of-5, one signature short',
    [
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [3, 4], error: UnsignedMetadataError },
    ],
  ],
  [
    '3-of-5, two keys replaced',
    [
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 5, 6], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 5, 6], threshold: 3, sigs: [2, 5, 6] },
    ],
  ],
  [
    '3-of-5, the replaced keys cannot sign the next version',
    [
      { keys: [0, 1, 2, 3, 4], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 5, 6], threshold: 3, sigs: [0, 1, 2] },
      { keys: [0, 1, 2, 5, 6], threshold: 3, sigs: [3, 4, 5, 6], error: UnsignedMetadataError },
    ],
  ],
  [
    'threshold raised, then lowered with all keys rotated',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [0, 1, 2], threshold: 2, sigs: [0, 1] },
      { keys: [3], threshold: 1, sigs: [3, 0, 1] },
    ],
  ],
  [
    'threshold raised, new version under-signed',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [0, 1, 2], threshold: 2, sigs: [0], error: UnsignedMetadataError },
    ],
  ],
  [
    'threshold lowered needs the old threshold',
    [
      { keys: [0, 1, 2], threshold: 2, sigs: [0, 1] },
      { keys: [0, 1, 2], threshold: 1, sigs: [0], error: UnsignedMetadataError },
    ],
  ],
  [
    'old keys sign, but the one before cannot skip a version',
    [
      { keys: [0], threshold: 1, sigs: [0] },
      { keys: [1], threshold: 1, sigs: [0, 1] },
      { keys: [2], threshold: 1, sigs: [0, 2], error: UnsignedMetadataError },
    ],
  ],
];

describe('root key rotations', () => {
  const pool: Signer[] = Array.from({ length: 7 }, () => newSigner());

  it.each(ROTATIONS)('%s', async (_name, chain) => {
    const repo = await RepositorySimulator.create();
    repo.signedRoots.length = 0;
    for (const version of chain) {
      repo.rotateKeys(
        'root',
        version.keys.map((i) => pool[i]),
        version.threshold,
      );
      await repo.publishRoot(
        [],
        version.sigs.map((i) => pool[i]),
      );
    }
    const client = await simClient(repo);
    try {
      const failing = chain.findIndex((v) => v.error);
      const refresh = client.updater().refresh();
      if (failing === -1) {
        await refresh;
      } else {
        await expect(refresh).rejects.toThrow(chain[failing].error);
      }
      const expected = failing === -1 ? chain.length : failing; // versions are 1-based: the one before
      const stored = await (await MetadataStore.open(client.metadataDir)).read('root');
      expect(parseDoc(stored!).signed.version).toBe(expected);
    } finally {
      await client.cleanup();
    }
  });
});
