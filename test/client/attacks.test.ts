/**
 * The attacks of the TUF specification (section 1.5.2), played by the repository simulator.
 * After every failure the metadata directory must hold exactly the last trusted state.
 */
import { access } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BadVersionNumberError,
  DownloadLengthMismatchError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  SlowRetrievalError,
  UnsignedMetadataError,
} from '../../updater/core/errors.js';
import type { Signer } from '../../updater/core/keys.js';
import { Metadata, MetaFile } from '../../updater/core/metadata.js';
import { Role } from '../../updater/core/roles.js';
import { simClient, type SimClient } from '../helpers/client.js';
import {
  daysFromNow,
  endlessResponse,
  newSigner,
  RepositorySimulator,
  stallingResponse,
  bytesResponse,
} from '../helpers/simulator.js';

let sim: RepositorySimulator;
let client: SimClient;

beforeEach(async () => {
  sim = await RepositorySimulator.create();
  sim.addTarget('app.tar.gz', 'version 1');
  sim.updateTargets();
  sim.updateSnapshot();
  client = await simClient(sim);
  await client.updater().refresh();
});
afterEach(() => client.cleanup());

/**
 * Runs a refresh that must fail with `errorClass`. The spec persists each role as soon as it
 * is verified (5.3.8, 5.4.5, ...), so a valid new timestamp may be stored before the snapshot
 * it names is refused; every other file must be exactly as it was.
 */
async function expectRefused(errorClass: new (...a: never[]) => Error, mayPersist: string[] = []): Promise<void> {
  const before = await client.snapshotDisk();
  await expect(client.updater().refresh()).rejects.toThrow(errorClass);
  const after = await client.snapshotDisk();
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [name, bytes] of before) {
    if (!mayPersist.includes(name)) expect(after.get(name), name).toBe(bytes);
  }
}

function interceptSuffix(suffix: string, bytes: () => Promise<Uint8Array> | Uint8Array): void {
  sim.intercept(async (url) => (url.endsWith(suffix) ? bytesResponse(await bytes()) : undefined));
}

describe('rollback attacks', () => {
  it('refuses an older timestamp', async () => {
    const old = await sim.metadataBytes('timestamp');
    sim.updateTimestamp();
    await client.updater().refresh();
    interceptSuffix('/timestamp.json', () => old);
    await expectRefused(BadVersionNumberError);
  });

  it('refuses a timestamp that names an older snapshot', async () => {
    sim.updateTimestamp();
    sim.timestamp.snapshotMeta = new MetaFile(1);
    await expectRefused(BadVersionNumberError);
  });

  it('refuses a snapshot that rolls targets back', async () => {
    sim.updateTargets(); // targets v3 trusted after the next refresh
    sim.updateSnapshot();
    await client.updater().refresh();
    sim.snapshot.meta.set('targets.json', new MetaFile(2));
    sim.updateSnapshot();
    await expectRefused(BadVersionNumberError, ['timestamp.json']);
  });

  it('refuses a snapshot that drops a role it listed before', async () => {
    sim.addDelegation('targets', { name: 'extra', paths: ['extra/*'] });
    sim.updateTargets();
    sim.updateSnapshot();
    await client.updater().refresh();
    sim.snapshot.meta.delete('extra.json');
    sim.updateSnapshot();
    await expectRefused(RepositoryError, ['timestamp.json']);
  });

  it('refuses a root whose version is not the one asked for', async () => {
    const v1 = sim.signedRoots[0];
    sim.signedRoots.push(v1); // 2.root.json serves version 1
    await expectRefused(BadVersionNumberError);
  });
});

describe('freeze attacks', () => {
  it('refuses an expired timestamp', async () => {
    sim.timestamp.expires = daysFromNow(-1);
    sim.updateTimestamp();
    await expectRefused(ExpiredMetadataError);
  });

  it('refuses an expired snapshot', async () => {
    sim.snapshot.expires = daysFromNow(-1);
    sim.updateSnapshot();
    await expectRefused(ExpiredMetadataError, ['timestamp.json']);
  });

  it('refuses expired targets', async () => {
    sim.targets.get('targets')!.expires = daysFromNow(-1);
    sim.updateTargets();
    sim.updateSnapshot();
    await expectRefused(ExpiredMetadataError, ['timestamp.json', 'snapshot.json']);
  });

  it('refuses to go on with an expired final root', async () => {
    sim.root.expires = daysFromNow(-1);
    await sim.publishRoot();
    await expect(client.updater().refresh()).rejects.toThrow(ExpiredMetadataError);
  });

  it('judges expiry at the configured reference time', async () => {
    const later = new Date(Date.now() + 3 * 365 * 86_400_000);
    sim.timestamp.expires = daysFromNow(365);
    sim.updateTimestamp();
    await expect(client.updater({ referenceTime: later }).refresh()).rejects.toThrow(ExpiredMetadataError);
    await client.updater().refresh();
  });
});

describe('fast-forward attack recovery (5.3.11)', () => {
  it('recovers from a timestamp pushed far ahead once its key is rotated', async () => {
    // The attacker holds the timestamp key and pushes version 1000 to the client.
    sim.timestamp.version = 999;
    sim.updateTimestamp();
    await client.updater().refresh();
    // The repository recovers: new timestamp key, versions back to normal.
    sim.rotateKeys('timestamp', [newSigner()]);
    await sim.publishRoot();
    sim.timestamp.version = 10;
    sim.updateTimestamp();
    const up = client.updater();
    await up.refresh();
    expect(up.trustedMetadata!.timestamp!.signed.version).toBe(11);
  });

  it('without a key rotation the pushed-ahead timestamp still wins (rollback protection)', async () => {
    sim.timestamp.version = 999;
    sim.updateTimestamp();
    await client.updater().refresh();
    sim.timestamp.version = 10;
    sim.updateTimestamp();
    await expectRefused(BadVersionNumberError);
  });
});

describe('mix-and-match attacks', () => {
  it('refuses targets metadata whose version is not the one snapshot names', async () => {
    const oldTargets = await sim.metadataBytes('targets');
    sim.updateTargets();
    sim.updateSnapshot();
    interceptSuffix('/3.targets.json', () => oldTargets);
    await expectRefused(BadVersionNumberError, ['timestamp.json', 'snapshot.json']);
  });

  it('refuses a snapshot or targets file that does not match the listed hashes', async () => {
    sim.computeMetafileHashesAndLength = true;
    sim.updateTargets();
    sim.updateSnapshot();
    const genuine = Buffer.from(await sim.metadataBytes('snapshot'));
    interceptSuffix('/3.snapshot.json', () => Buffer.concat([genuine.subarray(0, -1), Buffer.from(' ')]));
    await expectRefused(LengthOrHashMismatchError, ['timestamp.json']);
  });
});

describe('endless data and slow retrieval', () => {
  it('stops reading an endless timestamp at its length bound', async () => {
    sim.intercept((url) => (url.endsWith('/timestamp.json') ? endlessResponse() : undefined));
    await expectRefused(DownloadLengthMismatchError);
  });

  it('stops reading an endless target at its trusted length', async () => {
    const up = client.updater();
    const info = (await up.getTargetInfo('app.tar.gz'))!;
    sim.intercept((url) => (url.includes('/targets/') ? endlessResponse() : undefined));
    await expect(up.downloadTarget(info)).rejects.toThrow(/length|more/i);
    await expect(access(`${client.targetDir}/app.tar.gz`)).rejects.toThrow();
  });

  it('gives up on a timestamp that stalls', async () => {
    sim.intercept((url, req) =>
      url.endsWith('/timestamp.json') ? stallingResponse(new Uint8Array(10), req.signal) : undefined,
    );
    await expectRefused(SlowRetrievalError);
  });

  it('gives up on a target that stalls mid-body', async () => {
    const up = client.updater();
    const info = (await up.getTargetInfo('app.tar.gz'))!;
    sim.intercept((url, req) =>
      url.includes('/targets/') ? stallingResponse(new Uint8Array(3), req.signal) : undefined,
    );
    await expect(up.downloadTarget(info)).rejects.toThrow(SlowRetrievalError);
  });
});

describe('arbitrary and wrong software', () => {
  it('refuses a target whose content was replaced', async () => {
    const up = client.updater();
    const info = (await up.getTargetInfo('app.tar.gz'))!;
    sim.targetFiles.set('app.tar.gz', Buffer.from('version X'));
    await expect(up.downloadTarget(info)).rejects.toThrow(LengthOrHashMismatchError);
    await expect(access(`${client.targetDir}/app.tar.gz`)).rejects.toThrow();
  });

  it("refuses targets metadata signed by another role's key", async () => {
    sim.updateTargets();
    sim.updateSnapshot();
    const wrong = sim.signers.get('snapshot')!;
    const bytes = await sim.metadataBytes('targets', wrong);
    interceptSuffix('/3.targets.json', () => bytes);
    await expectRefused(UnsignedMetadataError, ['timestamp.json', 'snapshot.json']);
  });

  it('refuses unsigned timestamp metadata', async () => {
    sim.updateTimestamp();
    const bytes = await sim.metadataBytes('timestamp', []);
    interceptSuffix('/timestamp.json', () => bytes);
    await expectRefused(UnsignedMetadataError);
  });

  it('refuses metadata signed below the threshold, counting a key listed twice once', async () => {
    // Root lists the snapshot key under a second key id and asks for 2 signatures.
    const one = sim.signers.get('snapshot')![0];
    const alias: Signer = { keyid: 'f'.repeat(64), publicKey: one.publicKey, sign: (d) => one.sign(d) };
    sim.addKey('snapshot', alias);
    sim.root.roles.snapshot = new Role(sim.root.roles.snapshot.keyids, 2);
    await sim.publishRoot();
    sim.updateSnapshot();
    await expect(client.updater().refresh()).rejects.toThrow(UnsignedMetadataError);
    // The snapshot keys changed with root v2, so 5.3.11 discarded the local snapshot.
    expect([...(await client.snapshotDisk()).keys()]).toEqual(['root.json', 'targets.json', 'timestamp.json']);
  });

  it('accepts metadata once the threshold of distinct keys is met', async () => {
    sim.addKey('snapshot', newSigner());
    sim.root.roles.snapshot = new Role(sim.root.roles.snapshot.keyids, 2);
    await sim.publishRoot();
    sim.updateSnapshot();
    await client.updater().refresh();
  });
});

describe('root rotation', () => {
  it('follows a chain: rotate all keys, raise and lower the threshold', async () => {
    const old = sim.signers.get('root')!;
    const a = newSigner();
    const b = newSigner();
    const c = newSigner();
    sim.rotateKeys('root', [a, b, c], 2);
    await sim.publishRoot(old); // v2: signed by v1's key and 2-of-3 new
    sim.rotateKeys('root', [a], 1);
    await sim.publishRoot([b]); // v3: v2 needs 2 of {a,b,c}: a (current) + b
    const up = client.updater();
    await up.refresh();
    expect(up.trustedMetadata!.root.signed.version).toBe(3);
    expect(sim.count('/4.root.json')).toBeGreaterThan(0);
  });

  it("refuses a new root not signed by the previous root's threshold", async () => {
    sim.rotateKeys('root', [newSigner()]);
    await sim.publishRoot(); // signed by the new key only
    await expectRefused(UnsignedMetadataError);
  });

  it('refuses a new root not signed by its own threshold', async () => {
    const old = sim.signers.get('root')!;
    sim.rotateKeys('root', [newSigner(), newSigner()], 2);
    await sim.publishRoot([], old); // only the old key signs
    await expectRefused(UnsignedMetadataError);
  });

  it('keeps each verified root even when a later one fails', async () => {
    await sim.publishRoot(); // v2, fine
    sim.rotateKeys('root', [newSigner()]);
    await sim.publishRoot(); // v3, not signed by v2's key
    await expect(client.updater().refresh()).rejects.toThrow(UnsignedMetadataError);
    const { readFile } = await import('node:fs/promises');
    const stored = Metadata.fromBytes(await readFile(`${client.metadataDir}/root.json`), 'root');
    expect(stored.signed.version).toBe(2);
  });

  it('stops after maxRootRotations versions', async () => {
    for (let i = 0; i < 4; i++) await sim.publishRoot();
    const up = client.updater({ maxRootRotations: 2 });
    await up.refresh();
    expect(up.trustedMetadata!.root.signed.version).toBe(3);
    expect(sim.count('/4.root.json')).toBe(0);
  });
});
