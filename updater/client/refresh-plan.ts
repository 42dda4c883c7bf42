/**
 * How one refresh touches the metadata directory, as values rather than control flow.
 *
 * A refresh first runs as a plan: it reads the directory without the lock and stages what it
 * would write or remove in memory, where its own later reads see it (a root rotation's
 * removal of timestamp and snapshot, 5.3.11, is read back as "absent"). A plan that staged
 * nothing is the whole refresh: the usual no-change case takes no lock and writes nothing.
 * Otherwise the refresh takes the lock and re-reads what the plan read (see `unchangedOnDisk`):
 * if every file is as it was, the plan still holds and its writes are committed in order;
 * if another instance wrote meanwhile, the refresh plans once more under the lock.
 */
import { RepositoryError, StorageError, TufError } from '../core/errors.js';
import { isSystemFailure } from '../node-io/index.js';
import type { MetadataStore } from './metadata-store.js';
import type { TrustedMetadataSet } from './trusted-metadata-set.js';

/** Where refresh steps read and write metadata files and download metadata. */
export interface MetadataIO {
  read(role: string, maxBytes: number): Promise<Uint8Array | undefined>;
  write(role: string, bytes: Uint8Array): Promise<void>;
  remove(role: string): Promise<void>;
  download(role: string, maxLength: number, version?: number): Promise<Uint8Array>;
}

export type Download = MetadataIO['download'];

/** A read of the directory that failed: the file was there but could not be used. */
const UNREADABLE = Symbol('unreadable');

interface ReadRecord {
  maxBytes: number;
  bytes: Uint8Array | undefined | typeof UNREADABLE;
}

/** A staged change: store `bytes` as `role`, or remove `role` when bytes is undefined. */
interface StagedWrite {
  role: string;
  bytes: Uint8Array | undefined;
}

/** The metadata directory as one plan sees it: reads from disk, writes held in memory. */
export class StagedMetadata implements MetadataIO {
  /** What each role's file held when the plan first read it from disk. */
  private readonly reads = new Map<string, ReadRecord>();
  private readonly writes: StagedWrite[] = [];
  /** The staged state of each role written or removed, as later reads of this plan see it. */
  private readonly overlay = new Map<string, Uint8Array | undefined>();

  constructor(
    private readonly store: MetadataStore,
    readonly download: Download,
  ) {}

  /** True if the plan would change the directory. */
  get hasWrites(): boolean {
    return this.writes.length > 0;
  }

  async read(role: string, maxBytes: number): Promise<Uint8Array | undefined> {
    if (this.overlay.has(role)) return this.overlay.get(role);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.store.read(role, maxBytes);
    } catch (error) {
      if (!this.reads.has(role)) this.reads.set(role, { maxBytes, bytes: UNREADABLE });
      throw error;
    }
    if (!this.reads.has(role)) this.reads.set(role, { maxBytes, bytes });
    return bytes;
  }

  write(role: string, bytes: Uint8Array): Promise<void> {
    this.writes.push({ role, bytes });
    this.overlay.set(role, bytes);
    return Promise.resolve();
  }

  remove(role: string): Promise<void> {
    this.writes.push({ role, bytes: undefined });
    this.overlay.set(role, undefined);
    return Promise.resolve();
  }

  /**
   * The "re-read under the lock" step: true if every file the plan read still holds the same
   * bytes, so what the plan verified and staged is still right for the directory. Call it
   * holding the directory's lock (nobody writes until the commit).
   */
  async unchangedOnDisk(): Promise<boolean> {
    for (const [role, before] of this.reads) {
      if (before.bytes === UNREADABLE) return false; // cannot tell: plan again
      const now = await this.store.read(role, before.maxBytes);
      if (now === undefined || before.bytes === undefined) {
        if (now !== before.bytes) return false;
      } else if (!Buffer.from(now.buffer, now.byteOffset, now.byteLength).equals(before.bytes)) {
        return false;
      }
    }
    return true;
  }

  /** Applies the staged writes and removals in the order the plan made them (under the lock). */
  async commit(): Promise<void> {
    for (const { role, bytes } of this.writes) {
      if (bytes) await this.store.write(role, bytes);
      else await this.store.remove(role);
    }
  }
}

/**
 * What planning a refresh ended with: the trusted set, or the error that stopped it. A plan
 * that failed may still have staged writes worth keeping (5.3.8: each verified root is
 * persisted even if a later step fails), so the error is a value until they are committed.
 */
export type PlanOutcome = { trusted: TrustedMetadataSet } | { error: unknown };

export interface RefreshPlan {
  staged: StagedMetadata;
  outcome: PlanOutcome;
}

/** The trusted set a plan produced, or its error thrown. */
export function planResult(plan: RefreshPlan): TrustedMetadataSet {
  if ('error' in plan.outcome) throw plan.outcome.error;
  return plan.outcome.trusted;
}

/**
 * Feeds a local metadata file to `accept`. True if accepted; false if there is none, or it
 * cannot be used: refused as stored (too large, not a regular file) or by verification
 * (RepositoryError); the repository's copy replaces it. A failing disk (EACCES, EIO) and
 * anything else, such as an OrderError (a bug), propagates.
 */
export async function acceptLocal(
  io: MetadataIO,
  role: string,
  maxLength: number,
  accept: (bytes: Uint8Array) => unknown,
  onUnusable: (error: TufError) => void,
): Promise<boolean> {
  try {
    const bytes = await io.read(role, maxLength);
    if (!bytes) return false;
    accept(bytes);
    return true;
  } catch (e) {
    const unusable = e instanceof RepositoryError || (e instanceof StorageError && !isSystemFailure(e));
    if (!unusable) throw e;
    onUnusable(e);
    return false;
  }
}
