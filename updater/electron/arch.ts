/**
 * Which builds an install can run, as the channel indexes (`<platform>-<arch>.json`) it reads.
 * The answer is tiers: the first tier with any index is used, and within a tier an earlier
 * arch wins a tie between two builds of the same version (a newer build always wins).
 *
 *   darwin-arm64      [arm64, universal]      a universal build runs natively on both Macs
 *   darwin-x64        [x64, universal]
 *   darwin-universal  [universal, <cpu>]      a universal app may move to its CPU's build
 *   win32-arm64       [arm64], then [x64]     x64 runs under emulation: only when no arm64 build is published
 *   anything else     [own arch]              Linux has no cross-arch fallback (armv7l on arm64 needs multiarch libraries)
 *
 * Windows on arm64 falls back to x64 per repository, not per version: an x64 build reports
 * `process.arch === 'x64'`, so an arm64 install that took a newer x64 build would never come back
 * to native builds. An app published for arm64 keeps following its arm64 index.
 */
import { ValueError } from '../core/errors.js';
import type { Arch, Platform } from '../release/index.js';

export function indexArchTiers(platform: Platform, arch: Arch, cpuArch: string = process.arch): Arch[][] {
  if (arch === 'universal') {
    if (platform !== 'darwin') throw new ValueError(`arch universal exists only for darwin, not ${platform}`);
    return [['universal', cpuArch === 'arm64' ? 'arm64' : 'x64']];
  }
  if (platform === 'darwin' && (arch === 'arm64' || arch === 'x64')) return [[arch, 'universal']];
  if (platform === 'win32' && arch === 'arm64') return [['arm64'], ['x64']];
  return [[arch]];
}
