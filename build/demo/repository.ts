/**
 * The demo's TUF repository, made with the publisher's library API: a new repository with
 * fresh keys, releases published into it, and a copy with one byte of an installer changed
 * (what a compromised mirror or CDN would serve).
 */
import { cp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { installerTargetPath } from '../../updater/release/index.js';
import { addRelease, initRepository, type AddReleaseResult, type InitResult } from '../../publisher/index.js';
import { repositoryPaths } from '../../publisher/layout.js';
import { DEMO_ARCH, DEMO_PLATFORM } from './app-builds.js';

export interface DemoRepository {
  repo: string;
  keys: string;
  init: InitResult;
}

/** `repo init` into `repo`, keys into `keys` (both must be new). */
export async function createDemoRepository(repo: string, keys: string): Promise<DemoRepository> {
  const init = await initRepository({ repo, keys });
  return { repo, keys, init };
}

export interface ReleaseToPublish {
  version: string;
  archive: string;
  notes: string;
}

/** `repo add`: the archive as the release's Linux installer on the stable channel. */
export async function publishRelease(repository: DemoRepository, release: ReleaseToPublish): Promise<AddReleaseResult> {
  return addRelease({
    repo: repository.repo,
    keys: repository.keys,
    files: [release.archive],
    version: release.version,
    platform: DEMO_PLATFORM,
    arch: DEMO_ARCH,
    notes: release.notes,
  });
}

export interface Tampering {
  /** The target path whose files were changed, e.g. `1.1.0/app-1.1.0-linux-x64.tar.gz`. */
  targetPath: string;
  /** The files changed (one per hash prefix the repository stores it under). */
  files: string[];
  offset: number;
  before: number;
  after: number;
}

/**
 * Copies the repository to `copy` and flips one byte in the middle of the installer of
 * `version` named like `archive`. The metadata is left genuine: only the file differs from
 * what was signed. Files are replaced, not written in place, so a hard link the copy may share
 * with the original can never carry the change back.
 */
export async function tamperedCopy(repo: string, copy: string, version: string, archive: string): Promise<Tampering> {
  await cp(repo, copy, { recursive: true, filter: (source) => !basename(source).endsWith('.lock') });
  const targetPath = installerTargetPath(version, basename(archive));
  const dir = join(repositoryPaths(copy).targets, ...targetPath.split('/').slice(0, -1));
  // Consistent snapshots store the file as <sha256>.<name> and <sha512>.<name>.
  const stored = (await readdir(dir)).filter((name) => name.endsWith(`.${basename(archive)}`));
  if (stored.length === 0) throw new ValueError(`no stored file for ${targetPath} in ${dir}`);
  let tampering: Tampering | undefined;
  for (const name of stored) {
    const file = join(dir, name);
    const bytes = await readFile(file);
    const offset = Math.floor(bytes.length / 2);
    const before = bytes[offset];
    bytes[offset] = before ^ 0xff;
    await writeFile(`${file}.tampered`, bytes);
    await rename(`${file}.tampered`, file);
    tampering ??= { targetPath, files: [], offset, before, after: bytes[offset] };
    tampering.files.push(file);
  }
  return tampering!;
}
