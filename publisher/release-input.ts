/**
 * Checking what `repo add` (and the hook, and the service) is asked to publish, before anything
 * is hashed or locked: version, channel, platform, arch, file names, notes, staging.
 */
import { basename } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import {
  chunkMapTargetPath,
  defaultChannelFor,
  installerKindOf,
  installerTargetPath,
  validateArch,
  validateChannel,
  validatePlatform,
  validateVersion,
  type InstallerKind,
  type Platform,
} from '../updater/release/index.js';
import { wantsChunkMap } from './chunk-maps.js';
import { validatePublishedTargetPath } from './layout.js';
import type { IndexKey } from './release-entries.js';

/** Release notes are signed into every installer's metadata: keep them to a page or two. */
export const MAX_RELEASE_NOTES_BYTES = 64 * 1024;

/** The platforms each installer kind can be installed on (the app updater's installers). */
const KIND_PLATFORMS: Record<InstallerKind, readonly Platform[]> = {
  'tar.gz': ['linux', 'darwin'],
  zip: ['darwin', 'linux', 'win32'],
  AppImage: ['linux'],
  deb: ['linux'],
  rpm: ['linux'],
  nsis: ['win32'],
  dmg: ['darwin'],
};

/**
 * Control and bidirectional-formatting characters: they make a name display as something else
 * in logs, UIs and file managers (U+202E turns `MyApp\u202Egpj.exe` into `MyAppexe.jpg`).
 */
// eslint-disable-next-line no-control-regex
const DECEPTIVE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export interface ReleaseFile {
  source: string;
  /** `<version>/<name>` */
  path: string;
  kind: InstallerKind;
  /** Publish a chunk map beside it (chunk-maps.ts): its kind has one and maps are not turned off. */
  chunkMap: boolean;
}

export interface ReleaseInput {
  version: string;
  key: IndexKey;
  files: ReleaseFile[];
  notes?: string;
  staging?: number;
  /** Not errors, but probably mistakes (a file name naming another version). */
  warnings: string[];
}

export interface ReleaseRequest {
  files: string[];
  version: string;
  channel?: string;
  platform: string;
  arch: string;
  notes?: string;
  stagingPercentage?: number;
  /** Chunk maps for differential updates, for the kinds that have them (default true). */
  chunkMap?: boolean;
}

/** Refuses a file name with a control or bidirectional character, naming the code point. */
export function checkFileName(name: string): void {
  const found = DECEPTIVE_CHARACTER.exec(name);
  if (found) {
    const code = `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new ValueError(
      `${JSON.stringify(name)}: file names must not contain control or bidirectional characters (found ${code}); rename the file`,
    );
  }
}

/** Versions a file name mentions, with what follows (`MyApp-1.2.0-arm64.dmg` -> 1.2.0-arm64). */
function versionsNamed(name: string): string[] {
  const stem = name.replace(/\.(tar\.gz|tgz|zip|appimage|deb|rpm|exe|dmg)$/i, '');
  return [...stem.matchAll(/(?:^|[^0-9.])v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]*[0-9A-Za-z])?)/g)].map((m) => m[1]);
}

function checkFile(
  source: string,
  version: string,
  platform: Platform,
  chunkMaps: boolean,
  warnings: string[],
): ReleaseFile {
  const name = basename(source);
  checkFileName(name);
  const kind = installerKindOf(name);
  if (!kind)
    throw new ValueError(`${name} is not an installer (expected .tar.gz, .zip, .AppImage, .deb, .rpm, .exe or .dmg)`);
  if (!KIND_PLATFORMS[kind].includes(platform)) {
    throw new ValueError(
      `${name} is a ${kind} installer, which does not install on ${platform} (${kind} is for ${KIND_PLATFORMS[kind].join(', ')})`,
    );
  }
  const named = versionsNamed(name);
  if (
    named.length > 0 &&
    !named.some((v) => v === version || version.startsWith(`${v}-`) || v.startsWith(`${version}-`))
  ) {
    warnings.push(`${name} names version ${named[0]}, but it is published as ${version}`);
  }
  const path = validatePublishedTargetPath(installerTargetPath(version, name));
  const chunkMap = wantsChunkMap(kind, chunkMaps);
  if (chunkMap) validatePublishedTargetPath(chunkMapTargetPath(path));
  return { source, path, kind, chunkMap };
}

export function validateReleaseInput(options: ReleaseRequest): ReleaseInput {
  const version = validateVersion(options.version);
  const key: IndexKey = {
    channel: validateChannel(options.channel ?? defaultChannelFor(version)),
    platform: validatePlatform(options.platform),
    arch: validateArch(options.arch),
  };
  if (!Array.isArray(options.files) || options.files.length === 0) throw new ValueError('no installer files given');
  const warnings: string[] = [];
  const paths = new Set<string>();
  const kinds = new Map<InstallerKind, string>();
  const files = options.files.map((source) => {
    const file = checkFile(source, version, key.platform, options.chunkMap !== false, warnings);
    if (paths.has(file.path)) throw new ValueError(`${basename(source)} is given twice`);
    const other = kinds.get(file.kind);
    if (other)
      throw new ValueError(
        `${other} and ${basename(source)} are both ${file.kind} installers: a release has one installer of each kind`,
      );
    paths.add(file.path);
    kinds.set(file.kind, basename(source));
    return file;
  });
  const staging = options.stagingPercentage;
  if (staging !== undefined && !(Number.isInteger(staging) && staging >= 0 && staging <= 100)) {
    throw new ValueError(`staging percentage must be an integer from 0 to 100, got ${String(staging)}`);
  }
  if (options.notes !== undefined && Buffer.byteLength(options.notes, 'utf8') > MAX_RELEASE_NOTES_BYTES) {
    throw new ValueError(`release notes are longer than ${MAX_RELEASE_NOTES_BYTES} bytes`);
  }
  return { version, key, files, notes: options.notes, staging, warnings };
}
