/**
 * Delegations in targets metadata: which roles are trusted for which target paths.
 * Spec 2.1.4 (delegations), TAP 15 (succinct hash bins).
 */
import { createHash } from 'node:crypto';
import { DeserializationError } from './errors.js';
import { FieldReader, type JsonObject } from './fields.js';
import { parseKeys, Role, TOP_LEVEL_ROLES, validateRoleName } from './roles.js';
import type { PublicKey } from './keys.js';

const patternCache = new Map<string, RegExp>();

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/;

/** One code point as a RegExp escape, safe anywhere (in or out of a class) under the `u` flag. */
function cp(c: string): string {
  return `\\u{${c.codePointAt(0)!.toString(16)}}`;
}

/**
 * The body of a `[...]` set as Python's fnmatch reads it: a leading `!` negates, `a-z` is a
 * range, a range whose ends are reversed is dropped, other characters are literal.
 */
function translateSet(body: string[]): string {
  const negate = body[0] === '!';
  const items: string[] = [];
  for (let k = negate ? 1 : 0; k < body.length;) {
    if (body[k + 1] === '-' && k + 2 < body.length) {
      if (body[k].codePointAt(0)! <= body[k + 2].codePointAt(0)!) items.push(`${cp(body[k])}-${cp(body[k + 2])}`);
      k += 3;
    } else {
      items.push(cp(body[k]));
      k += 1;
    }
  }
  if (items.length === 0) return negate ? '.' : '(?!)'; // empty set: any char if negated, else nothing
  return `[${negate ? '^' : ''}${items.join('')}]`;
}

/**
 * A path-pattern segment as an anchored RegExp, with Python fnmatch's semantics (python-tuf
 * uses fnmatch): `*`, `?`, `[seq]`, `[!seq]`, an unclosed `[` is literal. Code points, not
 * UTF-16 units, so `?` matches one emoji.
 */
function segmentRegExp(segment: string): RegExp {
  let re = patternCache.get(segment);
  if (re) return re;
  const p = Array.from(segment);
  let src = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '[') {
      let j = i + 1;
      if (p[j] === '!') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') j++;
      if (j >= p.length) {
        src += cp(c);
      } else {
        src += translateSet(p.slice(i + 1, j));
        i = j;
      }
    } else src += REGEX_SYNTAX.test(c) ? cp(c) : c;
  }
  re = new RegExp(`^${src}$`, 'su');
  if (patternCache.size > 10_000) patternCache.clear();
  patternCache.set(segment, re);
  return re;
}

/**
 * Spec 2.1.4 `paths`: shell-style wildcards where a wildcard does not cross `/`. Like
 * python-tuf, pattern and path must have the same number of segments, each matching.
 */
export function isTargetInPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split('/');
  const patternParts = pattern.split('/');
  if (targetParts.length !== patternParts.length) return false;
  return patternParts.every((p, i) => segmentRegExp(p).test(targetParts[i]));
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A role delegated by name (spec 2.1.4 `roles`). */
export class DelegatedRole extends Role {
  constructor(
    readonly name: string,
    keyids: string[],
    threshold: number,
    readonly terminating: boolean,
    readonly paths: string[] | undefined,
    readonly pathHashPrefixes: string[] | undefined,
    unrecognized: JsonObject = {},
  ) {
    super(keyids, threshold, unrecognized);
    if ((paths === undefined) === (pathHashPrefixes === undefined)) {
      throw new DeserializationError(`delegated role ${name}: exactly one of paths and path_hash_prefixes is required`);
    }
  }

  static override fromJSON(value: unknown, where: string): DelegatedRole {
    const r = FieldReader.of(value, where);
    const name = validateRoleName(r.string('name'), where);
    const keyids = r.stringArray('keyids', { unique: true });
    const threshold = r.integer('threshold', 1);
    const terminating = r.boolean('terminating');
    const paths = r.has('paths') ? r.stringArray('paths') : undefined;
    const prefixes = r.has('path_hash_prefixes') ? r.stringArray('path_hash_prefixes') : undefined;
    prefixes?.forEach((p) => {
      if (!/^[0-9a-f]*$/.test(p))
        throw new DeserializationError(`${where}.path_hash_prefixes: ${p} is not lowercase hex`);
    });
    return new DelegatedRole(name, keyids, threshold, terminating, paths, prefixes, r.unrecognized());
  }

  isDelegatedPath(targetPath: string): boolean {
    if (this.paths) return this.paths.some((p) => isTargetInPathPattern(targetPath, p));
    const hash = sha256Hex(targetPath);
    return this.pathHashPrefixes!.some((p) => hash.startsWith(p));
  }

  override toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      name: this.name,
      keyids: this.keyids,
      threshold: this.threshold,
      terminating: this.terminating,
      ...(this.paths ? { paths: this.paths } : { path_hash_prefixes: this.pathHashPrefixes }),
    };
  }
}

/** TAP 15 succinct hash bins: 2^bitLength roles `<prefix>-<hex>` sharing keys and threshold. */
export class SuccinctRoles extends Role {
  readonly numberOfBins: number;
  private readonly suffixLength: number;

  constructor(
    keyids: string[],
    threshold: number,
    readonly bitLength: number,
    readonly namePrefix: string,
    unrecognized: JsonObject = {},
  ) {
    super(keyids, threshold, unrecognized);
    if (!Number.isInteger(bitLength) || bitLength < 1 || bitLength > 32) {
      throw new DeserializationError('succinct_roles.bit_length: expected 1..32');
    }
    this.numberOfBins = 2 ** bitLength;
    this.suffixLength = Math.ceil(bitLength / 4);
  }

  static override fromJSON(value: unknown, where: string): SuccinctRoles {
    const r = FieldReader.of(value, where);
    const keyids = r.stringArray('keyids', { unique: true });
    const threshold = r.integer('threshold', 1);
    const bitLength = r.integer('bit_length', 1);
    const prefix = validateRoleName(r.string('name_prefix'), where);
    return new SuccinctRoles(keyids, threshold, bitLength, prefix, r.unrecognized());
  }

  /** The bin a target path belongs to: the first bitLength bits of sha256(path). */
  getRoleForTarget(targetPath: string): string {
    const first32 = createHash('sha256').update(targetPath, 'utf8').digest().readUInt32BE(0);
    return this.roleName(first32 >>> (32 - this.bitLength));
  }

  roleName(bin: number): string {
    return `${this.namePrefix}-${bin.toString(16).padStart(this.suffixLength, '0')}`;
  }

  *roleNames(): Generator<string> {
    for (let i = 0; i < this.numberOfBins; i++) yield this.roleName(i);
  }

  isDelegatedRole(name: string): boolean {
    const prefix = this.namePrefix + '-';
    if (!name.startsWith(prefix)) return false;
    const suffix = name.slice(prefix.length);
    if (suffix.length !== this.suffixLength || !/^[0-9a-f]+$/.test(suffix)) return false;
    return parseInt(suffix, 16) < this.numberOfBins;
  }

  override toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      keyids: this.keyids,
      threshold: this.threshold,
      bit_length: this.bitLength,
      name_prefix: this.namePrefix,
    };
  }
}

/** A role a delegator trusts for a target, in the order the search must consider them. */
export interface RoleForTarget {
  name: string;
  terminating: boolean;
}

export class Delegations {
  constructor(
    readonly keys: Record<string, PublicKey>,
    readonly roles: DelegatedRole[] | undefined,
    readonly succinctRoles: SuccinctRoles | undefined,
    readonly unrecognized: JsonObject = {},
  ) {
    if ((roles === undefined) === (succinctRoles === undefined)) {
      throw new DeserializationError('delegations: exactly one of roles and succinct_roles is required');
    }
    const seen = new Set<string>();
    for (const role of roles ?? []) {
      if (seen.has(role.name)) throw new DeserializationError(`delegations: duplicate role ${role.name}`);
      if ((TOP_LEVEL_ROLES as readonly string[]).includes(role.name)) {
        throw new DeserializationError(`delegations: ${role.name} is a top-level role name`);
      }
      seen.add(role.name);
    }
  }

  static fromJSON(value: unknown, where: string): Delegations {
    const r = FieldReader.of(value, where);
    const keys = parseKeys(r.object('keys'), `${where}.keys`);
    const roles = r.has('roles')
      ? r.array('roles').map((v, i) => DelegatedRole.fromJSON(v, `${where}.roles[${i}]`))
      : undefined;
    const succinct = r.has('succinct_roles')
      ? SuccinctRoles.fromJSON(r.raw('succinct_roles'), `${where}.succinct_roles`)
      : undefined;
    return new Delegations(keys, roles, succinct, r.unrecognized());
  }

  /** The role definition (keys and threshold) of a delegated role name, if this delegates it. */
  getRole(name: string): Role | undefined {
    if (this.roles) return this.roles.find((r) => r.name === name);
    return this.succinctRoles!.isDelegatedRole(name) ? this.succinctRoles : undefined;
  }

  /** Spec 5.6.7.2: the delegations to search for a target, in listed order. */
  *getRolesForTarget(targetPath: string): Generator<RoleForTarget> {
    if (this.roles) {
      for (const role of this.roles) {
        if (role.isDelegatedPath(targetPath)) yield { name: role.name, terminating: role.terminating };
      }
    } else {
      // TAP 15: a succinct delegation is terminating; every path falls in exactly one bin.
      yield { name: this.succinctRoles!.getRoleForTarget(targetPath), terminating: true };
    }
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      keys: this.keys,
      ...(this.roles ? { roles: this.roles.map((r) => r.toJSON()) } : { succinct_roles: this.succinctRoles!.toJSON() }),
    };
  }
}
