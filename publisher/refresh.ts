/**
 * `repo refresh`: keep the repository alive. Timestamp and snapshot have short lifetimes (7 and
 * 30 days by default) so that a mirror cannot keep serving stale metadata (freeze attack); when
 * the timestamp expires, every app stops updating. Meant for a scheduled CI job: re-signs each
 * role whose remaining validity is under the threshold (default half its lifetime) and
 * otherwise changes nothing. Targets and bins are re-signed too when their keys are at hand;
 * when they are not, a warning says so (and an already expired one is a problem: exit 1).
 */
import type { Metadata, Targets } from '../updater/core/metadata.js';
import { DAY_MS, type ManagedRole } from './config.js';
import { roleKeyEnvVar } from './keystore.js';
import { nowOf } from './options.js';
import { editRepository, type PublishReport, type RepositoryEdit, type TransactionOptions } from './transaction.js';

export interface RefreshOptions extends TransactionOptions {
  /** Re-sign a role when fewer than this many days of validity remain; default half its lifetime. */
  minRemainingDays?: number;
  /** Re-sign timestamp and snapshot whatever their expiry. */
  force?: boolean;
}

export interface RoleRefresh {
  role: string;
  /** Version and expiry before the refresh. */
  version: number;
  expires: string;
  remainingMs: number;
  action: 'resigned' | 'unchanged' | 'needs-key';
  /** For the bins summary line: how many bins it stands for. */
  count?: number;
}

export interface RefreshResult {
  changed: boolean;
  roles: RoleRefresh[];
  warnings: string[];
  /** Roles left expired (their keys were not available): the repository is unusable for clients. */
  problems: string[];
  publish?: PublishReport;
}

export async function refreshRepository(options: RefreshOptions): Promise<RefreshResult> {
  const now = nowOf(options);
  const { value, publish } = await editRepository(options, async (edit) => {
    const { state } = edit;
    const result: RefreshResult = { changed: false, roles: [], warnings: [], problems: [] };
    const threshold = (role: ManagedRole): number =>
      options.minRemainingDays !== undefined
        ? options.minRemainingDays * DAY_MS
        : (state.config.lifetimes[role] * DAY_MS) / 2;
    const due = (role: ManagedRole, md: Metadata): boolean => md.signed.expiresAt - now.getTime() < threshold(role);
    const entry = (role: string, md: Metadata, action: RoleRefresh['action']): RoleRefresh => ({
      role,
      version: md.signed.version,
      expires: md.signed.expires,
      remainingMs: md.signed.expiresAt - now.getTime(),
      action,
    });

    if (due('root', state.root)) {
      result.warnings.push(
        `root expires ${state.root.signed.expires}: publish a new root (repo rotate --role root) with the offline root keys`,
      );
    }
    result.roles.push(entry('root', state.root, 'unchanged'));

    const contentChanged = await collectDueContent(edit, due, result, entry);
    // A role still signed by the keys of the root before a rotation is re-signed with the new ones.
    const snapshotDue =
      options.force || contentChanged || due('snapshot', state.snapshot) || state.staleKeyRoles.has('snapshot');
    const timestampDue = snapshotDue || due('timestamp', state.timestamp) || state.staleKeyRoles.has('timestamp');
    result.roles.push(entry('snapshot', state.snapshot, snapshotDue ? 'resigned' : 'unchanged'));
    result.roles.push(entry('timestamp', state.timestamp, timestampDue ? 'resigned' : 'unchanged'));
    if (snapshotDue) edit.resignSnapshot();
    if (timestampDue) edit.resignTimestamp();
    return result;
  });
  if (publish) {
    value.publish = publish;
    value.changed = true;
  }
  return value;
}

/** Targets and bins that are due, re-signed if their keys are available, else reported. */
async function collectDueContent(
  edit: RepositoryEdit,
  due: (role: ManagedRole, md: Metadata) => boolean,
  result: RefreshResult,
  entry: (role: string, md: Metadata, action: RoleRefresh['action']) => RoleRefresh,
): Promise<boolean> {
  const { state, ring, now } = edit;
  let changed = false;
  const canSign = async (role: ManagedRole): Promise<boolean> => {
    const trusted = state.trustedKeys(role);
    return (await ring.available(role, trusted)).length >= trusted.threshold;
  };
  const report = (role: ManagedRole, label: string, md: Metadata): void => {
    const expired = md.signed.isExpired(now);
    const message = `${label} ${expired ? 'expired' : 'expires'} ${md.signed.expires}, and no ${role} key is available to re-sign it (keys directory or ${roleKeyEnvVar(role)})`;
    (expired ? result.problems : result.warnings).push(message);
  };

  if (due('targets', state.targets) || state.staleKeyRoles.has('targets')) {
    const ok = await canSign('targets');
    changed = ok;
    if (ok) await edit.resign('targets');
    else report('targets', 'targets', state.targets);
    result.roles.push(entry('targets', state.targets, ok ? 'resigned' : 'needs-key'));
  } else {
    result.roles.push(entry('targets', state.targets, 'unchanged'));
  }
  if (!state.hasBins) return changed;

  const dueBins: Array<[string, Metadata<Targets>]> = [];
  let earliest: [string, Metadata<Targets>] | undefined;
  for await (const [name, md] of state.allTargetsRoles()) {
    if (name === 'targets') continue;
    if (!earliest || md.signed.expiresAt < earliest[1].signed.expiresAt) earliest = [name, md];
    if (due('bins', md)) dueBins.push([name, md]);
  }
  const ok = dueBins.length > 0 && (await canSign('bins'));
  if (ok) for (const [name, md] of dueBins) edit.targets.put(name, md.editable());
  else if (dueBins.length > 0) {
    const first = dueBins.reduce((a, b) => (b[1].signed.expiresAt < a[1].signed.expiresAt ? b : a));
    report('bins', `${dueBins.length} bin(s), earliest ${first[0]},`, first[1]);
  }
  if (earliest) {
    const action = dueBins.length === 0 ? 'unchanged' : ok ? 'resigned' : 'needs-key';
    result.roles.push({
      ...entry(`bins (earliest ${earliest[0]})`, earliest[1], action),
      count: state.binNames.length,
    });
  }
  return changed || ok;
}
