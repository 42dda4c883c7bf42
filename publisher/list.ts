/**
 * `repo list`: the releases each channel index offers, per channel, platform and arch, read
 * from the published metadata the way the publisher itself loads it (RepositoryState), and
 * each index checked against its signed length and hashes.
 */
import type { ChannelIndex } from '../updater/release/index.js';
import { validateChannel } from '../updater/release/index.js';
import { RepositoryError } from '../updater/core/errors.js';
import { readPublishedIndex } from './channel-indexes.js';
import { openPaths } from './options.js';
import { RepositoryState } from './repository.js';

export interface ListOptions {
  repo: string;
  /** Only this channel; default every channel. */
  channel?: string;
}

export interface ListedRelease {
  version: string;
  releaseDate: string;
  /** Percentage of installs offered the release; undefined means everyone. */
  stagingPercentage?: number;
  /** Target paths of its installers. */
  files: string[];
}

export interface ListedIndex {
  channel: string;
  platform: string;
  arch: string;
  /** The index's target path. */
  path: string;
  /** Newest first. */
  releases: ListedRelease[];
}

export interface ListResult {
  indexes: ListedIndex[];
}

const INDEX_PATH = /^channels\/([^/]+)\/([^/]+)-([^/-]+)\.json$/;

export async function listReleases(options: ListOptions): Promise<ListResult> {
  const channel = options.channel === undefined ? undefined : validateChannel(options.channel);
  const paths = await openPaths(options.repo);
  const state = await RepositoryState.load(paths.root);
  const roles = ['targets', ...state.binNames];
  await state.preload(roles);
  const indexes: ListedIndex[] = [];
  for (const role of roles) {
    const md = await state.targetsRole(role);
    for (const [path, info] of md.signed.targets) {
      const m = INDEX_PATH.exec(path);
      if (!m || (channel !== undefined && m[1] !== channel)) continue;
      const index = await readPublishedIndex(state.storage, info);
      if (!index) throw new RepositoryError(`channel index ${path} is missing or does not match its signed hashes`);
      indexes.push(listed(path, index));
    }
  }
  indexes.sort((a, b) => a.path.localeCompare(b.path));
  return { indexes };
}

function listed(path: string, index: ChannelIndex): ListedIndex {
  return {
    channel: index.channel,
    platform: index.platform,
    arch: index.arch,
    path,
    releases: index.releases.map((r) => ({
      version: r.version,
      releaseDate: r.releaseDate,
      ...(r.stagingPercentage === undefined ? {} : { stagingPercentage: r.stagingPercentage }),
      files: r.installers.map((i) => i.target),
    })),
  };
}
