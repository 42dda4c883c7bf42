/**
 * Shared set-up for the app updater tests: a RepositorySimulator holding releases in the
 * publisher's layout (updater/release/), and a TufAppUpdater running as an installed
 * app on a NodeHost, with every event it emits recorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { DownloadError } from '../../updater/core/errors.js';
import type { TargetFile } from '../../updater/core/metadata.js';
import type { FetchRequest, FetchResponse } from '../../updater/client/fetcher.js';
import type { InstallContext, Installer } from '../../updater/electron/installers/types.js';
import {
  channelIndexPath,
  CHANNEL_INDEX_FORMAT,
  installerKindOf,
  installerTargetPath,
  serializeChannelIndex,
  type Arch,
  type ChannelIndex,
  type InstallerKind,
  type Platform,
  type ReleaseCustom,
} from '../../updater/release/index.js';
import { TufAppUpdater, type TufAppUpdaterOptions } from '../../updater/electron/app-updater.js';
import { NodeHost, type NodeHostOptions } from '../../updater/electron/electron-host.js';
import type { TufAppUpdaterEvents } from '../../updater/electron/types.js';
import { METADATA_URL, RepositorySimulator, TARGETS_URL } from '../helpers/simulator.js';

export interface ReleaseSpec {
  version: string;
  channel?: string;
  platform?: Platform;
  arch?: Arch;
  fileName?: string;
  bytes?: Uint8Array | string;
  notes?: string;
  stagingPercentage?: number;
  /** Override fields of the signed `custom` (to forge inconsistent releases). */
  custom?: Partial<ReleaseCustom>;
  /** List the release in the index but do not bump/sign anything yet. */
  deferPublish?: boolean;
}

/** A simulator plus the channel indexes the publisher would keep next to the installers. */
export class ReleaseRepo {
  readonly indexes = new Map<string, ChannelIndex>();

  private constructor(readonly sim: RepositorySimulator) {}

  static async create(): Promise<ReleaseRepo> {
    return new ReleaseRepo(await RepositorySimulator.create());
  }

  /** Adds an installer target and lists it in its channel index, then signs a new repository state. */
  publish(spec: ReleaseSpec): TargetFile {
    const platform = spec.platform ?? 'linux';
    const arch = spec.arch ?? 'x64';
    const channel = spec.channel ?? 'stable';
    const fileName = spec.fileName ?? `MyApp-${spec.version}.tar.gz`;
    const kind = installerKindOf(fileName) as InstallerKind;
    const target = installerTargetPath(spec.version, fileName);
    const releaseDate = '2025-01-02T03:04:05Z';
    const custom: ReleaseCustom = { version: spec.version, platform, arch, kind, channel, releaseDate, ...spec.custom };
    if (spec.notes !== undefined) custom.releaseNotes = spec.notes;
    if (spec.stagingPercentage !== undefined) custom.stagingPercentage = spec.stagingPercentage;
    const info = this.sim.addTarget(target, spec.bytes ?? `installer of ${spec.version}`, 'targets', custom);
    const index = this.index(channel, platform, arch);
    index.releases = index.releases.filter((r) => r.version !== spec.version);
    index.releases.push({
      version: spec.version,
      releaseDate,
      ...(spec.notes !== undefined ? { releaseNotes: spec.notes } : {}),
      ...(spec.stagingPercentage !== undefined ? { stagingPercentage: spec.stagingPercentage } : {}),
      installers: [{ target, kind }],
    });
    index.releases.sort((a, b) => semver.rcompare(a.version, b.version));
    this.writeIndex(index);
    if (!spec.deferPublish) this.commit();
    return info;
  }

  index(channel: string, platform: Platform = 'linux', arch: Arch = 'x64'): ChannelIndex {
    const path = channelIndexPath(channel, platform, arch);
    let index = this.indexes.get(path);
    if (!index) {
      index = { format: CHANNEL_INDEX_FORMAT, channel, platform, arch, releases: [] };
      this.indexes.set(path, index);
    }
    return index;
  }

  /** (Re)writes an index as a target; call commit() to sign it. */
  writeIndex(index: ChannelIndex): TargetFile {
    return this.sim.addTarget(
      channelIndexPath(index.channel, index.platform, index.arch),
      serializeChannelIndex(index),
    );
  }

  /** New targets, snapshot and timestamp versions, as a publish does. */
  commit(): void {
    this.sim.updateTargets();
    this.sim.updateSnapshot();
  }
}

export type EventLog = Array<{ name: keyof TufAppUpdaterEvents; args: unknown[] }>;

const EVENT_NAMES: Array<keyof TufAppUpdaterEvents> = [
  'checking-for-update',
  'update-available',
  'update-not-available',
  'download-progress',
  'update-downloaded',
  'update-cancelled',
  'error',
];

export interface AppHarness {
  updater: TufAppUpdater;
  host: NodeHost;
  /** Temp dir holding userData (and anything else a test puts there). */
  dir: string;
  cacheDir: string;
  events: EventLog;
  /** Names of the recorded events, in order. */
  names(): string[];
  /** Arguments of the recorded events of one name. */
  of<K extends keyof TufAppUpdaterEvents>(name: K): TufAppUpdaterEvents[K][];
}

export interface HarnessOptions extends Partial<TufAppUpdaterOptions> {
  version: string;
  /** Default false here (true in the updater): a background download must not outlive a test. */
  autoDownload?: boolean;
  autoInstallOnAppQuit?: boolean;
  /** Reuse a directory (an app restart). */
  dir?: string;
  hostOptions?: Partial<NodeHostOptions>;
}

const tempDirs: string[] = [];

export async function tempDir(prefix = 'etuf-app-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every temp dir made by tempDir()/appHarness(); call from afterEach. */
export async function cleanupTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
}

/** A TufAppUpdater as installed `version` would run it, talking to `repo` (the simulator). */
export async function appHarness(repo: ReleaseRepo, options: HarnessOptions): Promise<AppHarness> {
  const {
    version,
    dir: givenDir,
    hostOptions,
    autoDownload = false,
    autoInstallOnAppQuit = true,
    ...updaterOptions
  } = options;
  const dir = givenDir ?? (await tempDir());
  const host = new NodeHost({ version, userDataPath: join(dir, 'userData'), ...hostOptions });
  const updater = new TufAppUpdater({
    host,
    metadataUrl: METADATA_URL,
    targetsUrl: TARGETS_URL,
    trustedRoot: repo.sim.initialRoot,
    fetcher: repo.sim,
    platform: 'linux',
    arch: 'x64',
    installKind: 'tar.gz',
    logger: null,
    tufConfig: { readTimeoutMs: 300 },
    ...updaterOptions,
  });
  updater.autoDownload = autoDownload;
  updater.autoInstallOnAppQuit = autoInstallOnAppQuit;
  const events: EventLog = [];
  for (const name of EVENT_NAMES) updater.on(name, (...args: unknown[]) => void events.push({ name, args }));
  return {
    updater,
    host,
    dir,
    cacheDir: join(dir, 'userData', 'electron-tuf'),
    events,
    names: () => events.map((e) => e.name),
    of: <K extends keyof TufAppUpdaterEvents>(name: K) =>
      events.filter((e) => e.name === name).map((e) => e.args as TufAppUpdaterEvents[K]),
  };
}

/**
 * A response that streams `body` from the requested offset in `chunkSize` pieces, `delayMs`
 * apart (so progress throttling lets several events through), optionally breaking the
 * connection (DownloadError) once `breakAt` bytes of the file have been sent.
 */
export function slowResponse(
  body: Uint8Array,
  request: FetchRequest,
  options: { chunkSize?: number; delayMs?: number; breakAt?: number } = {},
): FetchResponse {
  const chunkSize = options.chunkSize ?? 16_384;
  const start = request.offset && request.offset < body.length ? request.offset : 0;
  return {
    start,
    totalLength: body.length,
    body: (async function* () {
      for (let at = start; at < body.length; at += chunkSize) {
        await sleep(options.delayMs ?? 5);
        if (options.breakAt !== undefined && at >= options.breakAt) throw new DownloadError('connection reset by peer');
        yield body.subarray(at, Math.min(at + chunkSize, body.length));
      }
    })(),
  };
}

/** An installer that records what it was asked to install instead of installing. */
export function spyInstaller(): Installer & { calls: InstallContext[] } {
  const calls: InstallContext[] = [];
  return {
    name: 'spy',
    calls,
    canInstall: () => true,
    install: async (ctx) => {
      calls.push(ctx);
    },
  };
}

/** Deterministic pseudo-random bytes (an "installer" of a given size). */
export function installerBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
