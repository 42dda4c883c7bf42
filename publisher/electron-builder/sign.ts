/**
 * afterAllArtifactBuild: which of the build's files are installers the app updater can
 * install, which release (version, platform, arch) each belongs to, and publishing them: one
 * release per platform and arch, all in one transaction.
 */
import { basename } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { installerKindOf, validateVersion, type Arch, type Platform } from '../../updater/release/index.js';
import { addReleases, type AddReleaseResult } from '../add.js';
import type { KeyOptions } from '../options.js';
import type { HookSettings } from './settings.js';

/** What afterPack learned about one file electron-builder produced. */
export interface ArtifactRecord {
  file: string;
  platform: Platform;
  /** Undefined when electron-builder built one file for several archs. */
  arch?: Arch;
  /** electron-builder's target name (nsis, portable, tar.gz, appImage, ...). */
  targetName?: string;
  version: string;
  /** The archs packed for this platform in the same build (to place a file without an arch). */
  packedArchs: ReadonlySet<Arch>;
}

export interface ReleaseGroup {
  version: string;
  platform: Platform;
  arch: Arch;
  files: string[];
}

export interface SortedArtifacts {
  groups: ReleaseGroup[];
  /** Files that look like installers but are not the kind the updater installs, with why. */
  skipped: Array<{ file: string; reason: string }>;
}

/**
 * Groups the build's installers by release. Files that are not installers (blockmaps, update
 * manifests) are ignored; a Windows .exe counts only from the nsis target, since the updater
 * runs every .exe as an NSIS installer (portable and Squirrel builds are skipped).
 */
export function groupInstallers(
  artifactPaths: readonly string[],
  recordOf: (file: string) => ArtifactRecord | undefined,
): SortedArtifacts {
  const byRelease = new Map<string, ReleaseGroup>();
  const skipped: SortedArtifacts['skipped'] = [];
  for (const file of artifactPaths) {
    const kind = installerKindOf(basename(file));
    if (!kind) continue;
    const record = recordOf(file);
    if (!record) {
      throw new ValueError(
        `no platform and arch known for ${basename(file)}: set "afterPack": "electron-tuf/electron-builder" too (or call its afterPack from yours)`,
      );
    }
    if (kind === 'nsis' && record.targetName?.toLowerCase() !== 'nsis') {
      skipped.push({ file, reason: `built by the ${record.targetName ?? 'unknown'} target, not nsis` });
      continue;
    }
    const arch = record.arch ?? onlyArch(record);
    const version = validateVersion(record.version);
    const key = `${version} ${record.platform} ${arch}`;
    const group = byRelease.get(key) ?? { version, platform: record.platform, arch, files: [] };
    group.files.push(file);
    byRelease.set(key, group);
  }
  return { groups: [...byRelease.values()], skipped };
}

function onlyArch(record: ArtifactRecord): Arch {
  if (record.packedArchs.size === 1) return [...record.packedArchs][0];
  throw new ValueError(
    `${basename(record.file)} serves several archs (${[...record.packedArchs].join(', ')}); the updater needs one installer per arch: build each arch on its own`,
  );
}

export interface PublishInput {
  settings: HookSettings & { repository: string };
  keyOptions: KeyOptions;
  notes?: string;
  now: Date;
}

/**
 * Publishes every group in one transaction (addReleases): all of the build's releases appear
 * together, or none does. Re-running the build is idempotent: a file already published
 * identically is left unchanged.
 */
export async function publishGroups(groups: ReleaseGroup[], input: PublishInput): Promise<AddReleaseResult[]> {
  const options = {
    repo: input.settings.repository,
    ...input.keyOptions,
    keys: input.settings.keys ?? input.keyOptions.keys,
    now: input.now,
  };
  return addReleases(
    options,
    groups.map((group) => ({
      files: group.files,
      version: group.version,
      channel: input.settings.channel,
      platform: group.platform,
      arch: group.arch,
      stagingPercentage: input.settings.stagingPercentage,
      chunkMap: input.settings.chunkMap,
      notes: input.notes,
    })),
  );
}
