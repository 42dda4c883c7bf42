/**
 * The publisher's own settings for a repository, `<repo>/electron-tuf.json` (outside the served
 * tree): how long each role's metadata stays valid when it is signed. TUF metadata records when
 * a role expires but not its intended lifetime, which `refresh` needs to judge "half of it".
 */
import { StorageError, ValueError } from '../updater/core/errors.js';
import { FieldReader } from '../updater/core/fields.js';
import { parseJsonBytes, readFileBounded, writeFileAtomic } from '../updater/node-io/index.js';
import type { RepositoryPaths } from './layout.js';

/** Roles whose keys and lifetimes the publisher manages; `bins` are the TAP 15 hashed bins. */
export const MANAGED_ROLES = ['root', 'targets', 'snapshot', 'timestamp', 'bins'] as const;
export type ManagedRole = (typeof MANAGED_ROLES)[number];

export type Lifetimes = Record<ManagedRole, number>;

/** Days. The defaults; bins live as long as targets. */
export const DEFAULT_LIFETIMES: Readonly<Lifetimes> = Object.freeze({
  root: 365,
  targets: 365,
  snapshot: 30,
  timestamp: 7,
  bins: 365,
});

/** Ten years: a longer lifetime defeats the point of expiry (freeze-attack protection). */
const MAX_LIFETIME_DAYS = 3650;
const CONFIG_FORMAT = 1;
const MAX_CONFIG_BYTES = 64 * 1024;
export const DAY_MS = 86_400_000;

export interface RepositoryConfig {
  /** Validity of newly signed metadata, in days, per role. */
  lifetimes: Lifetimes;
}

export function isManagedRole(role: string): role is ManagedRole {
  return (MANAGED_ROLES as readonly string[]).includes(role);
}

/** A lifetime in days: a positive number (fractions allowed, e.g. 0.5 for 12 h), at most ten years. */
export function validateLifetime(role: string, days: unknown): number {
  if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0 || days > MAX_LIFETIME_DAYS) {
    throw new ValueError(
      `expiry of ${role}: expected a number of days from 0 to ${MAX_LIFETIME_DAYS}, got ${String(days)}`,
    );
  }
  return days;
}

export function lifetimesWith(
  overrides: Partial<Record<string, number>> = {},
  base: Lifetimes = DEFAULT_LIFETIMES,
): Lifetimes {
  const out = { ...base };
  for (const [role, days] of Object.entries(overrides)) {
    if (days === undefined) continue;
    if (!isManagedRole(role))
      throw new ValueError(`unknown role ${JSON.stringify(role)} (expected one of ${MANAGED_ROLES.join(', ')})`);
    out[role] = validateLifetime(role, days);
  }
  return out;
}

/** Reads the settings; a repository without the file uses the defaults. */
export async function readConfig(paths: RepositoryPaths): Promise<RepositoryConfig> {
  const bytes = await readFileBounded(paths.config, MAX_CONFIG_BYTES);
  if (!bytes) return { lifetimes: { ...DEFAULT_LIFETIMES } };
  return parseConfig(bytes, paths.config);
}

/** Parses electron-tuf.json's bytes (kept elsewhere, e.g. a service's database); StorageError naming `where`. */
export function parseConfig(bytes: Uint8Array, where: string): RepositoryConfig {
  if (bytes.length > MAX_CONFIG_BYTES) throw new StorageError(`${where}: more than ${MAX_CONFIG_BYTES} bytes`);
  const doc = parseJsonBytes(bytes, where, StorageError);
  try {
    const r = FieldReader.of(doc, 'electron-tuf.json');
    if (r.integer('format') !== CONFIG_FORMAT) r.fail('format', String(CONFIG_FORMAT));
    const lifetimes = r.object('expiresDays');
    return { lifetimes: lifetimesWith(lifetimes as Record<string, number>) };
  } catch (e) {
    throw new StorageError(`${where}: ${(e as Error).message}`, { cause: e });
  }
}

/** electron-tuf.json's content for `config` (parseConfig reads it back). */
export function serializeConfig(config: RepositoryConfig): string {
  return JSON.stringify({ format: CONFIG_FORMAT, expiresDays: config.lifetimes }, null, 2) + '\n';
}

export async function writeConfig(paths: RepositoryPaths, config: RepositoryConfig): Promise<void> {
  await writeFileAtomic(paths.config, serializeConfig(config));
}
