/**
 * The signed parts of TUF metadata (spec 4.3-4.5): root, timestamp, snapshot and targets, with
 * the MetaFile and TargetFile entries they hold. Parsing checks every type and range and keeps
 * unrecognized fields so they survive a round trip. The envelope around them is metadata.ts.
 */
import { Delegations } from './delegations.js';
import { DeserializationError } from './errors.js';
import { defineField, FieldReader, isPlainObject, stringRecord, type JsonObject } from './fields.js';
import type { PublicKey } from './keys.js';
import { parseKeys, Role, TOP_LEVEL_ROLES, type TopLevelRole } from './roles.js';

export const SPEC_VERSION = '1.0.31';

/** `YYYY-MM-DDTHH:MM:SSZ`, the only form the spec and python-tuf accept. */
const EXPIRES_FORMAT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

function parseExpires(value: string, where: string): number {
  const m = EXPIRES_FORMAT.exec(value);
  const ms = m ? Date.parse(value) : NaN;
  // Date.parse accepts 2025-02-30; round-tripping catches impossible dates.
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().replace('.000Z', 'Z') !== value) {
    throw new DeserializationError(`${where}.expires: expected YYYY-MM-DDTHH:MM:SSZ, got ${JSON.stringify(value)}`);
  }
  return ms;
}

/** Formats a date the way `expires` must be written. */
export function formatExpires(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function checkSpecVersion(value: string, where: string): void {
  const parts = value.split('.');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new DeserializationError(`${where}.spec_version: ${JSON.stringify(value)} is not a version`);
  }
  if (parts[0] !== '1') throw new DeserializationError(`${where}.spec_version: unsupported major version ${parts[0]}`);
}

function parseHashes(value: unknown, where: string): Record<string, string> {
  const hashes = isPlainObject(value) ? stringRecord(value, `${where}.hashes`) : undefined;
  if (!hashes || !hasAnyField(hashes)) throw new DeserializationError(`${where}.hashes: expected a non-empty object`);
  return hashes;
}

/** `Object.keys(obj).length > 0` without building the array (once per target). */
function hasAnyField(obj: JsonObject): boolean {
  for (const key in obj) if (Object.prototype.hasOwnProperty.call(obj, key)) return true;
  return false;
}

/** `const { a, b, ...rest } = obj` for two known fields, at a fraction of the cost (once per target). */
function fieldsExcept(obj: JsonObject, a: string, b: string): JsonObject {
  const rest: JsonObject = {};
  for (const key of Object.keys(obj)) if (key !== a && key !== b) defineField(rest, key, obj[key]);
  return rest;
}

/** Fields every signed role shares (spec 4.2). */
export interface SignedCommon {
  version: number;
  expires: string;
  specVersion?: string;
  unrecognized?: JsonObject;
}

export abstract class Signed {
  abstract readonly type: TopLevelRole;
  /** Mutable for publishers working on an `editable()` copy; parsed metadata is frozen. */
  version: number;
  private expiresValue: string;
  private expiresMs: number;
  readonly specVersion: string;
  readonly unrecognized: JsonObject;

  constructor(common: SignedCommon) {
    this.version = common.version;
    this.expiresValue = common.expires;
    this.expiresMs = parseExpires(common.expires, 'signed');
    this.specVersion = common.specVersion ?? SPEC_VERSION;
    this.unrecognized = common.unrecognized ?? {};
  }

  get expires(): string {
    return this.expiresValue;
  }

  set expires(value: string) {
    this.expiresMs = parseExpires(value, 'signed');
    this.expiresValue = value;
  }

  /** Milliseconds since the epoch. */
  get expiresAt(): number {
    return this.expiresMs;
  }

  /** Spec 5.x: metadata is expired at and after its `expires` instant. */
  isExpired(referenceTime: Date): boolean {
    return referenceTime.getTime() >= this.expiresMs;
  }

  protected commonJSON(): JsonObject {
    return {
      ...this.unrecognized,
      _type: this.type,
      spec_version: this.specVersion,
      version: this.version,
      expires: this.expires,
    };
  }

  abstract toJSON(): JsonObject;
}

function readCommon(r: FieldReader, type: TopLevelRole): SignedCommon {
  const actual = r.string('_type');
  if (actual !== type) throw new DeserializationError(`expected ${type} metadata, got _type ${JSON.stringify(actual)}`);
  const specVersion = r.string('spec_version');
  checkSpecVersion(specVersion, r.where);
  const version = r.integer('version', 1);
  const expires = r.string('expires');
  parseExpires(expires, r.where);
  return { version, expires, specVersion };
}

export class Root extends Signed {
  readonly type = 'root' as const;
  constructor(
    common: SignedCommon,
    readonly keys: Record<string, PublicKey>,
    readonly roles: Record<TopLevelRole, Role>,
    public consistentSnapshot: boolean | undefined,
  ) {
    super(common);
    for (const name of TOP_LEVEL_ROLES) {
      if (!roles[name]) throw new DeserializationError(`root.roles: missing ${name}`);
    }
  }

  static fromJSON(value: unknown): Root {
    const r = FieldReader.of(value, 'root');
    const common = readCommon(r, 'root');
    const consistentSnapshot = r.optionalBoolean('consistent_snapshot');
    const keys = parseKeys(r.object('keys'), 'root.keys');
    const rolesObj = r.object('roles');
    const roles = {} as Record<TopLevelRole, Role>;
    for (const [name, role] of Object.entries(rolesObj)) {
      if (!(TOP_LEVEL_ROLES as readonly string[]).includes(name)) {
        throw new DeserializationError(`root.roles: unknown role ${JSON.stringify(name)}`);
      }
      roles[name as TopLevelRole] = Role.fromJSON(role, `root.roles.${name}`);
    }
    return new Root({ ...common, unrecognized: r.unrecognized() }, keys, roles, consistentSnapshot);
  }

  /** Keys and threshold of a top-level role. */
  getRole(name: string): Role | undefined {
    return (TOP_LEVEL_ROLES as readonly string[]).includes(name) ? this.roles[name as TopLevelRole] : undefined;
  }

  toJSON(): JsonObject {
    const roles: JsonObject = {};
    for (const name of TOP_LEVEL_ROLES) roles[name] = this.roles[name].toJSON();
    return {
      ...this.commonJSON(),
      ...(this.consistentSnapshot === undefined ? {} : { consistent_snapshot: this.consistentSnapshot }),
      keys: this.keys,
      roles,
    };
  }
}

/** Version (and optionally length and hashes) of a metadata file (spec 4.4 METAFILES). */
export class MetaFile {
  constructor(
    readonly version: number,
    readonly length?: number,
    readonly hashes?: Record<string, string>,
    readonly unrecognized: JsonObject = {},
  ) {}

  static fromJSON(value: unknown, where: string): MetaFile {
    const r = FieldReader.of(value, where);
    const version = r.integer('version', 1);
    const length = r.optionalInteger('length', 0);
    const hashes = r.has('hashes') ? parseHashes(r.raw('hashes'), where) : undefined;
    return new MetaFile(version, length, hashes, r.unrecognized());
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      version: this.version,
      ...(this.length === undefined ? {} : { length: this.length }),
      ...(this.hashes === undefined ? {} : { hashes: this.hashes }),
    };
  }
}

export class Timestamp extends Signed {
  readonly type = 'timestamp' as const;
  constructor(
    common: SignedCommon,
    public snapshotMeta: MetaFile,
  ) {
    super(common);
  }

  static fromJSON(value: unknown): Timestamp {
    const r = FieldReader.of(value, 'timestamp');
    const common = readCommon(r, 'timestamp');
    const meta = r.object('meta');
    if (Object.keys(meta).length !== 1 || !('snapshot.json' in meta)) {
      throw new DeserializationError('timestamp.meta: expected exactly snapshot.json');
    }
    const snapshotMeta = MetaFile.fromJSON(meta['snapshot.json'], 'timestamp.meta.snapshot.json');
    return new Timestamp({ ...common, unrecognized: r.unrecognized() }, snapshotMeta);
  }

  toJSON(): JsonObject {
    return { ...this.commonJSON(), meta: { 'snapshot.json': this.snapshotMeta.toJSON() } };
  }
}

export class Snapshot extends Signed {
  readonly type = 'snapshot' as const;
  /** `<role>.json` -> meta, for targets and every delegated role. */
  constructor(
    common: SignedCommon,
    readonly meta: Map<string, MetaFile>,
  ) {
    super(common);
  }

  static fromJSON(value: unknown): Snapshot {
    const r = FieldReader.of(value, 'snapshot');
    const common = readCommon(r, 'snapshot');
    const meta = new Map<string, MetaFile>();
    for (const [name, m] of Object.entries(r.object('meta'))) {
      meta.set(name, MetaFile.fromJSON(m, `snapshot.meta.${name}`));
    }
    return new Snapshot({ ...common, unrecognized: r.unrecognized() }, meta);
  }

  /** Meta of a targets role (top-level or delegated) by role name. */
  roleMeta(roleName: string): MetaFile | undefined {
    return this.meta.get(`${roleName}.json`);
  }

  toJSON(): JsonObject {
    const meta: JsonObject = {};
    for (const [name, m] of this.meta) defineField(meta, name, m.toJSON());
    return { ...this.commonJSON(), meta };
  }
}

/** A target file entry (spec 4.5 TARGETS). `custom` is kept with the other unrecognized fields. */
export class TargetFile {
  constructor(
    readonly path: string,
    readonly length: number,
    readonly hashes: Record<string, string>,
    readonly unrecognized: JsonObject = {},
  ) {}

  /** Hand-written rather than FieldReader: a targets file may hold 100,000 of these. */
  static fromJSON(path: string, value: unknown): TargetFile {
    if (!isPlainObject(value)) throw new DeserializationError(`targets.${path}: expected an object`);
    const { length, hashes } = value;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new DeserializationError(`targets.${path}.length: expected an integer >= 0`);
    }
    return new TargetFile(
      path,
      length,
      parseHashes(hashes, `targets.${path}`),
      fieldsExcept(value, 'length', 'hashes'),
    );
  }

  get custom(): unknown {
    return this.unrecognized.custom;
  }

  toJSON(): JsonObject {
    return { ...this.unrecognized, length: this.length, hashes: this.hashes };
  }
}

export class Targets extends Signed {
  readonly type = 'targets' as const;
  constructor(
    common: SignedCommon,
    readonly targets: Map<string, TargetFile>,
    public delegations?: Delegations,
  ) {
    super(common);
  }

  static fromJSON(value: unknown): Targets {
    const r = FieldReader.of(value, 'targets');
    const common = readCommon(r, 'targets');
    const targets = new Map<string, TargetFile>();
    for (const [path, t] of Object.entries(r.object('targets'))) targets.set(path, TargetFile.fromJSON(path, t));
    const delegations = r.has('delegations')
      ? Delegations.fromJSON(r.raw('delegations'), 'targets.delegations')
      : undefined;
    return new Targets({ ...common, unrecognized: r.unrecognized() }, targets, delegations);
  }

  /** Keys and threshold of a role this targets metadata delegates to. */
  getRole(name: string): Role | undefined {
    return this.delegations?.getRole(name);
  }

  /** Keys this targets metadata uses for its delegations. */
  get keys(): Record<string, PublicKey> {
    return this.delegations?.keys ?? {};
  }

  toJSON(): JsonObject {
    const targets: JsonObject = {};
    for (const [path, t] of this.targets) defineField(targets, path, t.toJSON());
    return {
      ...this.commonJSON(),
      targets,
      ...(this.delegations ? { delegations: this.delegations.toJSON() } : {}),
    };
  }
}

export type AnySigned = Root | Timestamp | Snapshot | Targets;
export type SignedClass<T extends AnySigned> = { fromJSON(value: unknown): T };

export const SIGNED_CLASSES: Record<TopLevelRole, SignedClass<AnySigned>> = {
  root: Root,
  timestamp: Timestamp,
  snapshot: Snapshot,
  targets: Targets,
};
