/**
 * UpdateInfo (electron-updater's shape) from what TUF verified: the channel index's release
 * and its installer's signed target info.
 */
import semver from 'semver';
import { isPlainObject } from '../core/fields.js';
import type { TargetFile } from '../core/metadata.js';
import type { ChannelIndex } from '../release/index.js';
import type { Candidate } from './discovery.js';
import type { ReleaseNoteInfo, UpdateFileInfo, UpdateInfo } from './types.js';

/** Longest minimumSystemVersion taken from metadata (a version string, not a document). */
const MAX_SYSTEM_VERSION_CHARS = 64;

export function updateInfoOf(candidate: Candidate, target?: TargetFile): UpdateInfo {
  const release = candidate.release;
  const kind = release.installers.find((i) => i.target === candidate.installerTarget)!.kind;
  const file: UpdateFileInfo = target
    ? {
        url: target.path,
        kind,
        size: target.length,
        sha512: base64OfHex(target.hashes.sha512),
        sha256: target.hashes.sha256,
      }
    : { url: candidate.installerTarget, kind, sha512: '' };
  const info: UpdateInfo = {
    version: release.version,
    releaseDate: release.releaseDate,
    releaseName: null,
    releaseNotes: release.releaseNotes ?? null,
    channel: candidate.channel,
    files: [file],
    path: file.url,
    sha512: file.sha512,
  };
  if (release.stagingPercentage !== undefined) info.stagingPercentage = release.stagingPercentage;
  const minimum = target && minimumSystemVersionOf(target);
  if (minimum) info.minimumSystemVersion = minimum;
  return info;
}

/** What update-not-available reports when no release is listed at all. */
export function currentInfo(version: string): UpdateInfo {
  return { version, releaseDate: '', releaseNotes: null, files: [], path: '', sha512: '' };
}

export function sameTarget(a: TargetFile, b: TargetFile): boolean {
  return a.path === b.path && a.length === b.length && JSON.stringify(a.hashes) === JSON.stringify(b.hashes);
}

/**
 * fullChangelog: the notes of every release the indexes list above `current` up to `offered`
 * (included), newest first, each version once.
 */
export function changelog(indexes: readonly ChannelIndex[], current: string, offered: string): ReleaseNoteInfo[] {
  const notes = new Map<string, string | null>();
  for (const index of indexes) {
    for (const release of index.releases) {
      if (notes.has(release.version) || !semver.gt(release.version, current) || semver.gt(release.version, offered))
        continue;
      notes.set(release.version, release.releaseNotes ?? null);
    }
  }
  return [...notes].sort(([a], [b]) => semver.rcompare(a, b)).map(([version, note]) => ({ version, note }));
}

/** From the installer's signed `custom`, when the publisher set one. */
function minimumSystemVersionOf(target: TargetFile): string | undefined {
  const value = isPlainObject(target.custom) ? target.custom.minimumSystemVersion : undefined;
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SYSTEM_VERSION_CHARS ? value : undefined;
}

function base64OfHex(hex: string | undefined): string {
  return hex ? Buffer.from(hex, 'hex').toString('base64') : '';
}
