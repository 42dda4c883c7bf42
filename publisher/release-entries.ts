/**
 * Releases as the app updater sees them (updater/release/ is the contract): installer
 * targets `<version>/<file>` with a ReleaseCustom, and per (channel, platform, arch) a channel
 * index listing the newest releases. Pure functions; the commands do the I/O.
 *
 * Release-level fields (date, notes, staging percentage) are kept equal in the index entry and
 * in the `custom` of every installer of that release, so the two signed sources never disagree.
 */
import semver from 'semver';
import { canonicalString } from '../updater/core/canonical.js';
import { isPlainObject } from '../updater/core/fields.js';
import { TargetFile } from '../updater/core/metadata.js';
import {
  ARCHS,
  CHANNEL_INDEX_FORMAT,
  CHANNEL_INDEX_MAX_RELEASES,
  INSTALLER_KINDS,
  PLATFORMS,
  type Arch,
  type ChannelIndex,
  type ChannelRelease,
  type InstallerKind,
  type Platform,
  type ReleaseCustom,
} from '../updater/release/index.js';

/** Where a channel index applies. */
export interface IndexKey {
  channel: string;
  platform: Platform;
  arch: Arch;
}

export function indexKeyString(key: IndexKey): string {
  return `${key.channel}\u0000${key.platform}\u0000${key.arch}`;
}

/** Release-level fields shared by a release's installers. */
export interface ReleaseFields {
  releaseDate: string;
  releaseNotes?: string;
  stagingPercentage?: number;
}

/** Dates as the repository writes them: ISO 8601, whole seconds, UTC. */
export function formatReleaseDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A ReleaseCustom with a fixed key order, so equal releases serialize to equal bytes.
 * `chunkMap` is the installer's own (the target path of its chunk map), not release-level.
 */
export function makeCustom(
  key: IndexKey,
  version: string,
  kind: InstallerKind,
  fields: ReleaseFields,
  chunkMap?: string,
): ReleaseCustom {
  const custom: ReleaseCustom = {
    version,
    platform: key.platform,
    arch: key.arch,
    kind,
    channel: key.channel,
    releaseDate: fields.releaseDate,
  };
  if (fields.releaseNotes !== undefined) custom.releaseNotes = fields.releaseNotes;
  if (fields.stagingPercentage !== undefined) custom.stagingPercentage = fields.stagingPercentage;
  if (chunkMap !== undefined) custom.chunkMap = chunkMap;
  return custom;
}

/** The ReleaseCustom of an existing target, or undefined if it is not an installer of ours. */
export function readCustom(target: TargetFile): ReleaseCustom | undefined {
  const c = target.custom;
  if (!isPlainObject(c)) return undefined;
  const ok =
    typeof c.version === 'string' &&
    semver.valid(c.version) === c.version &&
    (PLATFORMS as readonly unknown[]).includes(c.platform) &&
    (ARCHS as readonly unknown[]).includes(c.arch) &&
    (INSTALLER_KINDS as readonly unknown[]).includes(c.kind) &&
    typeof c.channel === 'string' &&
    typeof c.releaseDate === 'string' &&
    (c.releaseNotes === undefined || typeof c.releaseNotes === 'string') &&
    (c.chunkMap === undefined || typeof c.chunkMap === 'string') &&
    (c.stagingPercentage === undefined ||
      (Number.isInteger(c.stagingPercentage) &&
        (c.stagingPercentage as number) >= 0 &&
        (c.stagingPercentage as number) <= 100));
  return ok ? (c as unknown as ReleaseCustom) : undefined;
}

export function indexKeyOf(custom: ReleaseCustom): IndexKey {
  return { channel: custom.channel, platform: custom.platform, arch: custom.arch };
}

/** Same bytes and same custom (key order aside): re-adding it changes nothing. */
export function sameTarget(a: TargetFile, b: TargetFile): boolean {
  return canonicalString(a.toJSON()) === canonicalString(b.toJSON());
}

export function sameContent(a: TargetFile, b: TargetFile): boolean {
  return a.length === b.length && a.hashes.sha256 !== undefined && a.hashes.sha256 === b.hashes.sha256;
}

export function installerTarget(
  path: string,
  length: number,
  hashes: { sha256: string; sha512: string },
  custom: ReleaseCustom,
): TargetFile {
  return new TargetFile(path, length, { sha256: hashes.sha256, sha512: hashes.sha512 }, { custom: { ...custom } });
}

/** A channel index entry with a fixed key order and installers sorted by path. */
export function makeChannelRelease(
  version: string,
  fields: ReleaseFields,
  installers: Array<{ target: string; kind: InstallerKind }>,
): ChannelRelease {
  return {
    version,
    releaseDate: fields.releaseDate,
    ...(fields.releaseNotes === undefined ? {} : { releaseNotes: fields.releaseNotes }),
    ...(fields.stagingPercentage === undefined ? {} : { stagingPercentage: fields.stagingPercentage }),
    installers: [...installers].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)),
  };
}

/** An index holding `releases`, newest first, at most CHANNEL_INDEX_MAX_RELEASES. */
export function makeIndex(key: IndexKey, releases: ChannelRelease[]): ChannelIndex {
  const sorted = [...releases]
    .sort((a, b) => semver.rcompare(a.version, b.version))
    .slice(0, CHANNEL_INDEX_MAX_RELEASES);
  return {
    format: CHANNEL_INDEX_FORMAT,
    channel: key.channel,
    platform: key.platform,
    arch: key.arch,
    releases: sorted,
  };
}

/** `index` with `release` inserted, replacing any entry of the same version. */
export function upsertRelease(key: IndexKey, index: ChannelIndex | undefined, release: ChannelRelease): ChannelIndex {
  const others = (index?.releases ?? []).filter((r) => r.version !== release.version);
  return makeIndex(key, [...others, release]);
}

/**
 * Rebuilds an index from installer targets (after a yank, or when the current index cannot be
 * read): every version with an installer for `key`, newest first.
 */
export function indexFromInstallers(
  key: IndexKey,
  installers: Iterable<{ path: string; custom: ReleaseCustom }>,
): ChannelIndex {
  const byVersion = new Map<
    string,
    { fields: ReleaseFields; installers: Array<{ target: string; kind: InstallerKind }> }
  >();
  for (const { path, custom } of installers) {
    if (indexKeyString(indexKeyOf(custom)) !== indexKeyString(key)) continue;
    let entry = byVersion.get(custom.version);
    if (!entry) {
      entry = { fields: fieldsOf(custom), installers: [] };
      byVersion.set(custom.version, entry);
    }
    entry.installers.push({ target: path, kind: custom.kind });
  }
  return makeIndex(
    key,
    [...byVersion].map(([version, e]) => makeChannelRelease(version, e.fields, e.installers)),
  );
}

export function fieldsOf(source: ReleaseCustom | ChannelRelease): ReleaseFields {
  return {
    releaseDate: source.releaseDate,
    releaseNotes: source.releaseNotes,
    stagingPercentage: source.stagingPercentage,
  };
}
