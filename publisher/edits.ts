/**
 * Pending changes to targets roles during one command: target paths are looked up and changed
 * through here, which finds the role (bin) of each path and keeps one editable copy per role.
 */
import type { Metadata, TargetFile, Targets } from '../updater/core/metadata.js';
import type { RepositoryState } from './repository.js';

export class TargetsEdits {
  private readonly edits = new Map<string, Metadata<Targets>>();

  constructor(readonly state: RepositoryState) {}

  /** The role that lists `path`, and the working copy of it (edited or as published). */
  private async view(path: string): Promise<{ role: string; md: Metadata<Targets> }> {
    const role = this.state.roleFor(path);
    return { role, md: this.edits.get(role) ?? (await this.state.targetsRole(role)) };
  }

  private async editable(role: string): Promise<Metadata<Targets>> {
    let md = this.edits.get(role);
    if (!md) {
      md = (await this.state.targetsRole(role)).editable();
      this.edits.set(role, md);
    }
    return md;
  }

  /** The entry for `path` as it stands with the edits so far. */
  async get(path: string): Promise<TargetFile | undefined> {
    return (await this.view(path)).md.signed.targets.get(path);
  }

  /** Lists `path` in top-level targets whatever the bins say (channel indexes live there). */
  getTopLevel(path: string): Promise<TargetFile | undefined> {
    return Promise.resolve((this.edits.get('targets') ?? this.state.targets).signed.targets.get(path));
  }

  async set(target: TargetFile): Promise<void> {
    const md = await this.editable(this.state.roleFor(target.path));
    md.signed.targets.set(target.path, target);
  }

  async setTopLevel(target: TargetFile): Promise<void> {
    (await this.editable('targets')).signed.targets.set(target.path, target);
  }

  /** Marks a role changed with its entries as they are (it gets a new version and expiry). */
  async touch(role: string): Promise<void> {
    await this.editable(role);
  }

  /** Sets the whole content of a role (a new repository's first targets and bins). */
  put(role: string, md: Metadata<Targets>): void {
    this.edits.set(role, md);
  }

  async delete(role: string, path: string): Promise<void> {
    (await this.editable(role)).signed.targets.delete(path);
  }

  /** Working copy of a role if it was edited (for scans that must see the edits). */
  edited(role: string): Metadata<Targets> | undefined {
    return this.edits.get(role);
  }

  /** Every targets role with its entries as they stand with the edits. */
  async *allRoles(): AsyncGenerator<[string, Metadata<Targets>]> {
    for await (const [role, md] of this.state.allTargetsRoles()) yield [role, this.edits.get(role) ?? md];
  }

  get changed(): Map<string, Metadata<Targets>> {
    return this.edits;
  }
}
