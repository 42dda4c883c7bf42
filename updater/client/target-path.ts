/**
 * Names of targets and metadata, on disk and on the wire. Target paths and delegated role
 * names come from the repository (hostile until verified, and even signed ones may be odd), so
 * every name built here is percent-encoded into a single path segment that cannot climb out of
 * its directory or base URL on any platform.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ValueError } from '../core/errors.js';

/** Longest target path accepted, in UTF-8 bytes (PATH_MAX on Linux). */
export const MAX_TARGET_PATH_BYTES = 4096;

/**
 * Longest file name written: NAME_MAX is 255 bytes on ext4/APFS and 255 UTF-16 units on NTFS.
 * Encoded names are ASCII, so one limit serves all.
 */
export const MAX_FILE_NAME_LENGTH = 255;

/**
 * Python's `urllib.parse.quote(text, safe='')`, which python-tuf uses for target file names,
 * metadata file names and metadata URLs: UTF-8 bytes outside `[A-Za-z0-9_.~-]` become `%XX`
 * (uppercase hex), so `/`, `\`, `:`, `%` and NUL can never survive as themselves.
 * ValueError for a string with a lone surrogate, which has no UTF-8 form (TextEncoder would
 * silently turn it into U+FFFD, making two names share one file).
 */
export function percentEncode(text: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch (error) {
    throw new ValueError(`${describeName(text)} is not well-formed Unicode`, { cause: error });
  }
  // encodeURIComponent also keeps !'()* unencoded; quote() does not.
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Windows opens a device, not a file, for these names, with or without an extension. */
const WINDOWS_DEVICE_NAME = /^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\.|$)/i;

/**
 * Makes an already percent-encoded name mean one file on every platform: Windows treats
 * `NUL.json` as a device and drops a trailing dot (so `a.` and `a` would collide, and `.`/`..`
 * would be directories). Those characters are escaped too; decoding still returns the original.
 */
export function portableFileName(encoded: string): string {
  let name = encoded;
  if (WINDOWS_DEVICE_NAME.test(name)) name = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
  if (name.endsWith('.')) name = `${name.slice(0, -1)}%2E`;
  return name;
}

/**
 * Checks a target path before it is used for anything: a non-empty string of at most
 * MAX_TARGET_PATH_BYTES UTF-8 bytes, without NUL, and well-formed Unicode.
 */
export function validateTargetPath(targetPath: unknown): asserts targetPath is string {
  if (typeof targetPath !== 'string') throw new ValueError(`target path must be a string, got ${typeof targetPath}`);
  if (targetPath.length === 0) throw new ValueError('target path is empty');
  if (targetPath.includes('\0')) throw new ValueError(`target path ${describeName(targetPath)} contains NUL`);
  if (Buffer.byteLength(targetPath, 'utf8') > MAX_TARGET_PATH_BYTES) {
    throw new ValueError(`target path ${describeName(targetPath)} is longer than ${MAX_TARGET_PATH_BYTES} bytes`);
  }
  percentEncode(targetPath); // throws ValueError on lone surrogates
}

/**
 * The single file name a target is stored under: the whole path percent-encoded as python-tuf
 * does (`a/b.txt` -> `a%2Fb.txt`), made portable. A name too long for the file system keeps a
 * readable prefix and ends in `+<sha256 of the path>`; `+` is always encoded otherwise, so such
 * a name can never equal another path's plain encoding.
 */
export function targetFileName(targetPath: string): string {
  validateTargetPath(targetPath);
  const name = portableFileName(percentEncode(targetPath));
  if (name.length <= MAX_FILE_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(targetPath, 'utf8').digest('hex');
  return `${prefixWithoutSplitEscape(name, MAX_FILE_NAME_LENGTH - hash.length - 1)}+${hash}`;
}

/**
 * The longest start of an encoded name, at most `length` characters, that ends on a character
 * boundary: never inside a `%XX` escape, nor between the escapes of one UTF-8 sequence.
 */
function prefixWithoutSplitEscape(encoded: string, length: number): string {
  let cut = 0;
  for (let i = 0; i <= length && i < encoded.length; i += encoded[i] === '%' ? 3 : 1) {
    if (!isUtf8ContinuationEscape(encoded, i)) cut = i;
  }
  return encoded.slice(0, cut);
}

function isUtf8ContinuationEscape(encoded: string, at: number): boolean {
  if (encoded[at] !== '%') return false;
  const byte = Number.parseInt(encoded.slice(at + 1, at + 3), 16);
  return byte >= 0x80 && byte <= 0xbf;
}

/**
 * Where a target is stored: `<targetDir>/<targetFileName(path)>`, always directly inside
 * targetDir, whatever the path holds (`../`, absolute paths, backslashes, drive letters, `%2e%2e`).
 * The final check is redundant with the encoding by design: it is what guarantees the promise.
 */
export function targetFilePath(targetDir: string, targetPath: string): string {
  const dir = resolve(targetDir);
  const name = targetFileName(targetPath);
  const filePath = join(dir, name);
  if (dirname(filePath) !== dir || basename(filePath) !== name) {
    throw new ValueError(`target path ${describeName(targetPath)} does not map to a file inside ${dir}`);
  }
  return filePath;
}

/**
 * The URL a target is downloaded from: each `/`-separated segment percent-encoded, and with
 * consistent snapshots (spec 5.7.3) the hash prefixed to the last segment:
 * `releases/1.0/app.tar.gz` -> `<base>/releases/1.0/<hash>.app.tar.gz`. Refuses `.` and `..`
 * segments: URL parsers resolve them (even as `%2e%2e`), which would leave the base URL.
 */
export function targetUrl(baseUrl: string, targetPath: string, hashPrefix?: string): string {
  validateTargetPath(targetPath);
  const segments = targetPath.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new ValueError(`target path ${describeName(targetPath)} has a '.' or '..' segment and cannot be fetched`);
  }
  if (hashPrefix !== undefined) {
    if (hashPrefix.length === 0) throw new ValueError('consistent-snapshot hash prefix is empty');
    segments[segments.length - 1] = `${hashPrefix}.${segments[segments.length - 1]}`;
  }
  return withinBase(baseUrl, segments.map(percentEncode).join('/'));
}

/**
 * The URL of a role's metadata (spec 5.3.3, 5.5.1, 5.6.1): `<base>/<version>.<role>.json`, or
 * `<base>/<role>.json` without a version. The role name is one encoded segment, so a delegated
 * role `a/b` is fetched as `a%2Fb.json`, as python-tuf does.
 */
export function metadataUrl(baseUrl: string, role: string, version?: number): string {
  if (typeof role !== 'string' || role.length === 0) throw new ValueError('role name is empty');
  if (version !== undefined && !(Number.isSafeInteger(version) && version >= 1)) {
    throw new ValueError(`metadata version must be a positive integer, got ${version}`);
  }
  const name = `${percentEncode(role)}.json`;
  return withinBase(baseUrl, version === undefined ? name : `${version}.${name}`);
}

/** Appends an already encoded relative path to a base URL, with or without its trailing slash. */
function withinBase(baseUrl: string, encodedPath: string): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch (error) {
    throw new ValueError(`invalid base URL ${JSON.stringify(baseUrl)}`, { cause: error });
  }
  if (base.search !== '' || base.hash !== '' || baseUrl.includes('?') || baseUrl.includes('#')) {
    throw new ValueError(`base URL ${JSON.stringify(baseUrl)} must not have a query or fragment`);
  }
  const prefix = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = `${prefix}${encodedPath}`;
  // Belt and braces: whatever the encoding did, the parsed result must still lie under the base.
  if (!new URL(url).href.startsWith(new URL(prefix).href)) {
    throw new ValueError(`${JSON.stringify(encodedPath)} does not stay under the base URL ${JSON.stringify(baseUrl)}`);
  }
  return url;
}

/** A name for messages: quoted, control characters escaped, bounded. */
export function describeName(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
}
