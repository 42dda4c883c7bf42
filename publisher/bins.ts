/**
 * TAP 15 succinct hashed bins: top-level targets delegates every target path to one of 2^b bins
 * `bins-<hex>` by the first b bits of sha256(path). All bins share one set of keys (the online
 * `bins` role). Adding a target then re-signs one small bin instead of a targets file listing
 * everything, and a client downloads only the bins it needs.
 */
import { ValueError } from '../updater/core/errors.js';
import { Delegations, SuccinctRoles } from '../updater/core/delegations.js';
import type { PublicKey } from '../updater/core/keys.js';
import type { Targets } from '../updater/core/metadata.js';

export const BIN_NAME_PREFIX = 'bins';
/** 2^16 bins: far beyond PEP 458's 16,384, and snapshot must still list them all. */
export const MAX_BINS = 65_536;

/** Bit length for a bin count: a power of two from 2 to MAX_BINS. */
export function bitLengthFor(binCount: number): number {
  const bits = Math.log2(binCount);
  if (!Number.isInteger(binCount) || binCount < 2 || binCount > MAX_BINS || !Number.isInteger(bits)) {
    throw new ValueError(`bin count must be a power of two from 2 to ${MAX_BINS}, got ${binCount}`);
  }
  return bits;
}

/** The delegations of top-level targets to `binCount` bins signed by `keys` (threshold of them). */
export function binsDelegation(keys: Record<string, PublicKey>, threshold: number, binCount: number): Delegations {
  const succinct = new SuccinctRoles(Object.keys(keys), threshold, bitLengthFor(binCount), BIN_NAME_PREFIX);
  return new Delegations({ ...keys }, undefined, succinct);
}

/** The succinct bins delegation of top-level targets, if it uses one. */
export function succinctBins(targets: Targets): SuccinctRoles | undefined {
  return targets.delegations?.succinctRoles;
}

/** Names of every bin, in order (empty without bins). */
export function binNames(targets: Targets): string[] {
  const succinct = succinctBins(targets);
  return succinct ? [...succinct.roleNames()] : [];
}

/**
 * The targets role that lists `path`: its bin, or top-level targets when there are no bins.
 * Channel indexes always stay in top-level targets (see release-entries.ts).
 */
export function binForPath(targets: Targets, path: string): string {
  const succinct = succinctBins(targets);
  return succinct ? succinct.getRoleForTarget(path) : 'targets';
}
