/**
 * Where everything of a repository lives on disk, and the names files get.
 *
 *   <repo>/metadata/          served: N.root.json, N.<role>.json (consistent snapshots), timestamp.json
 *   <repo>/targets/           served: <dir>/<sha256>.<name> and <dir>/<sha512>.<name> (one inode)
 *   <repo>/electron-tuf.json  the publisher's settings (expiry per role); not served
 *   <repo>/staged/            roles waiting for signatures, with their detached signatures; not served
 *   <repo>/.incoming/         files being hashed and copied before they move into targets/
 *   <repo>/.publish.lock      held while a command changes the repository
 *
 * Names built here come from role names and target paths, so each is checked to stay one
 * plain name inside its directory.
 */
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import { percentEncode } from '../updater/client/target-path.js';

export interface RepositoryPaths {
  root: string;
  metadata: string;
  targets: string;
  config: string;
  staged: string;
  incoming: string;
  /** Pass to withLock, which creates `<lock>.lock`. */
  lock: string;
}

export function repositoryPaths(repo: string): RepositoryPaths {
  const root = resolve(repo);
  return {
    root,
    metadata: join(root, 'metadata'),
    targets: join(root, 'targets'),
    config: join(root, 'electron-tuf.json'),
    staged: join(root, 'staged'),
    incoming: join(root, '.incoming'),
    lock: join(root, '.publish'),
  };
}

/** True when `child` is `parent` or inside it (lexically, after resolving). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

/**
 * The file name of a role's metadata as clients request it (spec 5.3.3, 5.5.1, 5.6.1):
 * `<version>.<role>.json`, or `<role>.json` for timestamp. Role names are percent-encoded as
 * the clients encode them in URLs, so the file is where a client will look.
 */
export function metadataFileName(role: string, version?: number): string {
  const name = `${percentEncode(role)}.json`;
  if (version === undefined) return name;
  if (!Number.isSafeInteger(version) || version < 1) throw new ValueError(`invalid metadata version ${version}`);
  return `${version}.${name}`;
}

/** Longest last segment of a target path, in UTF-8 bytes: `<128 hex>.<name>` must fit NAME_MAX (255). */
export const MAX_TARGET_NAME_BYTES = 120;
/** Longest target path we publish, in UTF-8 bytes. */
export const MAX_PUBLISHED_PATH_BYTES = 1024;

// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_SEGMENT = /[\u0000-\u001f\u007f\\:*?"<>|]/;

/**
 * Checks a target path the publisher is asked to publish. Stricter than what a client accepts:
 * `/`-separated segments, none empty, `.`/`..` or hidden (leading `.`, which the server refuses
 * to serve), no backslash, control or Windows-reserved characters; so the stored files always
 * land inside targets/ on any platform and every client can fetch them.
 */
export function validatePublishedTargetPath(path: string): string {
  const shown = JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}...` : path);
  if (typeof path !== 'string' || path.length === 0) throw new ValueError('target path is empty');
  if (Buffer.byteLength(path, 'utf8') > MAX_PUBLISHED_PATH_BYTES)
    throw new ValueError(`target path ${shown} is too long`);
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.startsWith('.')) {
      throw new ValueError(`target path ${shown} has an empty, '.', '..' or hidden segment`);
    }
    if (FORBIDDEN_IN_SEGMENT.test(segment) || segment !== segment.trim() || segment.endsWith('.')) {
      throw new ValueError(`target path ${shown} has a character that cannot be stored or served portably`);
    }
  }
  if (Buffer.byteLength(segments[segments.length - 1], 'utf8') > MAX_TARGET_NAME_BYTES) {
    throw new ValueError(`target path ${shown}: file name longer than ${MAX_TARGET_NAME_BYTES} bytes`);
  }
  percentEncode(path); // lone surrogates
  return path;
}

/**
 * The file a target is stored in under consistent snapshots (spec 5.7.3): `<dir>/<hash>.<name>`
 * inside targets/. Clients prefix the name with one of the target's hashes (ours and python-tuf
 * pick sha256, tuf-js the first listed), so every listed hash gets a name.
 */
export function targetFilePath(paths: RepositoryPaths, targetPath: string, hash: string): string {
  validatePublishedTargetPath(targetPath);
  if (!/^[0-9a-f]{16,128}$/.test(hash)) throw new ValueError(`invalid hash ${JSON.stringify(hash.slice(0, 20))}`);
  const file = join(paths.targets, dirname(targetPath), `${hash}.${basename(targetPath)}`);
  if (!isInside(paths.targets, file) || file === paths.targets) {
    throw new ValueError(`target path ${JSON.stringify(targetPath)} does not stay inside targets/`);
  }
  return file;
}

/** The staged (unpublished) metadata of a role and the folder of its detached signatures. */
export function stagedPaths(paths: RepositoryPaths, role: string): { file: string; signatures: string } {
  const name = percentEncode(role);
  return { file: join(paths.staged, `${name}.json`), signatures: join(paths.staged, `${name}.sigs`) };
}
