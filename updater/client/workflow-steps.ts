/**
 * The steps of the TUF client workflow (spec 5.2-5.6.7) over a MetadataIO (the metadata
 * directory, or a staged view of it while a refresh is planned): what to read locally, what to
 * download with which bounds, and in which order the verdicts of TrustedMetadataSet are asked
 * for. Updater (updater.ts) owns the I/O and the lock; no trust decision is made here either.
 */
import { DownloadHTTPError, EqualVersionNumberError, RepositoryError, ValueError } from '../core/errors.js';
import type { Metadata, Root, TargetFile, Targets } from '../core/metadata.js';
import { acceptLocal, type MetadataIO } from './refresh-plan.js';
import { TrustedMetadataSet } from './trusted-metadata-set.js';
import type { TraceEvent, UpdaterConfig, UpdaterOptions } from './updater-config.js';

export class WorkflowSteps {
  constructor(
    private readonly config: UpdaterConfig,
    private readonly options: Pick<UpdaterOptions, 'metadataDir' | 'bootstrapRoot'>,
    private readonly trace: (event: TraceEvent) => void,
  ) {}

  /** 5.2: the trusted root, from the metadata directory or else the bootstrap root (then stored). */
  async loadTrustedRoot(io: MetadataIO): Promise<TrustedMetadataSet> {
    const referenceTime = this.config.referenceTime ?? new Date();
    const local = await io.read('root', this.config.rootMaxLength);
    if (local) return new TrustedMetadataSet(local, referenceTime);
    const bootstrap = this.options.bootstrapRoot;
    if (!bootstrap) {
      throw new ValueError(
        `no trusted root: ${this.options.metadataDir} has no root.json and no bootstrap root was given`,
      );
    }
    const bytes = typeof bootstrap === 'function' ? await bootstrap() : bootstrap;
    if (!(bytes instanceof Uint8Array)) throw new ValueError('the bootstrap root must be bytes');
    // Verified (once) before it is stored: a bad bootstrap root must not become "trusted state".
    const set = new TrustedMetadataSet(bytes, referenceTime);
    await io.write('root', bytes);
    return set;
  }

  /** 5.3: walk root versions N+1, N+2, ... until the repository has no newer one. */
  async updateRoot(set: TrustedMetadataSet, io: MetadataIO): Promise<void> {
    const initial = set.root.signed;
    const first = initial.version + 1;
    for (let version = first; version < first + this.config.maxRootRotations; version++) {
      let bytes: Uint8Array;
      try {
        bytes = await io.download('root', this.config.rootMaxLength, version);
      } catch (e) {
        if (e instanceof DownloadHTTPError && (e.status === 404 || e.status === 403)) break;
        throw e;
      }
      set.updateRoot(bytes);
      await io.write('root', bytes); // 5.3.8: persist each verified root at once
      this.trace({ type: 'info', message: `trusted root version ${version}` });
    }
    await this.forgetIfKeysRotated(initial, set.root.signed, io);
  }

  /** 5.3.11: after timestamp or snapshot keys change, drop their local metadata (fast-forward recovery). */
  private async forgetIfKeysRotated(before: Root, after: Root, io: MetadataIO): Promise<void> {
    if (before === after) return;
    for (const role of ['timestamp', 'snapshot'] as const) {
      const a = before.roles[role];
      const b = after.roles[role];
      const same =
        a.threshold === b.threshold &&
        a.keyids.length === b.keyids.length &&
        a.keyids.every((k) => b.keyids.includes(k));
      if (!same) {
        await io.remove('timestamp');
        await io.remove('snapshot');
        this.trace({ type: 'info', message: `${role} keys rotated: discarded local timestamp and snapshot` });
        return;
      }
    }
  }

  /** 5.4: local timestamp (for rollback protection) then the remote one. */
  async loadTimestamp(set: TrustedMetadataSet, io: MetadataIO): Promise<void> {
    await this.tryLocal(io, 'timestamp', this.config.timestampMaxLength, (b) => set.updateTimestamp(b));
    const bytes = await io.download('timestamp', this.config.timestampMaxLength);
    try {
      set.updateTimestamp(bytes);
    } catch (e) {
      if (e instanceof EqualVersionNumberError) return; // nothing new: keep the local one
      throw e;
    }
    await io.write('timestamp', bytes);
  }

  /** 5.5: the local snapshot if it is the one timestamp names, else the remote one. */
  async loadSnapshot(set: TrustedMetadataSet, io: MetadataIO): Promise<void> {
    const ok = await this.tryLocal(io, 'snapshot', this.config.snapshotMaxLength, (b) => set.updateSnapshot(b, true));
    if (ok) return;
    const meta = set.timestamp!.signed.snapshotMeta;
    const version = set.root.signed.consistentSnapshot ? meta.version : undefined;
    const bytes = await io.download('snapshot', meta.length ?? this.config.snapshotMaxLength, version);
    set.updateSnapshot(bytes);
    await io.write('snapshot', bytes);
  }

  /**
   * A targets role already trusted in this refresh. Top-level targets was verified against
   * root when loaded, and root cannot change after timestamp (5.3 before 5.4): checking its
   * signature again on every lookup would only re-hash the whole file (~20 ms at 100,000
   * targets). Delegated roles are re-checked against the delegator on the current path.
   */
  cachedTargets(set: TrustedMetadataSet, role: string, delegator: string): Metadata<Targets> | undefined {
    return role === 'targets' ? set.targets : set.verifyCachedDelegate(role, delegator);
  }

  /** 5.6: the local copy of a targets role if current, else the remote one. */
  async loadTargets(
    set: TrustedMetadataSet,
    io: MetadataIO,
    role: string,
    delegator: string,
  ): Promise<Metadata<Targets>> {
    const cached = this.cachedTargets(set, role, delegator);
    if (cached) return cached;
    const meta = set.snapshot!.signed.roleMeta(role);
    if (!meta) throw new RepositoryError(`snapshot does not list ${role}`);
    const maxLength = meta.length ?? this.config.targetsMaxLength;
    let result: Metadata<Targets> | undefined;
    await this.tryLocal(io, role, maxLength, (b) => {
      result = set.updateDelegatedTargets(b, role, delegator);
    });
    if (result) return result;
    const version = set.root.signed.consistentSnapshot ? meta.version : undefined;
    const bytes = await io.download(role, maxLength, version);
    result = set.updateDelegatedTargets(bytes, role, delegator);
    await io.write(role, bytes);
    return result;
  }

  /** Feeds local metadata to `accept` (see acceptLocal); a missing or unusable local file is traced, not an error. */
  private tryLocal(
    io: MetadataIO,
    role: string,
    maxLength: number,
    accept: (bytes: Uint8Array) => unknown,
  ): Promise<boolean> {
    return acceptLocal(io, role, maxLength, accept, (e) =>
      this.trace({ type: 'info', message: `local ${role} not usable: ${e.message}` }),
    );
  }

  /**
   * 5.6.7: pre-order depth-first search with cycle detection and the delegation bound.
   * `load` returns the trusted metadata of a role, verified against its delegator on this path.
   */
  async searchTarget(
    targetPath: string,
    load: (role: string, delegator: string) => Promise<Metadata<Targets>>,
  ): Promise<TargetFile | undefined> {
    const toVisit: Array<{ role: string; delegator: string }> = [{ role: 'targets', delegator: 'root' }];
    const visited = new Set<string>();
    while (toVisit.length > 0 && visited.size <= this.config.maxDelegations) {
      const { role, delegator } = toVisit.pop()!;
      if (visited.has(role)) continue; // 5.6.7.1 cycles
      this.trace({ type: 'visit', role });
      const targets = (await load(role, delegator)).signed;
      const found = targets.targets.get(targetPath);
      if (found) return found;
      visited.add(role);
      const children: Array<{ role: string; delegator: string }> = [];
      for (const child of targets.delegations?.getRolesForTarget(targetPath) ?? []) {
        children.push({ role: child.name, delegator: role });
        if (child.terminating) {
          toVisit.length = 0; // 5.6.7.2.1 a terminating delegation ends the search below it
          break;
        }
      }
      toVisit.push(...children.reverse());
    }
    if (toVisit.length > 0)
      this.trace({ type: 'info', message: `stopped after ${this.config.maxDelegations} delegations` });
    return undefined;
  }
}
