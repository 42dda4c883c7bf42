/**
 * What the build hook embeds into a packaged app and where: the trusted root and the
 * repository settings, under `<process.resourcesPath>/electron-tuf/`. The build hook
 * (afterPack / extraResources) and the app updater both import these names, so the two
 * sides cannot drift apart.
 *
 *   <resourcesPath>/electron-tuf/root.json       the trusted root (TUF 5.2: shipped with the app)
 *   <resourcesPath>/electron-tuf/settings.json   {"metadataUrl", "targetsUrl", "channel"?, "arch"?}
 */
import { join } from 'node:path';
import { StorageError } from '../core/errors.js';
import { FieldReader } from '../core/fields.js';
import { validateChannel } from '../release/index.js';
import { parseJsonBytes, readFileBounded } from '../node-io/index.js';

/** Folder inside the app's resources directory that holds the embedded files. */
export const EMBEDDED_DIR_NAME = 'electron-tuf';
export const EMBEDDED_ROOT_FILE = 'root.json';
export const EMBEDDED_SETTINGS_FILE = 'settings.json';

/** Same bound as the client's default for root metadata. */
export const EMBEDDED_ROOT_MAX_BYTES = 512_000;
const SETTINGS_MAX_BYTES = 16_384;

export interface EmbeddedSettings {
  /** Base URL of the TUF metadata (root, timestamp, snapshot, targets). */
  metadataUrl: string;
  /** Base URL of the targets (installers and channel indexes). */
  targetsUrl: string;
  /** The channel the app was built for; the updater's default when the app sets none. */
  channel?: string;
  /** `universal` for a macOS universal build (process.arch reports the CPU); absent otherwise. */
  arch?: 'universal';
}

export function embeddedDir(resourcesPath: string): string {
  return join(resourcesPath, EMBEDDED_DIR_NAME);
}

export function embeddedRootPath(resourcesPath: string): string {
  return join(embeddedDir(resourcesPath), EMBEDDED_ROOT_FILE);
}

export function embeddedSettingsPath(resourcesPath: string): string {
  return join(embeddedDir(resourcesPath), EMBEDDED_SETTINGS_FILE);
}

/** The bytes settings.json must hold for `settings` (what the build hook writes). */
export function serializeEmbeddedSettings(settings: EmbeddedSettings): Uint8Array {
  parseEmbeddedSettings(Buffer.from(JSON.stringify(settings))); // refuse to write what we would not read
  return Buffer.from(JSON.stringify(settings, null, 2) + '\n', 'utf8');
}

/** Checks settings.json: two http(s) URLs and an optional valid channel name. */
export function parseEmbeddedSettings(bytes: Uint8Array): EmbeddedSettings {
  const r = FieldReader.of(parseJsonBytes(bytes, EMBEDDED_SETTINGS_FILE), EMBEDDED_SETTINGS_FILE);
  const settings: EmbeddedSettings = {
    metadataUrl: httpUrl(r, 'metadataUrl'),
    targetsUrl: httpUrl(r, 'targetsUrl'),
  };
  const channel = r.optionalString('channel');
  if (channel !== undefined) settings.channel = validateChannel(channel);
  const arch = r.optionalString('arch');
  if (arch !== undefined && arch !== 'universal') r.fail('arch', '"universal"');
  if (arch !== undefined) settings.arch = 'universal';
  return settings;
}

/** Reads settings.json from the app's resources; StorageError when it is missing. */
export async function readEmbeddedSettings(resourcesPath: string): Promise<EmbeddedSettings> {
  const settings = await readEmbeddedSettingsIfAny(resourcesPath);
  if (!settings)
    throw new StorageError(
      `no update settings at ${embeddedSettingsPath(resourcesPath)}: pass metadataUrl and targetsUrl, or embed them with the build hook`,
    );
  return settings;
}

/** settings.json, or undefined when the build embedded none (any other read failure throws). */
export async function readEmbeddedSettingsIfAny(resourcesPath: string): Promise<EmbeddedSettings | undefined> {
  const bytes = await readFileBounded(embeddedSettingsPath(resourcesPath), SETTINGS_MAX_BYTES);
  return bytes && parseEmbeddedSettings(bytes);
}

/** Reads the embedded trusted root; StorageError when it is missing. */
export async function readEmbeddedRoot(resourcesPath: string): Promise<Uint8Array> {
  const path = embeddedRootPath(resourcesPath);
  const bytes = await readFileBounded(path, EMBEDDED_ROOT_MAX_BYTES);
  if (!bytes) throw new StorageError(`no trusted root at ${path}: pass trustedRoot, or embed it with the build hook`);
  return bytes;
}

function httpUrl(r: FieldReader, field: string): string {
  const value = r.string(field);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return r.fail(field, 'an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') r.fail(field, 'an http(s) URL');
  return value;
}
