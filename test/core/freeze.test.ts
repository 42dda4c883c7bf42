/**
 * Metadata.fromBytes keeps its promise: the model of parsed metadata cannot be changed, so it
 * cannot drift apart from the received bytes its signatures cover (freeze.ts).
 */
import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../updater/core/freeze.js';
import { Metadata, TargetFile } from '../../updater/core/metadata.js';
import { RepositorySimulator } from '../helpers/simulator.js';

async function parsedTargets(): Promise<Metadata<import('../../updater/core/metadata.js').Targets>> {
  const sim = await RepositorySimulator.create();
  sim.addDelegation('targets', { name: 'a', paths: ['a/*'] });
  sim.addTarget('x.txt', 'x');
  return Metadata.fromBytes(await sim.metadataBytes('targets'), 'targets');
}

describe('parsed metadata is deeply read-only', () => {
  it('refuses edits of Maps, nested objects, arrays and fields of the signed model', async () => {
    const md = await parsedTargets();
    const before = Buffer.from(md.signedBytes);
    const info = md.signed.targets.get('x.txt')!;
    const extra = new TargetFile('y.txt', 1, { sha256: '00'.repeat(32) });
    expect(() => md.signed.targets.set('y.txt', extra)).toThrow(TypeError);
    expect(() => md.signed.targets.delete('x.txt')).toThrow(TypeError);
    expect(() => md.signed.targets.clear()).toThrow(TypeError);
    expect(() => (info.hashes.sha256 = 'ff'.repeat(32))).toThrow(TypeError);
    expect(() => ((info as { length: number }).length = 2)).toThrow(TypeError);
    expect(() => (md.signed.version = 99)).toThrow(TypeError);
    expect(() => (md.signed.expires = '2099-01-01T00:00:00Z')).toThrow(TypeError);
    expect(() => md.signed.delegations!.roles!.push(md.signed.delegations!.roles![0])).toThrow(TypeError);
    expect(() => md.signed.delegations!.roles![0].keyids.push('k')).toThrow(TypeError);
    const keys = md.signed.delegations!.keys;
    expect(() => ((keys as Record<string, unknown>).planted = {})).toThrow(TypeError);
    // Nothing changed: model and bytes still agree.
    expect(md.signed.targets.size).toBe(1);
    expect(md.signed.targets.has('x.txt')).toBe(true);
    expect(Buffer.compare(md.signedBytes, before)).toBe(0);
    expect(
      Buffer.compare(
        Buffer.from(JSON.stringify(md.signed.toJSON())),
        Buffer.from(JSON.stringify(md.editable().signed.toJSON())),
      ),
    ).toBe(0);
  });

  it('leaves signatures (not covered by the signed bytes) and editable() copies mutable', async () => {
    const md = await parsedTargets();
    md.signatures.clear();
    expect(md.signatures.size).toBe(0);
    const copy = md.editable();
    copy.signed.targets.set('y.txt', new TargetFile('y.txt', 1, { sha256: '00'.repeat(32) }));
    copy.signed.version += 1;
    expect(copy.signed.targets.size).toBe(2);
    expect(Buffer.compare(copy.signedBytes, md.signedBytes)).not.toBe(0);
    expect(md.signed.targets.size).toBe(1);
  });
});

describe('deepFreeze', () => {
  it('reaches Map keys and values, Set members and typed arrays are left alone', () => {
    const key = { k: 1 };
    const frozen = deepFreeze({ m: new Map([[key, { v: [1] }]]), s: new Set([{ t: 1 }]), bytes: new Uint8Array(2) });
    expect(Object.isFrozen(key)).toBe(true);
    expect(Object.isFrozen(frozen.m.get(key)!.v)).toBe(true);
    expect(() => frozen.s.add({ t: 2 })).toThrow(TypeError);
    expect(Object.isFrozen([...frozen.s][0])).toBe(true);
    frozen.bytes[0] = 7; // a typed array cannot be frozen; metadata models hold none
    expect(frozen.bytes[0]).toBe(7);
  });

  it('walks deep nesting without recursion (hostile metadata may nest 100,000 levels)', () => {
    let nested: unknown[] = [];
    const top = nested;
    for (let i = 0; i < 100_000; i++) nested = nested[0] = [];
    deepFreeze(top);
    expect(Object.isFrozen(nested)).toBe(true);
  });
});
