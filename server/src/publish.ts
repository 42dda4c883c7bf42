/**
 * The ONE place where the service calls the publisher library: the same code as the CLI signs
 * and writes metadata, never a second implementation. All pending adds, yanks and staging
 * changes of a round are applied in ONE `editRepository` transaction (group commit: one new
 * version of each affected role however many changes); a root change (rotate, sign) is its
 * own transaction, in order between them.
 *
 * A change that is invalid on its own (a second installer of the same kind, a path published
 * with other content, a staging change of an unknown release) fails its task alone: when an
 * edit refuses, the transaction is abandoned (nothing written) and the batch is retried without
 * that change. Validating against the loaded state first would duplicate the publisher's rules;
 * the retry reuses them exactly, and costs one extra transaction per refused change (the
 * installers are not hashed again: each is copied and hashed once per round).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnknownReleaseError, ValueError } from 'electron-tuf/core';
import {
  cleanupAfter,
  cleanupAfterFailure,
  discard,
  duplicateIncoming,
  editRepository,
  eachConcurrently,
  repositoryPaths,
  rotateKeys,
  signStaged,
  stageInstaller,
  validateReleaseInput,
  type IncomingFile,
  type KeyOptions,
  type ReleaseInput,
  type RepositoryEdit,
  type StoredOrigin,
} from 'electron-tuf/publisher';
import type { UploadStore } from './blobs.js';
import type { AddPayload, Change } from './changes.js';
import { UploadChangedError } from './errors.js';
import type { TransactionTarget } from './storage/s3-repositories.js';

export interface PublishContext {
  repository: string;
  /** Where the repository is: its directory, or a working directory plus storage, settings and record (S3). */
  target: TransactionTarget;
  blobs: UploadStore;
  keys: KeyOptions;
  /** Scratch space on the same file system as the blobs. */
  workDir: string;
  /** Finds the installers of a published release for a staging change. */
  releaseOf(change: Extract<Change, { kind: 'staging' }>): Promise<AddPayload>;
}

export type ChangeOutcome = { ok: true; result: unknown } | { ok: false; error: string };
export type Settled = Array<{ change: Change; outcome: ChangeOutcome }>;

type EditChange = Extract<Change, { kind: 'add' | 'remove' | 'staging' }>;
type RootChange = Extract<Change, { kind: 'rotate' | 'sign' }>;

/**
 * Publishes `changes` in order: each run of adds, yanks and staging changes as one transaction,
 * each root change alone. `settle` gets every outcome of a transaction at once (one database
 * round trip for the batch). An input error fails that change alone; anything else (a missing
 * key, storage failing) stops the batch, leaving its changes pending.
 */
export async function publishChanges(
  ctx: PublishContext,
  changes: Change[],
  settle: (settled: Settled) => Promise<void>,
): Promise<void> {
  let run: EditChange[] = [];
  const flush = async (): Promise<void> => {
    if (run.length > 0) await settle(await groupCommit(ctx, run));
    run = [];
  };
  for (const change of changes) {
    if (change.kind === 'rotate' || change.kind === 'sign') {
      await flush();
      await settle([{ change, outcome: await inputErrorsFail(() => applyRootChange(ctx, change)) }]);
    } else {
      run.push(change);
    }
  }
  await flush();
}

async function inputErrorsFail(fn: () => Promise<unknown>): Promise<ChangeOutcome> {
  try {
    return { ok: true, result: await fn() };
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    return { ok: false, error: e.message };
  }
}

/** A change's own input error, raised inside the transaction to abandon it. */
class ChangeRefused extends Error {
  constructor(
    readonly change: EditChange,
    readonly reason: ValueError,
  ) {
    super(reason.message, { cause: reason });
    this.name = 'ChangeRefused';
  }
}

/**
 * One transaction for the run; a refused change is settled failed and the rest retried without
 * it. The installers are copied and hashed once for the whole round (`prepare`): every attempt
 * gets fresh links to those verified copies, since a transaction consumes or discards the copies
 * it is handed.
 */
async function groupCommit(ctx: PublishContext, changes: EditChange[]): Promise<Settled> {
  const prepared = await prepare(ctx, changes);
  return cleanupAfter(
    async () => {
      const failed: Settled = [];
      for (const p of prepared) if (p.error) failed.push({ change: p.change, outcome: { ok: false, error: p.error } });
      let ready = prepared.filter((p) => !p.error);
      while (ready.length > 0) {
        try {
          return [...failed, ...(await commitOnce(ctx, ready))];
        } catch (e) {
          if (!(e instanceof ChangeRefused)) throw e;
          failed.push({ change: e.change, outcome: { ok: false, error: e.reason.message } });
          ready = ready.filter((p) => p.change !== e.change);
        }
      }
      return failed;
    },
    () => release(prepared),
  );
}

/** One `editRepository` transaction over `ready`, on links to the round's verified copies. */
async function commitOnce(ctx: PublishContext, ready: Prepared[]): Promise<Settled> {
  const paths = repositoryPaths(ctx.target.repo);
  const copies = new Map<Prepared, IncomingFile[]>();
  // Placed copies were moved into targets/ (unlinking their old name is then a no-op).
  return cleanupAfter(
    async () => {
      for (const p of ready) {
        const files: IncomingFile[] = [];
        copies.set(p, files);
        for (const f of p.staged) files.push(await duplicateIncoming(paths, f));
      }
      const { value, publish } = await editRepository({ ...ctx.target, ...ctx.keys }, (edit) =>
        applyAll(edit, ready, copies),
      ).catch((e: unknown) => {
        throw refusedFor(e, ready);
      });
      for (const s of value)
        Object.assign(s.outcome.ok ? (s.outcome.result as object) : {}, { published: publish?.timestampVersion });
      return value;
    },
    () => discard(...[...copies.values()].flat()),
  );
}

/**
 * An upload that changed after it was checked (its copy into the targets refused, nothing
 * copied and no metadata written) fails the change that named it, like any refused input.
 */
function refusedFor(e: unknown, ready: Prepared[]): unknown {
  if (!(e instanceof UploadChangedError)) return e;
  const p = ready.find((r) => r.staged.some((f) => f.origin?.url === e.origin));
  if (!p) return e;
  return new ChangeRefused(p.change, new ValueError(e.message, { cause: e }));
}

async function applyAll(
  edit: RepositoryEdit,
  prepared: Prepared[],
  copies: Map<Prepared, IncomingFile[]>,
): Promise<Settled> {
  const settled: Settled = [];
  for (const p of prepared) {
    try {
      settled.push({ change: p.change, outcome: { ok: true, result: await applyEdit(edit, p, copies.get(p) ?? []) } });
    } catch (e) {
      if (e instanceof ValueError) throw new ChangeRefused(p.change, e);
      throw e;
    }
  }
  return settled;
}

async function applyEdit(edit: RepositoryEdit, p: Prepared, staged: IncomingFile[]): Promise<unknown> {
  const { change } = p;
  if (change.kind === 'remove') return yank(edit, change.payload.version, change.payload.channel);
  const r = await edit.addRelease(p.input!, staged);
  return {
    // The hashes name the stored files (<dir>/<hash>.<name>): garbage collection of a yanked release finds them here.
    targets: r.targets.map((t) => ({ path: t.path, status: t.status, hashes: t.hashes })),
    // Each installer's chunk map goes with it, and is collected with it after a yank.
    chunkMaps: r.targets.flatMap((t) => (t.chunkMap ? [{ path: t.chunkMap.path, hashes: t.chunkMap.hashes }] : [])),
    replaced: r.replaced,
    indexChanged: r.indexChanged,
  };
}

/**
 * A yank is idempotent: the API accepts it only for a release it published or has pending, so
 * "no such release" here means an earlier run already removed it (a worker killed after
 * publishing, before settling the task) and the task succeeds. applyRemoval throws that before
 * editing anything, so the transaction goes on.
 */
async function yank(edit: RepositoryEdit, version: string, channel: string | undefined): Promise<unknown> {
  try {
    const r = await edit.removeRelease(version, channel);
    return { removed: r.removed.map((t) => t.path), indexes: r.indexes };
  } catch (e) {
    if (e instanceof UnknownReleaseError) return { removed: [], alreadyRemoved: true };
    throw e;
  }
}

interface Prepared {
  change: EditChange;
  /** Why the change fails before the transaction (bad input, upload missing or changed). */
  error?: string;
  input?: ReleaseInput;
  /** Private copies of the installers (and their chunk maps), hashed while copied (once per round), in `input.files` order. */
  staged: IncomingFile[];
  dir?: string;
}

/**
 * Installers copied and hashed at once: on disk their fsyncs overlap instead of queueing one by
 * one; on an object store each is a GET whose latency, not CPU, is most of its cost.
 */
const PREPARE_PARALLEL = 16;
const PREPARE_PARALLEL_OBJECT_STORE = 32;

/** Outside the lock: copies and hashes every installer (the slow part), and checks each against its upload. */
async function prepare(ctx: PublishContext, changes: EditChange[]): Promise<Prepared[]> {
  const prepared: Prepared[] = changes.map((change) => ({ change, staged: [] }));
  // A sliding window (not slices that wait for their slowest); after a failure nothing new starts,
  // and everything staged is released once the ones under way have finished.
  let failure: { error: unknown } | undefined;
  await eachConcurrently(prepared, ctx.target.storage ? PREPARE_PARALLEL_OBJECT_STORE : PREPARE_PARALLEL, async (p) => {
    if (failure) return;
    try {
      await prepareOne(ctx, p);
    } catch (error) {
      failure ??= { error };
    }
  });
  if (failure) {
    await cleanupAfterFailure(failure.error, () => release(prepared));
    throw failure.error;
  }
  return prepared;
}

/** Stages one change's installers; its own input errors become `p.error`. */
async function prepareOne(ctx: PublishContext, p: Prepared): Promise<void> {
  const { change } = p;
  if (change.kind === 'remove') return;
  try {
    const release =
      change.kind === 'add' ? change.payload : { ...(await ctx.releaseOf(change)), staging: change.payload.staging };
    await stageRelease(ctx, release, p);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    p.error = e.message;
  }
}

/**
 * Never sign what was not checked: the copy made here is what gets published, and its length
 * and SHA-256 (computed while copying) must be the ones the client declared and uploaded.
 */
async function stageRelease(ctx: PublishContext, release: AddPayload, p: Prepared): Promise<void> {
  await mkdir(ctx.workDir, { recursive: true });
  p.dir = await mkdtemp(join(ctx.workDir, 'add-'));
  const files: string[] = [];
  const origins: Array<StoredOrigin | undefined> = [];
  for (const i of release.installers) {
    const file = join(p.dir, i.name);
    origins.push(await ctx.blobs.materialize(ctx.repository, i, file));
    files.push(file);
  }
  p.input = validateReleaseInput({
    files,
    version: release.version,
    channel: release.channel,
    platform: release.platform,
    arch: release.arch,
    notes: release.notes,
    stagingPercentage: release.staging,
  });
  const paths = repositoryPaths(ctx.target.repo);
  // On an object store the staged copies are scratch (uploaded or copied from, redone after a
  // crash): no fsync. On disk they become the targets and must be durable.
  const durable = ctx.target.storage === undefined;
  for (const [n, i] of release.installers.entries()) {
    // The same staging as `repo add`: with the chunk map of the kinds that have one.
    const staged = await stageInstaller(paths, files[n], p.input.files[n].chunkMap, { durable });
    p.staged.push(staged);
    if (staged.length !== i.length || staged.hashes.sha256 !== i.sha256) {
      throw new ValueError(
        `installer ${i.name}: the stored upload is not ${i.length} bytes with SHA-256 ${i.sha256} (it changed on disk; upload it again)`,
      );
    }
    // Checked: these exact bytes are the stored upload with this ETag, which a copy inside the
    // store is fenced on (the copy is refused if the upload changed since).
    staged.origin = origins[n];
  }
}

async function release(prepared: Prepared[]): Promise<void> {
  const staged = prepared.flatMap((p) => p.staged);
  for (const p of prepared) {
    p.staged = [];
    if (p.dir) await rm(p.dir, { recursive: true, force: true });
    p.dir = undefined;
  }
  await discard(...staged); // after the work directories are gone: it throws if a copy stays
}

async function applyRootChange(ctx: PublishContext, change: RootChange): Promise<unknown> {
  if (change.kind === 'rotate') {
    return withFiles(ctx, change.payload.addKeys ?? [], async (addKeyFiles) => {
      const { role, removeKeys, threshold, expiresDays } = change.payload;
      // ctx.target: the staged root, settings and record wherever this repository keeps them
      // (its directory, or the database with object storage), so any worker continues it.
      const r = await rotateKeys({
        ...ctx.target,
        role,
        addKeyFiles,
        removeKeys,
        threshold,
        expiresDays,
        ...ctx.keys,
      });
      return {
        role: r.role,
        keyids: r.keyids,
        threshold: r.threshold,
        staged: r.staged,
        published: r.published !== undefined,
      };
    });
  }
  // 5.3.4: the staged root is published only when a threshold of the old root's keys and of
  // its own have signed; signStaged checks each signature against the staged bytes first.
  return withFiles(ctx, [change.payload.signature], async ([file]) => {
    const r = await signStaged({ ...ctx.target, role: 'root', signatureFiles: [file], ...ctx.keys });
    return { version: r.version, added: r.added, status: r.status, published: r.published?.rootVersion };
  });
}

/** Writes `texts` to files in a scratch directory for the publisher's file-based inputs. */
async function withFiles<T>(ctx: PublishContext, texts: string[], fn: (files: string[]) => Promise<T>): Promise<T> {
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'files-'));
  try {
    const files = texts.map((_, i) => join(dir, `${i}.json`));
    for (const [i, text] of texts.entries()) await writeFile(files[i], text, { mode: 0o600 });
    return await fn(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
