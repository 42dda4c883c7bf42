/**
 * The sliding-window rate floor (updater/client/transfer-rate.ts) on given clock readings: no
 * timers, no wall clock. The end-to-end behaviour over HTTP is in slow-retrieval.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ValueError } from '../../updater/core/errors.js';
import { checkedRateOptions, describeShortfall, TransferRateFloor } from '../../updater/client/transfer-rate.js';

const OPTIONS = { minBytesPerSecond: 1000, rateWindowMs: 8000 };

/** Feeds `bytesPerTick` each tick (1 s apart) from t = 0; returns the tick at which it fell short. */
function firstShortfall(
  floor: TransferRateFloor,
  bytesPerTick: (second: number) => number,
  seconds: number,
): number | undefined {
  for (let second = 1; second <= seconds; second++) {
    floor.add(bytesPerTick(second));
    if (floor.check(second * 1000)) return second;
  }
  return undefined;
}

describe('TransferRateFloor', () => {
  it('never judges the first window, however little arrived', () => {
    const floor = new TransferRateFloor(OPTIONS, 0);
    for (let t = 0; t < 8000; t += 1000) expect(floor.check(t)).toBeUndefined();
    expect(floor.check(8000)).toMatchObject({ bytes: 0, ms: 8000, bytesPerSecond: 0 });
  });

  it('a steady transfer at the floor passes for as long as it lasts', () => {
    expect(firstShortfall(new TransferRateFloor(OPTIONS, 0), () => 1000, 600)).toBeUndefined();
  });

  it('a drip fails at the end of the first window', () => {
    expect(firstShortfall(new TransferRateFloor(OPTIONS, 0), () => 1, 600)).toBe(8);
  });

  it('is a sliding window: a fast start does not buy a long trickle afterwards', () => {
    // 1 MB in the first second, then one byte a second: the average since the start stays far
    // above the floor for 1,000 s, but the last window falls short one window after the burst.
    const shortfall = firstShortfall(new TransferRateFloor(OPTIONS, 0), (s) => (s === 1 ? 1_000_000 : 1), 600);
    expect(shortfall).toBe(9);
  });

  it('tolerates a silence within a window when the rest of it makes up for it', () => {
    // 3 s of silence in every 8 s, at 2,000 bytes/s the other 5: 10,000 bytes per window.
    expect(firstShortfall(new TransferRateFloor(OPTIONS, 0), (s) => (s % 8 < 3 ? 0 : 2000), 600)).toBeUndefined();
  });

  it('measures over at least one window even when ticks come late', () => {
    const floor = new TransferRateFloor(OPTIONS, 0);
    floor.add(500);
    expect(floor.check(20_000)).toMatchObject({ bytes: 500, ms: 20_000, bytesPerSecond: 25 });
  });

  it('describes a shortfall with the measured rate and the floor', () => {
    expect(describeShortfall({ bytes: 12, ms: 60_400, bytesPerSecond: 12_000 / 60_400, minBytesPerSecond: 1024 })).toBe(
      '12 bytes in 60.4 s (0.2 bytes/s), below the minimum of 1024 bytes/s',
    );
  });
});

describe('checkedRateOptions', () => {
  it('fills in the defaults (1024 bytes/s over 60 s)', () => {
    expect(checkedRateOptions({})).toEqual({ minBytesPerSecond: 1024, rateWindowMs: 60_000 });
  });

  it('refuses a floor or window that is not positive', () => {
    for (const bad of [
      { minBytesPerSecond: 0 },
      { minBytesPerSecond: -5 },
      { minBytesPerSecond: Infinity },
      { rateWindowMs: 0 },
      { rateWindowMs: 1.5 },
    ]) {
      expect(() => checkedRateOptions(bad)).toThrow(ValueError);
    }
  });
});
