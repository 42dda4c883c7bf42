/**
 * `repo status`: every role's version, expiry and signatures (counted against the keys that
 * trust it), and what waits for which signatures.
 */
import type { Metadata } from '../updater/core/metadata.js';
import { TOP_LEVEL_ROLES } from '../updater/core/roles.js';
import { countSignatures } from '../updater/core/verify.js';
import { nowOf, openPaths } from './options.js';
import { RepositoryState } from './repository.js';
import { loadStagedRoot, stagedStatus, type StagedStatus } from './staged-root.js';
import { diskStagedRootStore } from './staged-root-store.js';

export interface StatusOptions {
  repo: string;
  now?: Date;
}

export interface RoleStatus {
  role: string;
  version: number;
  expires: string;
  remainingMs: number;
  threshold: number;
  keyids: string[];
  /** Key ids with a valid signature on the published file. */
  signedBy: string[];
  /** For bins: how many there are (the line shows the earliest expiring one). */
  count?: number;
}

export interface StatusResult {
  roles: RoleStatus[];
  staged: StagedStatus[];
  /** Detached signature files that do not match the staged root (stale or foreign). */
  invalidSignatures: string[];
}

export async function repositoryStatus(options: StatusOptions): Promise<StatusResult> {
  const paths = await openPaths(options.repo);
  const now = nowOf(options);
  const state = await RepositoryState.load(paths.root);
  const root = state.root.signed;
  const line = (
    role: string,
    md: Metadata,
    def: { keyids: readonly string[]; threshold: number },
    signedBy: string[],
  ): RoleStatus => ({
    role,
    version: md.signed.version,
    expires: md.signed.expires,
    remainingMs: md.signed.expiresAt - now.getTime(),
    threshold: def.threshold,
    keyids: [...def.keyids],
    signedBy,
  });
  const published: Record<string, Metadata> = {
    root: state.root,
    targets: state.targets,
    snapshot: state.snapshot,
    timestamp: state.timestamp,
  };
  const roles = TOP_LEVEL_ROLES.map((r) =>
    line(r, published[r], root.roles[r], countSignatures(root.roles[r], root.keys, published[r]).signedBy),
  );

  if (state.hasBins) {
    const def = state.targets.signed.delegations!.succinctRoles!;
    let earliest: RoleStatus | undefined;
    for await (const [name, md] of state.allTargetsRoles()) {
      if (name === 'targets' || (earliest && md.signed.expiresAt - now.getTime() >= earliest.remainingMs)) continue;
      earliest = line(`bins (earliest ${name})`, md, def, countSignatures(def, state.targets.signed.keys, md).signedBy);
    }
    if (earliest) roles.push({ ...earliest, count: state.binNames.length });
  }

  const staged = await loadStagedRoot(diskStagedRootStore(paths), root);
  const pending = staged && staged.md.signed.version > root.version ? [stagedStatus(root, staged.md)] : [];
  return { roles, staged: pending, invalidSignatures: staged?.invalid ?? [] };
}
