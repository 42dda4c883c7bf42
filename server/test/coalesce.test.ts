/** Coalesced queue triggers (coalesce.ts): fewer jobs, and never an answer before a job that started after the call. */
import { describe, expect, it } from 'vitest';
import { coalescing } from '../src/coalesce.js';

/** A send that records when each starts and ends, and finishes when told. */
function recordingSend() {
  const events: string[] = [];
  const pending: Array<() => void> = [];
  let n = 0;
  const send = (repository: string): Promise<void> => {
    const id = `${repository}#${++n}`;
    events.push(`start ${id}`);
    return new Promise((resolve) =>
      pending.push(() => {
        events.push(`end ${id}`);
        resolve();
      }),
    );
  };
  const finishOne = async (): Promise<void> => {
    for (let i = 0; i < 10 && pending.length === 0; i++) await Promise.resolve();
    pending.shift()?.();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { send, events, finishOne, pending };
}

describe('coalesced triggers', () => {
  it('answers every caller after a send that started after its call, with one send per round trip', async () => {
    const r = recordingSend();
    const trigger = coalescing(r.send);
    const settled: string[] = [];
    const call = (label: string): Promise<void> => trigger('app').then(() => void settled.push(label));
    const first = call('a');
    await Promise.resolve();
    await Promise.resolve();
    // While the first send is under way, a burst of callers shares the one next send.
    const burst = ['b', 'c', 'd', 'e'].map(call);
    await r.finishOne();
    expect(settled).toEqual(['a']);
    expect(r.events).toEqual(['start app#1', 'end app#1', 'start app#2']);
    const late = call('f');
    await r.finishOne();
    await Promise.all([first, ...burst]);
    // 'f' came while send 2 was under way: it waits for send 3, which starts only now.
    expect(settled).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.events.at(-1)).toBe('start app#3');
    await r.finishOne();
    await late;
    expect(settled.at(-1)).toBe('f');
    expect(r.events.filter((e) => e.startsWith('start'))).toHaveLength(3);
  });

  it('keeps repositories apart, and a failed send fails its callers without blocking the next', async () => {
    let fail = true;
    const sent: string[] = [];
    const trigger = coalescing(async (repository) => {
      sent.push(repository);
      if (fail) throw new Error('queue down');
    });
    await expect(trigger('a')).rejects.toThrow('queue down');
    fail = false;
    await Promise.all([trigger('a'), trigger('b')]);
    expect(sent.sort()).toEqual(['a', 'a', 'b']);
  });
});
