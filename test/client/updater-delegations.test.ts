/** Delegation search (5.6.7): order, terminating roles, cycles, bounds, hashed bins. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsignedMetadataError } from '../../updater/core/errors.js';
import { DelegatedRole, Delegations } from '../../updater/core/delegations.js';
import { simClient, type SimClient } from '../helpers/client.js';
import { RepositorySimulator } from '../helpers/simulator.js';

let sim: RepositorySimulator;
let client: SimClient | undefined;

beforeEach(async () => {
  sim = await RepositorySimulator.create();
});
afterEach(async () => {
  await client?.cleanup();
  client = undefined;
});

async function publish(): Promise<void> {
  for (const role of sim.targets.keys()) sim.updateTargets(role);
  sim.updateSnapshot();
}

/** Looks a path up with a fresh updater; returns the role that listed it and the roles visited. */
async function lookup(path: string, config = {}): Promise<{ found: boolean; visited: string[] }> {
  client ??= await simClient(sim);
  const c = client;
  const up = c.updater(config);
  await up.refresh();
  c.trace.length = 0;
  const info = await up.getTargetInfo(path);
  return {
    found: info !== undefined,
    visited: c.trace.flatMap((e) => (e.type === 'visit' ? [e.role] : [])),
  };
}

describe('delegation search order', () => {
  beforeEach(async () => {
    sim.addDelegation('targets', { name: 'a', paths: ['shared/*'] });
    sim.addDelegation('targets', { name: 'b', paths: ['shared/*', 'b/*'] });
    sim.addDelegation('a', { name: 'a1', paths: ['shared/*'] });
    sim.addTarget('shared/x', 'from b', 'b');
    sim.addTarget('shared/y', 'from a1', 'a1');
    sim.addTarget('shared/z', 'from a', 'a');
    sim.addTarget('shared/z', 'from b', 'b');
    await publish();
  });

  it('searches depth first in listed order, backtracking to later delegations', async () => {
    expect(await lookup('shared/x')).toEqual({ found: true, visited: ['targets', 'a', 'a1', 'b'] });
    expect(await lookup('shared/y')).toEqual({ found: true, visited: ['targets', 'a', 'a1'] });
  });

  it('takes the first role that lists a path', async () => {
    client = await simClient(sim);
    const up = client.updater();
    const info = await up.getTargetInfo('shared/z');
    expect(info!.length).toBe('from a'.length);
  });

  it('only follows delegations whose paths match', async () => {
    expect(await lookup('b/other')).toEqual({ found: false, visited: ['targets', 'b'] });
    expect(await lookup('unrelated')).toEqual({ found: false, visited: ['targets'] });
  });
});

describe('terminating delegations', () => {
  it('stop the search below them', async () => {
    sim.addDelegation('targets', { name: 'term', paths: ['t/*'], terminating: true });
    sim.addDelegation('targets', { name: 'later', paths: ['t/*'] });
    sim.addTarget('t/file', 'x', 'later');
    await publish();
    expect(await lookup('t/file')).toEqual({ found: false, visited: ['targets', 'term'] });
  });
});

describe('bounds and cycles', () => {
  it('visits a role at most once when delegations form a cycle', async () => {
    sim.addDelegation('targets', { name: 'p', paths: ['*'] });
    sim.addDelegation('p', { name: 'q', paths: ['*'] });
    // q delegates back to p (with p's key) and to targets' name is not allowed; p <-> q cycle.
    const q = sim.targets.get('q')!;
    const pKey = sim.signers.get('p')![0];
    q.delegations = new Delegations(
      { [pKey.keyid]: pKey.publicKey },
      [new DelegatedRole('p', [pKey.keyid], 1, false, ['*'], undefined)],
      undefined,
    );
    await publish();
    expect(await lookup('nothing')).toEqual({ found: false, visited: ['targets', 'p', 'q'] });
  });

  it('stops after maxDelegations roles', async () => {
    let parent = 'targets';
    for (let i = 0; i < 6; i++) {
      sim.addDelegation(parent, { name: `d${i}`, paths: ['*'] });
      parent = `d${i}`;
    }
    sim.addTarget('deep', 'x', 'd5');
    await publish();
    expect((await lookup('deep')).found).toBe(true);
    const bounded = await lookup('deep', { maxDelegations: 3 });
    expect(bounded.found).toBe(false);
    expect(bounded.visited).toEqual(['targets', 'd0', 'd1', 'd2']);
  });
});

describe('a role reached through two delegators', () => {
  it('is verified against the delegator on the current path, even when already loaded', async () => {
    sim.addDelegation('targets', { name: 'good', paths: ['good/*', 'shared/*'] });
    sim.addDelegation('targets', { name: 'other', paths: ['other/*'] });
    sim.addDelegation('good', { name: 'shared', paths: ['good/*'] });
    // 'other' also delegates to 'shared', but trusts a different key for it.
    const otherParent = sim.targets.get('other')!;
    const foreignKey = sim.signers.get('other')![0];
    otherParent.delegations = new Delegations(
      { [foreignKey.keyid]: foreignKey.publicKey },
      [new DelegatedRole('shared', [foreignKey.keyid], 1, false, ['other/*'], undefined)],
      undefined,
    );
    sim.addTarget('good/app', 'app', 'shared');
    await publish();
    client = await simClient(sim);
    const up = client.updater();
    expect(await up.getTargetInfo('good/app')).toBeDefined(); // loads 'shared' via 'good'
    await expect(up.getTargetInfo('other/app')).rejects.toThrow(UnsignedMetadataError);
  });
});

describe('hashed bins (TAP 15)', () => {
  it('finds targets in their bin, fetching only that bin', async () => {
    const bins = sim.addSuccinctDelegation('targets', 4, 'bins');
    const paths = Array.from({ length: 40 }, (_, i) => `pkg/file-${i}.tgz`);
    for (const p of paths) sim.addTarget(p, p, bins.getRoleForTarget(p));
    await publish();
    client = await simClient(sim);
    const up = client.updater();
    await up.refresh();
    const before = sim.fetched.length;
    const info = await up.getTargetInfo(paths[7]);
    expect(info?.path).toBe(paths[7]);
    const binName = bins.getRoleForTarget(paths[7]);
    expect(sim.fetched.slice(before).map((u) => u.split('/').pop())).toEqual([`2.${binName}.json`]);
    // A target listed in the wrong bin is not found.
    const wrongBin = bins.roleName((parseInt(binName.split('-')[1], 16) + 1) % 16);
    sim.addTarget('pkg/misplaced', 'x', wrongBin);
    if (bins.getRoleForTarget('pkg/misplaced') !== wrongBin) {
      await publish();
      expect(await client.updater().getTargetInfo('pkg/misplaced')).toBeUndefined();
    }
  });
});
