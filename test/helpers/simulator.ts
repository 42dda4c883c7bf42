/**
 * An in-memory TUF repository that implements the client's Fetcher, in the spirit of
 * python-tuf's RepositorySimulator. Metadata is signed when fetched (so a test changes the
 * model and the next fetch serves it), every request is recorded, and `serve`/`intercept`
 * let a test play the attacker with arbitrary bytes or stream behaviour.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { DownloadHTTPError, SlowRetrievalError } from '../../updater/core/errors.js';
import { digest } from '../../updater/core/hashes.js';
import { generateKey, signerFromPrivateKeyPem, type Signer } from '../../updater/core/keys.js';
import { DelegatedRole, Delegations, SuccinctRoles } from '../../updater/core/delegations.js';
import {
  formatExpires,
  Metadata,
  MetaFile,
  Root,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
  type AnySigned,
} from '../../updater/core/metadata.js';
import { Role, TOP_LEVEL_ROLES } from '../../updater/core/roles.js';
import type { Fetcher, FetchRequest, FetchResponse } from '../../updater/client/fetcher.js';

export const METADATA_URL = 'https://sim.example/metadata';
export const TARGETS_URL = 'https://sim.example/targets';

const FAR_FUTURE = '2100-01-01T00:00:00Z';

export function daysFromNow(days: number, from = new Date()): string {
  return formatExpires(new Date(from.getTime() + days * 86_400_000));
}

export function newSigner(): Signer {
  return signerFromPrivateKeyPem(generateKey('ed25519').privateKeyPem);
}

type Interceptor = (
  url: string,
  request: FetchRequest,
) => FetchResponse | undefined | Promise<FetchResponse | undefined>;

export class RepositorySimulator implements Fetcher {
  /** Current signers of each role (top-level and delegated). */
  readonly signers = new Map<string, Signer[]>();
  root: Root;
  timestamp: Timestamp;
  snapshot: Snapshot;
  /** 'targets' and delegated roles. */
  readonly targets = new Map<string, Targets>();
  /** Every published root version, signed, index = version - 1. */
  readonly signedRoots: Uint8Array[] = [];
  /** Target contents by target path. */
  readonly targetFiles = new Map<string, Uint8Array>();
  /** Every URL fetched, in order. */
  readonly fetched: string[] = [];
  /** Put length and hashes of snapshot/targets into timestamp/snapshot meta. */
  computeMetafileHashesAndLength = false;
  prefixTargetsWithHash = true;
  private readonly interceptors: Interceptor[] = [];

  private constructor() {
    const common = { version: 1, expires: FAR_FUTURE };
    const roles = Object.fromEntries(TOP_LEVEL_ROLES.map((r) => [r, new Role([], 1)])) as Root['roles'];
    this.root = new Root(common, {}, roles, true);
    for (const role of TOP_LEVEL_ROLES) this.addKey(role, newSigner());
    this.timestamp = new Timestamp({ ...common }, new MetaFile(1));
    this.snapshot = new Snapshot({ ...common }, new Map([['targets.json', new MetaFile(1)]]));
    this.targets.set('targets', new Targets({ ...common }, new Map()));
  }

  /** A repository with one ed25519 key per top-level role and root v1 published. */
  static async create(): Promise<RepositorySimulator> {
    const sim = new RepositorySimulator();
    await sim.publishRoot();
    return sim;
  }

  /** Adds a signer to a top-level role in root (call publishRoot to make it a new version). */
  addKey(role: string, signer: Signer, delegator: Root | Targets = this.root): void {
    const def = delegator.getRole(role);
    if (!def) throw new Error(`no role ${role}`);
    if (delegator instanceof Root) delegator.keys[signer.keyid] = signer.publicKey;
    else delegator.delegations!.keys[signer.keyid] = signer.publicKey;
    if (!def.keyids.includes(signer.keyid)) def.keyids.push(signer.keyid);
    const list = this.signers.get(role) ?? [];
    list.push(signer);
    this.signers.set(role, list);
  }

  /** Replaces every key of a top-level role (call publishRoot to make it a new version). */
  rotateKeys(role: string, newSigners: Signer[], threshold = 1): void {
    (this.root.roles as Record<string, Role>)[role] = new Role(
      newSigners.map((s) => s.keyid),
      threshold,
    );
    for (const s of newSigners) this.root.keys[s.keyid] = s.publicKey;
    this.signers.set(role, [...newSigners]);
  }

  /**
   * Signs the current root model as the next version and publishes it: by the current root
   * signers plus `extraSigners` (e.g. the previous root's keys), or by exactly `onlySigners`.
   */
  async publishRoot(extraSigners: Signer[] = [], onlySigners?: Signer[]): Promise<Uint8Array> {
    this.root.version = this.signedRoots.length + 1;
    const bytes = await signAll(
      new Metadata(this.root),
      onlySigners ?? [...(this.signers.get('root') ?? []), ...extraSigners],
    );
    this.signedRoots.push(bytes);
    return bytes;
  }

  /** The bytes a client is bootstrapped with. */
  get initialRoot(): Uint8Array {
    return this.signedRoots[0];
  }

  /** Adds a target to a targets role; bumps nothing (call updateTargets/updateSnapshot). */
  addTarget(path: string, data: Uint8Array | string, role = 'targets', custom?: unknown): TargetFile {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const info = new TargetFile(
      path,
      bytes.length,
      digest(bytes, ['sha256', 'sha512']),
      custom === undefined ? {} : { custom },
    );
    this.targets.get(role)!.targets.set(path, info);
    this.targetFiles.set(path, bytes);
    return info;
  }

  /** Adds a delegation from `delegator` to a new role with one fresh key. */
  addDelegation(
    delegator: string,
    role:
      | DelegatedRole
      | { name: string; paths?: string[]; pathHashPrefixes?: string[]; terminating?: boolean; threshold?: number },
  ): Targets {
    const parent = this.targets.get(delegator)!;
    const def =
      role instanceof DelegatedRole
        ? role
        : new DelegatedRole(
            role.name,
            [],
            role.threshold ?? 1,
            role.terminating ?? false,
            role.paths ?? (role.pathHashPrefixes ? undefined : ['*']),
            role.pathHashPrefixes,
          );
    parent.delegations ??= new Delegations({}, [], undefined);
    parent.delegations.roles!.push(def);
    this.addKey(def.name, newSigner(), parent);
    const md = new Targets({ version: 1, expires: FAR_FUTURE }, new Map());
    this.targets.set(def.name, md);
    this.snapshot.meta.set(`${def.name}.json`, new MetaFile(1));
    return md;
  }

  /** Delegates from `delegator` with TAP 15 succinct hash bins, one shared key. */
  addSuccinctDelegation(delegator: string, bitLength: number, namePrefix: string): SuccinctRoles {
    const parent = this.targets.get(delegator)!;
    const signer = newSigner();
    const succinct = new SuccinctRoles([signer.keyid], 1, bitLength, namePrefix);
    parent.delegations = new Delegations({ [signer.keyid]: signer.publicKey }, undefined, succinct);
    for (const name of succinct.roleNames()) {
      this.signers.set(name, [signer]);
      this.targets.set(name, new Targets({ version: 1, expires: FAR_FUTURE }, new Map()));
      this.snapshot.meta.set(`${name}.json`, new MetaFile(1));
    }
    return succinct;
  }

  /** Bumps a targets role and records its version in snapshot. */
  updateTargets(role = 'targets'): void {
    const t = this.targets.get(role)!;
    t.version += 1;
    this.snapshot.meta.set(`${role}.json`, new MetaFile(t.version));
  }

  updateSnapshot(): void {
    this.snapshot.version += 1;
    this.updateTimestamp();
  }

  updateTimestamp(): void {
    this.timestamp.version += 1;
    this.timestamp.snapshotMeta = new MetaFile(this.snapshot.version);
  }

  /** Signs and serializes a role's current model as the repository would serve it. */
  async metadataBytes(role: string, signers = this.signers.get(role) ?? []): Promise<Uint8Array> {
    return signAll(new Metadata(await this.signedModel(role)), signers);
  }

  private async signedModel(role: string): Promise<AnySigned> {
    switch (role) {
      case 'timestamp':
        if (this.computeMetafileHashesAndLength) {
          const snap = await this.metadataBytes('snapshot');
          this.timestamp.snapshotMeta = new MetaFile(this.snapshot.version, snap.length, digest(snap));
        }
        return this.timestamp;
      case 'snapshot':
        if (this.computeMetafileHashesAndLength) {
          for (const [name, t] of this.targets) {
            const bytes = await this.metadataBytes(name);
            this.snapshot.meta.set(`${name}.json`, new MetaFile(t.version, bytes.length, digest(bytes)));
          }
        }
        return this.snapshot;
      default: {
        const t = this.targets.get(role);
        if (!t) throw new Error(`unknown role ${role}`);
        return t;
      }
    }
  }

  /**
   * Writes the current repository as the static files a plain web server would publish:
   * `metadata/<N>.root.json` for every published root, `metadata/timestamp.json`, and snapshot,
   * targets and delegated roles as `metadata/<version>.<role>.json` (`<role>.json` without
   * consistent snapshots); every target under `targets/`, as `<dir>/<hash>.<name>` once per
   * hash when consistent snapshots and hash prefixes are on, else at its path. Files of
   * earlier calls stay (older versions remain servable, as on a real mirror); timestamp.json
   * is replaced. Returns the paths written, relative to `dir`.
   */
  async writeTo(dir: string): Promise<string[]> {
    const written: string[] = [];
    const put = async (relative: string, bytes: Uint8Array): Promise<void> => {
      const path = resolve(dir, relative);
      // Target paths come from the test; still, never write outside `dir`.
      if (!path.startsWith(resolve(dir) + sep)) throw new Error(`${relative} leaves ${dir}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      written.push(relative);
    };
    const consistent = this.root.consistentSnapshot === true;
    for (const [i, bytes] of this.signedRoots.entries()) await put(`metadata/${i + 1}.root.json`, bytes);
    const versioned: Array<[string, number]> = [
      ['snapshot', this.snapshot.version],
      ...[...this.targets].map(([name, t]): [string, number] => [name, t.version]),
    ];
    for (const [role, version] of versioned) {
      const name = `${encodeURIComponent(role)}.json`;
      await put(`metadata/${consistent ? `${version}.${name}` : name}`, await this.metadataBytes(role));
    }
    await put('metadata/timestamp.json', await this.metadataBytes('timestamp'));
    for (const [path, data] of this.targetFiles) {
      const info = this.findTargetInfo(path);
      if (!info) continue;
      const slash = path.lastIndexOf('/');
      const names =
        consistent && this.prefixTargetsWithHash
          ? Object.values(info.hashes).map((h) => `${path.slice(0, slash + 1)}${h}.${path.slice(slash + 1)}`)
          : [path];
      for (const name of names) await put(`targets/${name}`, data);
    }
    return written;
  }

  /** Serves fixed bytes (or a response) at a URL path relative to the metadata or targets base. */
  intercept(fn: Interceptor): void {
    this.interceptors.push(fn);
  }

  /** Stops intercepting. */
  clearIntercepts(): void {
    this.interceptors.length = 0;
  }

  /** Number of fetches whose URL ends with `suffix`. */
  count(suffix: string): number {
    return this.fetched.filter((u) => u.endsWith(suffix)).length;
  }

  async fetch(url: string, request: FetchRequest = {}): Promise<FetchResponse> {
    this.fetched.push(url);
    for (const fn of this.interceptors) {
      const res = await fn(url, request);
      if (res) return res;
    }
    const body = await this.resolve(url);
    if (!body) throw new DownloadHTTPError(`404 ${url}`, 404);
    const start = request.offset && request.offset < body.length ? request.offset : 0;
    return bytesResponse(body.subarray(start), start, body.length);
  }

  private async resolve(url: string): Promise<Uint8Array | undefined> {
    if (url.startsWith(METADATA_URL + '/'))
      return this.resolveMetadata(decodeURIComponent(url.slice(METADATA_URL.length + 1)));
    if (url.startsWith(TARGETS_URL + '/')) return this.resolveTarget(url.slice(TARGETS_URL.length + 1));
    return undefined;
  }

  private async resolveMetadata(name: string): Promise<Uint8Array | undefined> {
    const m = /^(?:(\d+)\.)?(.+)\.json$/.exec(name);
    if (!m) return undefined;
    const version = m[1] === undefined ? undefined : Number(m[1]);
    const role = m[2];
    if (role === 'root') return version === undefined ? this.signedRoots.at(-1) : this.signedRoots[version - 1];
    if (role === 'timestamp') return version === undefined ? this.metadataBytes('timestamp') : undefined;
    const current = role === 'snapshot' ? this.snapshot : this.targets.get(role);
    if (!current) return undefined;
    if (this.root.consistentSnapshot && version !== current.version) return undefined;
    return this.metadataBytes(role);
  }

  private resolveTarget(urlPath: string): Uint8Array | undefined {
    const parts = urlPath.split('/').map(decodeURIComponent);
    const base = parts.pop()!;
    const dir = parts.length ? parts.join('/') + '/' : '';
    for (const [path, data] of this.targetFiles) {
      const info = this.findTargetInfo(path);
      if (!info) continue;
      const names =
        this.root.consistentSnapshot && this.prefixTargetsWithHash
          ? Object.values(info.hashes).map((h) => `${dir}${h}.${path.split('/').pop()}`)
          : [path];
      if (names.includes(dir + base) && path.startsWith(dir)) return data;
    }
    return undefined;
  }

  private findTargetInfo(path: string): TargetFile | undefined {
    for (const t of this.targets.values()) {
      const info = t.targets.get(path);
      if (info) return info;
    }
    return undefined;
  }
}

async function signAll(md: Metadata, signers: Signer[]): Promise<Uint8Array> {
  md.signatures.clear();
  for (const s of signers) await md.sign(s);
  return md.toBytes();
}

/** A response that yields `body` in 16 KiB chunks. */
export function bytesResponse(body: Uint8Array, start = 0, totalLength = body.length): FetchResponse {
  return {
    start,
    totalLength,
    body: (async function* () {
      for (let i = 0; i < body.length; i += 16_384) yield body.subarray(i, i + 16_384);
    })(),
  };
}

/** A response whose body never ends (endless data attack). */
export function endlessResponse(chunk = new Uint8Array(16_384).fill(0x41)): FetchResponse {
  return {
    start: 0,
    body: (async function* () {
      for (;;) yield chunk;
    })(),
  };
}

/** A response that sends `prefix` and then goes silent (slow retrieval attack). */
export function stallingResponse(prefix: Uint8Array, signal?: AbortSignal): FetchResponse {
  return {
    start: 0,
    body: (async function* () {
      yield prefix;
      await new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new SlowRetrievalError('aborted'))),
      );
    })(),
  };
}
