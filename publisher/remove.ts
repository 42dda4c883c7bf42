/**
 * `repo remove`: yank a release. Its installer targets leave the metadata (their files stay on
 * disk for clients in the middle of a download), and each affected channel index is rebuilt
 * from the installers that remain, so it falls back to the newest remaining release.
 */
import { ValueError } from '../updater/core/errors.js';
import { validateChannel, validateVersion } from '../updater/release/index.js';
import { collectInstallers, indexPathOf, stageIndex } from './channel-indexes.js';
import { TargetsEdits } from './edits.js';
import { keyRingFor, nowOf, openPaths, publishSigners, type KeyOptions, type RepositoryOptions } from './options.js';
import { indexFromInstallers, indexKeyOf, indexKeyString, type IndexKey } from './releases.js';
import { publish, RepositoryState, withRepositoryLock, type PublishReport } from './repository.js';
import { discard, placeTarget, type IncomingFile } from './target-store.js';

export interface RemoveReleaseOptions extends RepositoryOptions, KeyOptions {
  version: string;
  /** Only the release's installers in this channel; default every channel. */
  channel?: string;
}

export interface RemoveReleaseResult {
  version: string;
  removed: Array<{ path: string; role: string }>;
  /** Channel indexes rewritten, with the version each now offers first (undefined: none left). */
  indexes: Array<{ path: string; newest?: string }>;
  publish: PublishReport;
}

export async function removeRelease(options: RemoveReleaseOptions): Promise<RemoveReleaseResult> {
  const version = validateVersion(options.version);
  const channel = options.channel === undefined ? undefined : validateChannel(options.channel);
  const paths = await openPaths(options.repo);
  const ring = keyRingFor(paths, options);
  const now = nowOf(options);
  const staged: IncomingFile[] = [];
  try {
    return await withRepositoryLock(
      paths,
      async () => {
        const state = await RepositoryState.load(paths.root);
        state.assertRootValid(now);
        const edits = new TargetsEdits(state);
        const installers = await collectInstallers(edits);
        const affected = new Map<string, IndexKey>();
        const removed: RemoveReleaseResult['removed'] = [];
        for (const list of installers.values()) {
          for (const item of list) {
            if (item.custom.version !== version || (channel !== undefined && item.custom.channel !== channel)) continue;
            removed.push({ path: item.path, role: item.role });
            affected.set(indexKeyString(indexKeyOf(item.custom)), indexKeyOf(item.custom));
          }
        }
        if (removed.length === 0) throw new ValueError(`no release ${version}${channel ? ` in channel ${channel}` : ''} in this repository`);
        for (const r of removed) await edits.delete(r.role, r.path);

        const gone = new Set(removed.map((r) => r.path));
        const placements: Array<{ path: string; file: IncomingFile }> = [];
        const indexes: RemoveReleaseResult['indexes'] = [];
        for (const [k, key] of affected) {
          const remaining = (installers.get(k) ?? []).filter((i) => !gone.has(i.path));
          const index = indexFromInstallers(key, remaining);
          const placed = await stageIndex(edits, paths, index);
          if (placed) {
            placements.push(placed);
            staged.push(placed.file);
          }
          indexes.push({ path: indexPathOf(key), newest: index.releases[0]?.version });
        }
        const signers = await publishSigners(state, ring, edits.changed.keys());
        for (const p of placements) await placeTarget(paths, p.path, p.file);
        const report = await publish(state, { changed: edits.changed, signers, now });
        return { version, removed, indexes, publish: report };
      },
      options,
    );
  } finally {
    for (const f of staged) await discard(f);
  }
}
