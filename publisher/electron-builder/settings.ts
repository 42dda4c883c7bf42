/**
 * Settings of the electron-builder hooks: from `ELECTRON_TUF_*` environment variables, else
 * from the `electronTuf` field of the app's package.json. The environment wins setting by
 * setting, so CI can point a committed configuration at its own repository and keys.
 *
 *   ELECTRON_TUF_REPOSITORY   electronTuf.repository   repository directory (signing is off without it)
 *   ELECTRON_TUF_KEYS         electronTuf.keys         keys directory (or ELECTRON_TUF_<ROLE>_KEY secrets)
 *   ELECTRON_TUF_CHANNEL      electronTuf.channel      default: the version's prerelease tag, else stable
 *   ELECTRON_TUF_STAGING      electronTuf.staging      staged rollout percentage, 0-100
 *   ELECTRON_TUF_URL          electronTuf.url          base URL serving metadata/ and targets/
 *   ELECTRON_TUF_METADATA_URL electronTuf.metadataUrl  (instead of url, when hosted apart)
 *   ELECTRON_TUF_TARGETS_URL  electronTuf.targetsUrl
 *   ELECTRON_TUF_ROOT         electronTuf.root         root.json to embed; default: the repository's newest root
 *   ELECTRON_TUF_CHUNK_MAP    electronTuf.chunkMap     false: publish no chunk maps (differential updates); default true
 *
 * An empty variable counts as unset (CI systems expand missing secrets to ""). Relative paths
 * in the environment resolve from the working directory, those in package.json from the
 * project directory (where electron-builder runs).
 */
import { isAbsolute, resolve } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { isPlainObject } from '../../updater/core/fields.js';
import { validateChannel } from '../../updater/release/index.js';

/** The package.json field holding the hooks' settings. */
export const SETTINGS_FIELD = 'electronTuf';

export const ENV = {
  repository: 'ELECTRON_TUF_REPOSITORY',
  keys: 'ELECTRON_TUF_KEYS',
  channel: 'ELECTRON_TUF_CHANNEL',
  staging: 'ELECTRON_TUF_STAGING',
  url: 'ELECTRON_TUF_URL',
  metadataUrl: 'ELECTRON_TUF_METADATA_URL',
  targetsUrl: 'ELECTRON_TUF_TARGETS_URL',
  root: 'ELECTRON_TUF_ROOT',
  chunkMap: 'ELECTRON_TUF_CHUNK_MAP',
} as const;

type Key = keyof typeof ENV;

export interface HookSettings {
  /** Absolute path of the repository; without it nothing is signed. */
  repository?: string;
  /** Absolute path of the keys directory. */
  keys?: string;
  channel?: string;
  stagingPercentage?: number;
  /** Both or neither: the updater settings embedded in the app. */
  metadataUrl?: string;
  targetsUrl?: string;
  /** Absolute path of a root.json to embed instead of the repository's newest root. */
  root?: string;
  /** False: publish no chunk maps (docs/differential-updates.md); default true. */
  chunkMap?: boolean;
}

/** Bounds what a setting may hold before it is parsed (a path or URL, not a document). */
const MAX_SETTING_CHARS = 4096;

/**
 * The settings for one build: `env` first, then `manifest[electronTuf]`, relative paths of the
 * latter resolved from `projectDir`. ValueError names the variable or field that is wrong.
 */
export function resolveHookSettings(env: NodeJS.ProcessEnv, manifest: unknown, projectDir: string): HookSettings {
  const field = fieldOf(manifest);
  const pick = (key: Key): { value: string; from: string; relativeTo: string } | undefined => {
    const fromEnv = env[ENV[key]];
    if (fromEnv) return { value: bounded(fromEnv, ENV[key]), from: ENV[key], relativeTo: process.cwd() };
    const fromField = field[key];
    if (fromField === undefined) return undefined;
    const where = `${SETTINGS_FIELD}.${key} in package.json`;
    if (key === 'chunkMap') {
      if (typeof fromField !== 'boolean') throw new ValueError(`${where} must be true or false`);
      return { value: String(fromField), from: where, relativeTo: projectDir };
    }
    if (key === 'staging') {
      if (typeof fromField !== 'number') throw new ValueError(`${where} must be an integer from 0 to 100`);
      return { value: String(fromField), from: where, relativeTo: projectDir };
    }
    if (typeof fromField !== 'string' || fromField === '') throw new ValueError(`${where} must be a non-empty string`);
    return { value: bounded(fromField, where), from: where, relativeTo: projectDir };
  };
  const path = (key: Key): string | undefined => {
    const p = pick(key);
    return p && (isAbsolute(p.value) ? p.value : resolve(p.relativeTo, p.value));
  };
  const settings: HookSettings = { repository: path('repository'), keys: path('keys'), root: path('root') };
  const channel = pick('channel');
  if (channel) settings.channel = checked(channel.from, () => validateChannel(channel.value));
  const staging = pick('staging');
  if (staging) settings.stagingPercentage = percentage(staging.value, staging.from);
  const chunkMap = pick('chunkMap');
  if (chunkMap) settings.chunkMap = flag(chunkMap.value, chunkMap.from);
  Object.assign(settings, updaterUrls(pick('metadataUrl'), pick('targetsUrl'), pick('url')));
  return settings;
}

function fieldOf(manifest: unknown): Partial<Record<Key, unknown>> {
  const value =
    isPlainObject(manifest) && Object.hasOwn(manifest, SETTINGS_FIELD) ? manifest[SETTINGS_FIELD] : undefined;
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new ValueError(`${SETTINGS_FIELD} in package.json must be an object`);
  const unknown = Object.keys(value).filter((k) => !Object.hasOwn(ENV, k));
  if (unknown.length > 0) {
    throw new ValueError(
      `${SETTINGS_FIELD} in package.json has unknown setting(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${Object.keys(ENV).join(', ')}`,
    );
  }
  return value;
}

/**
 * metadataUrl and targetsUrl: each given on its own, or derived from one base URL as
 * `<url>/metadata` and `<url>/targets` (the repository's layout, served as is).
 */
function updaterUrls(
  metadata: { value: string; from: string } | undefined,
  targets: { value: string; from: string } | undefined,
  base: { value: string; from: string } | undefined,
): Pick<HookSettings, 'metadataUrl' | 'targetsUrl'> {
  const root = base && httpUrl(base.value, base.from).replace(/\/+$/, '');
  const metadataUrl = metadata ? httpUrl(metadata.value, metadata.from) : root && `${root}/metadata`;
  const targetsUrl = targets ? httpUrl(targets.value, targets.from) : root && `${root}/targets`;
  if (!metadataUrl !== !targetsUrl) {
    throw new ValueError(
      `set both ${ENV.metadataUrl} and ${ENV.targetsUrl} (or ${ENV.url} for both): the app needs both URLs`,
    );
  }
  return metadataUrl ? { metadataUrl, targetsUrl } : {};
}

function httpUrl(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new ValueError(`${from} is not an absolute URL`, { cause: error });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValueError(`${from} must be an http(s) URL`);
  if (url.search || url.hash)
    throw new ValueError(`${from} must not have a query or fragment (file names are appended to it)`);
  return value;
}

function percentage(value: string, from: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) > 100)
    throw new ValueError(`${from} must be an integer from 0 to 100, got ${JSON.stringify(value.slice(0, 20))}`);
  return Number(value);
}

function flag(value: string, from: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ValueError(`${from} must be true or false (or 1 or 0), got ${JSON.stringify(value.slice(0, 20))}`);
}

function bounded(value: string, from: string): string {
  if (value.length > MAX_SETTING_CHARS) throw new ValueError(`${from} is longer than ${MAX_SETTING_CHARS} characters`);
  return value;
}

function checked<T>(from: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new ValueError(`${from}: ${(e as Error).message}`);
  }
}
