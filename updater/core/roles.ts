/** Role definitions (key ids + threshold), key tables and role-name rules. */
import { DeserializationError } from './errors.js';
import { defineField, FieldReader, isPlainObject, type JsonObject } from './fields.js';
import type { PublicKey } from './keys.js';

export const TOP_LEVEL_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

/** Longest role name we accept: it becomes a file name and a URL path segment. */
export const MAX_ROLE_NAME_LENGTH = 200;

/**
 * Role names become file and URL names, so they are checked here once: non-empty, bounded,
 * no control characters, not `.`/`..`. Stores and URLs percent-encode them on top of this.
 */
export function validateRoleName(name: string, where: string): string {
  if (
    name.length === 0 ||
    name.length > MAX_ROLE_NAME_LENGTH ||
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    /[\u0000-\u001f\u007f]/.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    throw new DeserializationError(`${where}: invalid role name ${JSON.stringify(name.slice(0, 80))}`);
  }
  return name;
}

/** The keys and threshold trusted for a role (spec 2.1.1 `roles`, 2.1.4 delegations). */
export class Role {
  constructor(
    readonly keyids: string[],
    readonly threshold: number,
    readonly unrecognized: JsonObject = {},
  ) {}

  static fromJSON(value: unknown, where: string): Role {
    const r = FieldReader.of(value, where);
    const keyids = r.stringArray('keyids', { unique: true });
    const threshold = r.integer('threshold', 1);
    return new Role(keyids, threshold, r.unrecognized());
  }

  toJSON(): JsonObject {
    return { ...this.unrecognized, keyids: this.keyids, threshold: this.threshold };
  }
}

function parseKey(value: unknown, where: string): PublicKey {
  const r = FieldReader.of(value, where);
  r.string('keytype');
  r.string('scheme');
  const keyval = r.object('keyval');
  if (typeof keyval.public !== 'string') r.fail('keyval.public', 'a string');
  // Keep the object exactly as received (unknown fields included): it is part of signed data.
  return value as PublicKey;
}

/** A `keys` table: keyid -> public key. */
export function parseKeys(value: JsonObject, where: string): Record<string, PublicKey> {
  const keys: Record<string, PublicKey> = {};
  for (const [keyid, key] of Object.entries(value)) {
    if (!isPlainObject(key)) throw new DeserializationError(`${where}.${keyid}: expected an object`);
    defineField(keys, keyid, parseKey(key, `${where}.${keyid}`));
  }
  return keys;
}
