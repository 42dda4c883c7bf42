/**
 * Release discovery: which release, if any, this install should update to.
 *
 * The channel indexes (updater/release/) are TUF targets, fetched and verified by the
 * client like installers; everything here works on what they say. The choice itself,
 * `selectRelease`, is pure: indexes and a policy in, one candidate out.
 */
import { join } from 'node:path';
import semver from 'semver';
import { DeserializationError, RepositoryError } from '../core/errors.js';
import { isPlainObject } from '../core/fields.js';
import { verifyLengthAndHashes } from '../core/hashes.js';
import type { TargetFile } from '../core/metadata.js';
import {
  CHANNEL_INDEX_MAX_BYTES,
  channelIndexPath,
  parseChannelIndex,
  validateChannel,
  type Arch,
  type ChannelIndex,
  type ChannelRelease,
  type InstallerKind,
  type Platform,
} from '../release/index.js';
import { readFileBounded } from '../node-io/index.js';
import { targetFilePath } from '../client/target-path.js';
import type { Updater } from '../client/updater.js';
import { indexArchTiers } from './arch.js';
import { stagedKey, stagedReleases } from './rollout.js';
import type { VerifyUpdateSupport } from './types.js';

export const STABLE_CHANNEL = 'stable';

/**
 * Channels from least to most stable. A channel also sees the releases of every more stable
 * one, as in electron-updater (alpha sees beta and stable, beta sees stable): a beta tester is
 * never stuck on 1.2.0-beta.3 once 1.2.0 is out.
 */
const STABILITY_ORDER = ['alpha', 'beta', STABLE_CHANNEL];

/** The channel indexes a `channel` install reads, its own first. */
export function channelsToRead(channel: string): string[] {
  validateChannel(channel);
  const at = STABILITY_ORDER.indexOf(channel);
  if (at >= 0) return STABILITY_ORDER.slice(at);
  return [channel, STABLE_CHANNEL];
}

export interface ReleasePolicy {
  /** The running version (semver). */
  currentVersion: string;
  /** The channel this install follows. */
  channel: string;
  /** Offer prerelease versions even on the stable channel. */
  allowPrerelease: boolean;
  /** Offer a version lower than the running one (e.g. leaving the beta channel). */
  allowDowngrade: boolean;
  /** Only releases with an installer of this kind can be installed here. */
  installerKind: InstallerKind;
  /** Staged rollouts: whether this install is in the release's rollout. */
  isStaged(release: ChannelRelease): boolean;
  /**
   * Index archs in order of preference (arch.ts): of two indexes listing the same version, the
   * earlier arch's release is taken. Default: the order the indexes come in.
   */
  archPreference?: readonly Arch[];
}

export interface Candidate {
  release: ChannelRelease;
  /** The channel whose index listed it. */
  channel: string;
  /** The arch of the index that listed it (e.g. `universal` for a macOS arm64 app). */
  arch: Arch;
  /** Target path of the installer of the policy's kind. */
  installerTarget: string;
}

export interface Selection {
  /** The release to update to, if any. */
  offer?: Candidate;
  /** The newest release this install may take, offered or not (for update-not-available). */
  newest?: Candidate;
  /** Why releases were passed over, for the log. */
  skipped: string[];
}

/**
 * 1. Gather every release of the indexes that has an installer of our kind and passes the
 *    prerelease rule. A version listed twice counts once: the preferred arch's listing, then
 *    the own channel's (so a newer universal build beats an older arm64 one, an arm64 build
 *    of the same version beats the universal one).
 * 2. Walk them newest first (by semver, whatever order the index used), passing over releases
 *    this install is not staged into.
 * 3. The first staged one is offered when newer than the running version, or when older and
 *    downgrades are allowed. Never an equal one.
 */
export function selectRelease(indexes: readonly ChannelIndex[], policy: ReleasePolicy): Selection {
  const skipped: string[] = [];
  const candidates = eligibleCandidates(indexes, policy, skipped).sort((a, b) =>
    semver.rcompare(a.release.version, b.release.version),
  );
  for (const candidate of candidates) {
    const version = candidate.release.version;
    if (!policy.isStaged(candidate.release)) {
      skipped.push(`${version}: this install is not in its ${candidate.release.stagingPercentage}% rollout`);
      continue;
    }
    const order = semver.compare(version, policy.currentVersion);
    if (order > 0 || (order < 0 && policy.allowDowngrade)) return { offer: candidate, newest: candidate, skipped };
    if (order < 0)
      skipped.push(`${version}: older than the running ${policy.currentVersion} (downgrades are not allowed)`);
    return { newest: candidate, skipped };
  }
  return { skipped };
}

/**
 * The listing of the running version (`policy.currentVersion`) with an installer of our kind,
 * if the indexes still list it: its signed installer is what this install was made from (an
 * AppImage, the file the user runs, can then be a source of chunks for the next update).
 */
export function runningRelease(indexes: readonly ChannelIndex[], policy: ReleasePolicy): Candidate | undefined {
  // The running version is found whatever the prerelease rule says of offers.
  const candidates = eligibleCandidates(indexes, { ...policy, allowPrerelease: true }, []);
  return candidates.find((c) => semver.eq(c.release.version, policy.currentVersion));
}

function eligibleCandidates(indexes: readonly ChannelIndex[], policy: ReleasePolicy, skipped: string[]): Candidate[] {
  const prereleaseAllowed = policy.allowPrerelease || policy.channel !== STABLE_CHANNEL;
  const rank = (arch: Arch): number => {
    const at = policy.archPreference?.indexOf(arch) ?? 0;
    return at < 0 ? Number.MAX_SAFE_INTEGER : at;
  };
  const best = new Map<string, Candidate>();
  for (const index of indexes) {
    for (const release of index.releases) {
      const installer = release.installers.find((i) => i.kind === policy.installerKind);
      if (!installer) {
        skipped.push(`${release.version}: no ${policy.installerKind} installer in ${index.platform}-${index.arch}`);
      } else if (semver.prerelease(release.version) && !prereleaseAllowed) {
        skipped.push(`${release.version}: a prerelease (allowPrerelease is off)`);
      } else {
        const seen = best.get(release.version);
        if (seen && rank(seen.arch) <= rank(index.arch)) continue;
        best.set(release.version, {
          release,
          channel: index.channel,
          arch: index.arch,
          installerTarget: installer.target,
        });
      }
    }
  }
  return [...best.values()];
}

/**
 * A check's choice after a refresh: reads the indexes of the channels `channel` follows for
 * this platform and its arch tiers (arch.ts), asks about staged rollouts (rollout.ts), and
 * applies the policy. Returns the indexes too, for the changelog.
 */
export async function findRelease(
  client: Updater,
  install: { platform: Platform; arch: Arch; installKind: InstallerKind; cacheDir: string },
  policy: Omit<ReleasePolicy, 'installerKind' | 'isStaged' | 'archPreference'> & {
    isUserWithinRollout: VerifyUpdateSupport;
  },
): Promise<{ selection: Selection; indexes: ChannelIndex[]; policy: ReleasePolicy }> {
  const archTiers = indexArchTiers(install.platform, install.arch);
  const indexes = await readChannelIndexes(client, channelsToRead(policy.channel), {
    platform: install.platform,
    archTiers,
    cacheDir: install.cacheDir,
  });
  const staged = await stagedReleases(indexes, policy.isUserWithinRollout);
  const full: ReleasePolicy = {
    currentVersion: policy.currentVersion,
    channel: policy.channel,
    allowPrerelease: policy.allowPrerelease,
    allowDowngrade: policy.allowDowngrade,
    installerKind: install.installKind,
    archPreference: archTiers.flat(),
    isStaged: (release) => release.stagingPercentage === undefined || staged.has(stagedKey(release)),
  };
  // The policy is returned too: the running release is looked up with it (running-installer.ts).
  return { selection: selectRelease(indexes, full), indexes, policy: full };
}

export interface IndexLocation {
  platform: Platform;
  /** Index archs in tiers (arch.ts indexArchTiers): a later tier is read only when no earlier one has an index. */
  archTiers: readonly (readonly Arch[])[];
  /** Where verified copies of the indexes are kept between checks. */
  cacheDir: string;
}

/**
 * Fetches and verifies the channel indexes of `channels` for each arch of the first tier that
 * has any (missing ones are skipped: a channel or arch with no release yet). An index
 * unchanged since the last check is not downloaded again.
 */
export async function readChannelIndexes(
  client: Updater,
  channels: readonly string[],
  where: IndexLocation,
): Promise<ChannelIndex[]> {
  for (const archs of where.archTiers) {
    const indexes: ChannelIndex[] = [];
    for (const channel of channels) {
      for (const arch of archs) {
        const index = await readChannelIndex(client, channel, where.platform, arch, where.cacheDir);
        if (index) indexes.push(index);
      }
    }
    if (indexes.length > 0) return indexes;
  }
  return [];
}

async function readChannelIndex(
  client: Updater,
  channel: string,
  platform: Platform,
  arch: Arch,
  cacheDir: string,
): Promise<ChannelIndex | undefined> {
  const path = channelIndexPath(channel, platform, arch);
  const info = await client.getTargetInfo(path);
  if (!info) return undefined;
  const index = parseChannelIndex(await readVerifiedIndex(client, info, cacheDir));
  // The index's own fields must agree with the path it was signed under.
  if (index.channel !== channel || index.platform !== platform || index.arch !== arch) {
    throw new RepositoryError(`${path} describes ${index.channel} ${index.platform}-${index.arch}`);
  }
  return index;
}

/** The index's bytes, checked in memory against the trusted length and hashes. */
async function readVerifiedIndex(client: Updater, info: TargetFile, cacheDir: string): Promise<Uint8Array> {
  if (info.length > CHANNEL_INDEX_MAX_BYTES) {
    throw new DeserializationError(`${info.path} is ${info.length} bytes, more than a channel index may hold`);
  }
  const file = targetFilePath(join(cacheDir, 'indexes'), info.path);
  // readFileBounded already answers undefined for ENOENT; anything else (EACCES, EIO) is a real failure.
  const cached = await readFileBounded(file, CHANNEL_INDEX_MAX_BYTES);
  if (cached && matches(cached, info)) return cached;
  await client.downloadTarget(info, file);
  const downloaded = await readFileBounded(file, CHANNEL_INDEX_MAX_BYTES);
  if (!downloaded) throw new RepositoryError(`${info.path} vanished after download`);
  verifyLengthAndHashes(downloaded, info.length, info.hashes, info.path);
  return downloaded;
}

function matches(bytes: Uint8Array, info: TargetFile): boolean {
  try {
    verifyLengthAndHashes(bytes, info.length, info.hashes, info.path);
    return true;
  } catch {
    return false;
  }
}

export interface ExpectedInstaller {
  platform: Platform;
  kind: InstallerKind;
}

/**
 * The trusted target of a candidate's installer. Its signed `custom` (ReleaseCustom) must
 * describe the same version, platform, arch and kind as the index that listed it: an index that points at
 * another release's installer (an old one re-listed under a new version) is refused.
 */
export async function resolveInstaller(
  client: Updater,
  candidate: Candidate,
  expected: ExpectedInstaller,
): Promise<TargetFile> {
  const info = await client.getTargetInfo(candidate.installerTarget);
  if (!info)
    throw new RepositoryError(
      `the channel index names ${candidate.installerTarget}, which no trusted targets metadata lists`,
    );
  const custom = info.custom;
  const mismatch = (field: string, value: unknown): never => {
    throw new RepositoryError(
      `${info.path} is signed as ${field} ${JSON.stringify(value)}, but the channel index lists it for ${candidate.release.version} ${expected.platform}-${candidate.arch} ${expected.kind}`,
    );
  };
  if (!isPlainObject(custom)) return mismatch('custom', custom ?? null);
  if (custom.version !== candidate.release.version) mismatch('version', custom.version);
  if (custom.platform !== expected.platform) mismatch('platform', custom.platform);
  // The arch of the index that listed it: a universal build only from the universal index.
  if (custom.arch !== candidate.arch) mismatch('arch', custom.arch);
  if (custom.kind !== expected.kind) mismatch('kind', custom.kind);
  return info;
}
