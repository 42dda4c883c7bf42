/**
 * `repo verify`: check the published tree as a client would, at a given time. The metadata is
 * fed to the client's own TrustedMetadataSet, from 1.root.json through every root version,
 * timestamp, snapshot, targets and every delegated role; then every target file is checked
 * against its length and hashes under each name a client may request, each installer's
 * `custom` and each channel index against the release contract. Problems are collected, not
 * thrown: the result lists them all, with each role's expiry horizon.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TufError } from '../updater/core/errors.js';
import { LengthAndHashVerifier, verifyLengthAndHashes } from '../updater/core/hashes.js';
import type { Metadata, TargetFile, Targets } from '../updater/core/metadata.js';
import {
  CHANNEL_INDEX_MAX_BYTES,
  CHUNK_MAP_MAX_BYTES,
  channelIndexPath,
  chunkMapTargetPath,
  parseChannelIndex,
} from '../updater/release/index.js';
import { errorCode, readFileBounded } from '../updater/node-io/index.js';
import { TrustedMetadataSet } from '../updater/client/trusted-metadata-set.js';
import { DEFAULT_CONFIG } from '../updater/client/updater.js';
import { targetUrl } from '../updater/client/target-path.js';
import { chunkMapProblems } from './chunk-maps.js';
import { eachConcurrently } from './concurrency.js';
import { metadataFileName, repositoryPaths, targetFilePath, type RepositoryPaths } from './layout.js';
import { readCustom } from './release-entries.js';

export interface VerifyOptions {
  repo: string;
  /** Judge expiry at this time (default now). */
  at?: Date;
  /** Check the content of every target file (default true). */
  checkTargetFiles?: boolean;
}

export interface RoleHorizon {
  role: string;
  version: number;
  expires: string;
  /** Milliseconds from `at` until expiry (negative: expired). */
  remainingMs: number;
  /** For the bins summary: how many roles this line stands for. */
  count?: number;
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
  /** Not failures, but worth knowing (e.g. an unreferenced role in snapshot). */
  warnings: string[];
  horizons: RoleHorizon[];
  rootVersion: number;
  targetCount: number;
  targetFilesChecked: number;
}

const FILE_CHECK_CONCURRENCY = 8;
const MAX_ROLES = 100_000;

export async function verifyRepository(options: VerifyOptions): Promise<VerifyResult> {
  const paths = repositoryPaths(options.repo);
  const at = options.at ?? new Date();
  const result: VerifyResult = {
    ok: false,
    problems: [],
    warnings: [],
    horizons: [],
    rootVersion: 0,
    targetCount: 0,
    targetFilesChecked: 0,
  };
  const roles = await walkMetadata(paths, at, result);
  if (roles) {
    checkTargetsPlacement(roles, result);
    await checkReleases(paths, roles, result, options.checkTargetFiles !== false);
    if (options.checkTargetFiles !== false) await checkTargetFiles(paths, roles, result);
  }
  result.ok = result.problems.length === 0;
  return result;
}

function horizon(role: string, md: Metadata, at: Date): RoleHorizon {
  return {
    role,
    version: md.signed.version,
    expires: md.signed.expires,
    remainingMs: md.signed.expiresAt - at.getTime(),
  };
}

async function readMeta(paths: RepositoryPaths, name: string, limit: number): Promise<Uint8Array | undefined> {
  return readFileBounded(join(paths.metadata, name), limit);
}

/** Every targets role the client can reach, by name; undefined when the chain breaks. */
async function walkMetadata(
  paths: RepositoryPaths,
  at: Date,
  result: VerifyResult,
): Promise<Map<string, Metadata<Targets>> | undefined> {
  const fail = (what: string, e: unknown): undefined => {
    result.problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  };
  let set: TrustedMetadataSet;
  try {
    const first = await readMeta(paths, metadataFileName('root', 1), DEFAULT_CONFIG.rootMaxLength);
    if (!first) return fail('1.root.json', 'missing (not a repository?)');
    set = new TrustedMetadataSet(first, at);
  } catch (e) {
    return fail('1.root.json', e);
  }
  // 5.3: every root version in turn, as a client shipped with root 1 would walk them.
  for (let version = 2; ; version++) {
    const name = metadataFileName('root', version);
    try {
      const bytes = await readMeta(paths, name, DEFAULT_CONFIG.rootMaxLength);
      if (!bytes) break;
      set.updateRoot(bytes);
    } catch (e) {
      return fail(name, e);
    }
  }
  result.rootVersion = set.root.signed.version;
  result.horizons.push(horizon('root', set.root, at));
  try {
    const ts = await readMeta(paths, metadataFileName('timestamp'), DEFAULT_CONFIG.timestampMaxLength);
    if (!ts) return fail('timestamp.json', 'missing');
    set.updateTimestamp(ts);
    result.horizons.push(horizon('timestamp', set.timestamp!, at));
  } catch (e) {
    return fail('timestamp.json', e);
  }
  const snapVersion = set.timestamp!.signed.snapshotMeta.version;
  const snapName = metadataFileName('snapshot', snapVersion);
  try {
    const bytes = await readMeta(
      paths,
      snapName,
      set.timestamp!.signed.snapshotMeta.length ?? DEFAULT_CONFIG.snapshotMaxLength,
    );
    if (!bytes) return fail(snapName, 'missing');
    set.updateSnapshot(bytes);
    result.horizons.push(horizon('snapshot', set.snapshot!, at));
  } catch (e) {
    return fail(snapName, e);
  }
  return walkTargets(paths, set, at, result);
}

/** 5.6 for targets and, breadth first, every role it (transitively) delegates to. */
async function walkTargets(
  paths: RepositoryPaths,
  set: TrustedMetadataSet,
  at: Date,
  result: VerifyResult,
): Promise<Map<string, Metadata<Targets>>> {
  const roles = new Map<string, Metadata<Targets>>();
  const queue: Array<{ role: string; delegator: string }> = [{ role: 'targets', delegator: 'root' }];
  const delegatedHorizons: RoleHorizon[] = [];
  for (let head = 0; head < queue.length && roles.size < MAX_ROLES; head++) {
    const { role, delegator } = queue[head];
    if (roles.has(role)) continue;
    const meta = set.snapshot!.signed.roleMeta(role);
    const name = meta ? metadataFileName(role, meta.version) : `${role}.json`;
    try {
      if (!meta) throw new TufError('not listed in snapshot');
      const bytes = await readMeta(paths, name, meta.length ?? DEFAULT_CONFIG.targetsMaxLength);
      if (!bytes) throw new TufError('missing');
      const md = set.updateDelegatedTargets(bytes, role, delegator);
      roles.set(role, md);
      if (role === 'targets') result.horizons.push(horizon('targets', md, at));
      else delegatedHorizons.push(horizon(role, md, at));
      const delegations = md.signed.delegations;
      const children =
        delegations?.roles?.map((r) => r.name) ??
        (delegations?.succinctRoles ? [...delegations.succinctRoles.roleNames()] : []);
      for (const child of children) queue.push({ role: child, delegator: role });
    } catch (e) {
      result.problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (delegatedHorizons.length > 0) {
    const earliest = delegatedHorizons.reduce((a, b) => (b.remainingMs < a.remainingMs ? b : a));
    result.horizons.push({
      ...earliest,
      role: `delegated (earliest: ${earliest.role})`,
      count: delegatedHorizons.length,
    });
  }
  for (const name of set.snapshot!.signed.meta.keys()) {
    const role = name.replace(/\.json$/, '');
    if (!roles.has(role)) result.warnings.push(`snapshot lists ${name}, which no role delegates to`);
  }
  return roles;
}

/** With hashed bins, a target listed in the wrong bin is invisible to clients. */
function checkTargetsPlacement(roles: Map<string, Metadata<Targets>>, result: VerifyResult): void {
  const top = roles.get('targets');
  const succinct = top?.signed.delegations?.succinctRoles;
  for (const [role, md] of roles) {
    result.targetCount += md.signed.targets.size;
    if (role === 'targets' || !succinct) continue;
    for (const path of md.signed.targets.keys()) {
      const expected = succinct.getRoleForTarget(path);
      if (expected !== role)
        result.problems.push(`${path} is listed in ${role} but belongs in ${expected}: clients will not find it`);
      if (top.signed.targets.has(path))
        result.warnings.push(`${path} is listed in targets and in ${role}; clients use the one in targets`);
    }
  }
}

/** Installer `custom` fields and channel indexes against the release contract (updater/release/). */
async function checkReleases(
  paths: RepositoryPaths,
  roles: Map<string, Metadata<Targets>>,
  result: VerifyResult,
  checkFiles: boolean,
): Promise<void> {
  const all = new Map<string, TargetFile>();
  for (const md of roles.values()) for (const [path, t] of md.signed.targets) if (!all.has(path)) all.set(path, t);
  for (const [path, target] of all) {
    if (path.startsWith('channels/')) await checkChannelIndex(paths, target, all, result);
    else if (target.custom !== undefined) {
      const custom = readCustom(target);
      if (!custom) result.problems.push(`${path}: custom is not a valid release description`);
      else if (!path.startsWith(`${custom.version}/`))
        result.problems.push(`${path}: custom.version ${custom.version} does not match its path`);
      else if (custom.chunkMap !== undefined)
        await checkChunkMap(paths, target, custom.chunkMap, all, result, checkFiles);
    }
  }
}

/** A small target's stored bytes (its sha256 name), or undefined when unreadable: the file check reports why. */
async function readStored(paths: RepositoryPaths, info: TargetFile, maxBytes: number): Promise<Uint8Array | undefined> {
  if (!info.hashes.sha256) return undefined;
  const file = targetFilePath(paths, info.path, info.hashes.sha256);
  return readFileBounded(file, maxBytes).catch(() => undefined);
}

/**
 * An installer's chunk map: beside it, published, and describing exactly its bytes (length and
 * SHA-256 in the map; with `checkFiles`, every chunk's SHA-256 against the installer file).
 */
async function checkChunkMap(
  paths: RepositoryPaths,
  installer: TargetFile,
  mapPath: string,
  all: Map<string, TargetFile>,
  result: VerifyResult,
  checkFiles: boolean,
): Promise<void> {
  const problem = (m: string): void => void result.problems.push(`${installer.path}: ${m}`);
  if (mapPath !== chunkMapTargetPath(installer.path))
    return problem(`custom.chunkMap names ${mapPath}, not the map beside it`);
  const info = all.get(mapPath);
  if (!info) return problem(`its chunk map ${mapPath} is not published`);
  if (info.length > CHUNK_MAP_MAX_BYTES) return problem('its chunk map is larger than a chunk map may be');
  const bytes = await readStored(paths, info, CHUNK_MAP_MAX_BYTES);
  if (!bytes) return; // reported by the file check
  try {
    verifyLengthAndHashes(bytes, info.length, info.hashes, info.path);
  } catch {
    return; // reported by the file check
  }
  const sha256 = installer.hashes.sha256;
  const installerFile = checkFiles && sha256 ? targetFilePath(paths, installer.path, sha256) : undefined;
  const found = await chunkMapProblems(
    bytes,
    { path: installer.path, length: installer.length, sha256 },
    installerFile,
  );
  result.problems.push(...found);
}

async function checkChannelIndex(
  paths: RepositoryPaths,
  info: TargetFile,
  all: Map<string, TargetFile>,
  result: VerifyResult,
): Promise<void> {
  const problem = (m: string): void => void result.problems.push(`${info.path}: ${m}`);
  if (info.length > CHANNEL_INDEX_MAX_BYTES) return problem('larger than a channel index may be');
  const bytes = await readStored(paths, info, CHANNEL_INDEX_MAX_BYTES);
  if (!bytes) return; // reported by the file check
  try {
    verifyLengthAndHashes(bytes, info.length, info.hashes, info.path);
    const index = parseChannelIndex(bytes);
    if (channelIndexPath(index.channel, index.platform, index.arch) !== info.path)
      problem(`describes ${index.channel} ${index.platform}-${index.arch}`);
    for (const release of index.releases) {
      for (const installer of release.installers) {
        const custom = all.get(installer.target) && readCustom(all.get(installer.target)!);
        if (!custom) problem(`${release.version} lists ${installer.target}, which is not a published installer`);
        else if (
          custom.version !== release.version ||
          custom.platform !== index.platform ||
          custom.arch !== index.arch ||
          custom.kind !== installer.kind
        ) {
          problem(
            `${release.version} lists ${installer.target}, whose signed custom says ${custom.version} ${custom.platform}-${custom.arch} ${custom.kind}`,
          );
        } else if (custom.stagingPercentage !== release.stagingPercentage) {
          problem(`${release.version}: staging percentage differs between the index and ${installer.target}`);
        }
      }
    }
  } catch (e) {
    problem(e instanceof Error ? e.message : String(e));
  }
}

/** Every target under every name a client may request: `<hash>.<name>` for each listed hash. */
async function checkTargetFiles(
  paths: RepositoryPaths,
  roles: Map<string, Metadata<Targets>>,
  result: VerifyResult,
): Promise<void> {
  const jobs: TargetFile[] = [];
  const seen = new Set<string>();
  for (const md of roles.values()) {
    for (const t of md.signed.targets.values()) {
      if (!seen.has(t.path)) jobs.push(t);
      seen.add(t.path);
    }
  }
  await eachConcurrently(jobs, FILE_CHECK_CONCURRENCY, async (job) => {
    const problem = await checkTargetFile(paths, job);
    if (problem) result.problems.push(problem);
    else result.targetFilesChecked++;
  });
}

async function checkTargetFile(paths: RepositoryPaths, target: TargetFile): Promise<string | undefined> {
  try {
    targetUrl('https://client.invalid/targets', target.path); // the client must be able to request it
    const names = Object.entries(target.hashes).filter(([alg]) => alg === 'sha256' || alg === 'sha512');
    if (names.length === 0) return `${target.path}: no sha256 or sha512 hash`;
    let checkedInode: number | undefined;
    for (const [, hash] of names) {
      const file = targetFilePath(paths, target.path, hash);
      const s = await stat(file).catch((e: unknown) => {
        if (errorCode(e) === 'ENOENT') return undefined;
        throw e; // EACCES, EIO, ELOOP: reported as what it is below, not as "missing"
      });
      if (!s) return `${target.path}: ${file} is missing`;
      if (!s.isFile()) return `${target.path}: ${file} is not a regular file`;
      if (s.size !== target.length) return `${target.path}: ${file} is ${s.size} bytes, metadata says ${target.length}`;
      if (checkedInode === s.ino) continue; // a hard link to the file just checked
      const verifier = new LengthAndHashVerifier(target.length, target.hashes, file);
      for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>)
        verifier.update(chunk);
      verifier.verify();
      checkedInode = s.ino;
    }
    return undefined;
  } catch (e) {
    return `${target.path}: ${e instanceof Error ? e.message : String(e)}`;
  }
}
