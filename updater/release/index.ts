/**
 * The release layout that the publisher writes and the app updater reads (docs/architecture.md,
 * "The release layout"). Both sides import this module, so the contract is written once.
 *
 * - Each installer is a target `<version>/<file name>` whose `custom` is a ReleaseCustom.
 * - Per (channel, platform, arch) a small index target `channels/<channel>/<platform>-<arch>.json`
 *   lists the releases of that channel, newest first. The updater downloads it with
 *   `downloadTarget`, so it is verified like any target, then picks a release from it.
 */
import semver from 'semver';
import { DeserializationError, ValueError } from '../core/errors.js';
import { FieldReader } from '../core/fields.js';

export const PLATFORMS = ['linux', 'darwin', 'win32'] as const;
export type Platform = (typeof PLATFORMS)[number];
export const ARCHS = ['x64', 'arm64', 'ia32', 'armv7l', 'universal'] as const;
export type Arch = (typeof ARCHS)[number];
export const INSTALLER_KINDS = ['tar.gz', 'zip', 'AppImage', 'deb', 'rpm', 'nsis', 'dmg'] as const;
export type InstallerKind = (typeof INSTALLER_KINDS)[number];

/** Channel names: lowercase, digits and dashes, as in semver prerelease tags (`beta`, `rc`). */
const CHANNEL_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** How many releases a channel index keeps (newest first): enough to fall back past yanks and stages. */
export const CHANNEL_INDEX_MAX_RELEASES = 20;
/** An index is small; anything larger is refused before parsing. */
export const CHANNEL_INDEX_MAX_BYTES = 256 * 1024;
export const CHANNEL_INDEX_FORMAT = 1;

export function validateChannel(channel: string): string {
  if (!CHANNEL_NAME.test(channel)) {
    throw new ValueError(
      `invalid channel name ${JSON.stringify(channel)}: use lowercase letters, digits and dashes (max 32)`,
    );
  }
  return channel;
}

export function validatePlatform(platform: string): Platform {
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    throw new ValueError(`invalid platform ${JSON.stringify(platform)}: one of ${PLATFORMS.join(', ')}`);
  }
  return platform as Platform;
}

export function validateArch(arch: string): Arch {
  if (!(ARCHS as readonly string[]).includes(arch)) {
    throw new ValueError(`invalid arch ${JSON.stringify(arch)}: one of ${ARCHS.join(', ')}`);
  }
  return arch as Arch;
}

/** A strict semver version (no leading `v`), returned normalized. */
export function validateVersion(version: string): string {
  const v = semver.valid(version);
  if (!v || v !== version)
    throw new ValueError(`invalid version ${JSON.stringify(version)}: expected semver such as 1.2.3`);
  return v;
}

/** The installer kind a file name implies, or undefined for files that are not installers. */
export function installerKindOf(fileName: string): InstallerKind | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.appimage')) return 'AppImage';
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.deb')) return 'deb';
  if (lower.endsWith('.rpm')) return 'rpm';
  if (lower.endsWith('.exe')) return 'nsis';
  if (lower.endsWith('.dmg')) return 'dmg';
  return undefined;
}

/** The default channel of a version: its prerelease tag (`1.2.0-beta.1` -> `beta`) or `stable`. */
export function defaultChannelFor(version: string): string {
  const pre = semver.prerelease(version);
  const tag = pre?.find((p): p is string => typeof p === 'string');
  return tag ? tag.toLowerCase() : 'stable';
}

export function channelIndexPath(channel: string, platform: string, arch: string): string {
  return `channels/${validateChannel(channel)}/${validatePlatform(platform)}-${validateArch(arch)}.json`;
}

export function installerTargetPath(version: string, fileName: string): string {
  if (!fileName || fileName.includes('/') || fileName.includes('\\') || fileName === '.' || fileName === '..') {
    throw new ValueError(`invalid installer file name ${JSON.stringify(fileName)}`);
  }
  return `${validateVersion(version)}/${fileName}`;
}

/** `custom` of an installer target. */
export interface ReleaseCustom {
  version: string;
  platform: Platform;
  arch: Arch;
  kind: InstallerKind;
  channel: string;
  /** ISO 8601 date-time. */
  releaseDate: string;
  releaseNotes?: string;
  /** 0-100; absent means everyone. */
  stagingPercentage?: number;
  /** Lowest OS version (`os.release()` terms) the installer runs on; the app updater skips it below. */
  minimumSystemVersion?: string;
  /** Target path of this installer's chunk map (chunk-map.ts), for differential updates. */
  chunkMap?: string;
}

export interface ChannelRelease {
  version: string;
  releaseDate: string;
  releaseNotes?: string;
  stagingPercentage?: number;
  /** Target paths of this release's installers for the index's platform and arch. */
  installers: Array<{ target: string; kind: InstallerKind }>;
}

export interface ChannelIndex {
  format: typeof CHANNEL_INDEX_FORMAT;
  channel: string;
  platform: Platform;
  arch: Arch;
  /** Newest first. */
  releases: ChannelRelease[];
}

function parseStaging(r: FieldReader): number | undefined {
  if (!r.has('stagingPercentage')) return undefined;
  const v = r.raw('stagingPercentage');
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100)
    r.fail('stagingPercentage', 'a number from 0 to 100');
  return v;
}

function parseRelease(value: unknown, where: string): ChannelRelease {
  const r = FieldReader.of(value, where);
  const version = r.string('version');
  if (semver.valid(version) !== version) r.fail('version', 'a semver version');
  const installers = r.array('installers').map((item, i) => {
    const ir = FieldReader.of(item, `${where}.installers[${i}]`);
    const target = ir.string('target');
    const kind = ir.string('kind');
    if (!(INSTALLER_KINDS as readonly string[]).includes(kind)) ir.fail('kind', INSTALLER_KINDS.join('|'));
    return { target, kind: kind as InstallerKind };
  });
  return {
    version,
    releaseDate: r.string('releaseDate'),
    releaseNotes: r.optionalString('releaseNotes'),
    stagingPercentage: parseStaging(r),
    installers,
  };
}

/** Parses a channel index downloaded (and verified) as a target. Untrusted shape: check it all. */
export function parseChannelIndex(bytes: Uint8Array): ChannelIndex {
  if (bytes.length > CHANNEL_INDEX_MAX_BYTES) throw new DeserializationError('channel index too large');
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new DeserializationError('channel index is not valid JSON', { cause });
  }
  const r = FieldReader.of(doc, 'channel index');
  if (r.integer('format') !== CHANNEL_INDEX_FORMAT) r.fail('format', `${CHANNEL_INDEX_FORMAT}`);
  const releases = r.array('releases');
  if (releases.length > CHANNEL_INDEX_MAX_RELEASES * 5) r.fail('releases', 'a short list');
  return {
    format: CHANNEL_INDEX_FORMAT,
    channel: r.string('channel'),
    platform: validatePlatform(r.string('platform')),
    arch: validateArch(r.string('arch')),
    releases: releases.map((rel, i) => parseRelease(rel, `channel index.releases[${i}]`)),
  };
}

/** Canonical serialization of an index (stable bytes, so re-adding a release changes nothing). */
export function serializeChannelIndex(index: ChannelIndex): Uint8Array {
  return Buffer.from(JSON.stringify(index, null, 1) + '\n', 'utf8');
}

export * from './chunk-map.js';
