/**
 * The ONE place where the service calls the publisher library: the same code as the CLI signs
 * and writes metadata, never a second implementation. Today each pending change is applied with
 * `addRelease` / `removeRelease` (one new version of the affected roles per change); when the
 * publisher's one-transaction `editRepository` lands, `publishChanges` hands it the whole batch
 * (group commit) and nothing else in the service changes.
 */
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from 'electron-tuf/core';
import { addRelease, removeRelease, rotateKeys, signStaged, type KeyOptions } from 'electron-tuf/publisher';
import type { BlobStore } from './blobs.js';
import type { AddPayload, Change } from './changes.js';

export interface PublishContext {
  repository: string;
  /** The repository directory (metadata/, targets/, electron-tuf.json). */
  repoDir: string;
  blobs: BlobStore;
  keys: KeyOptions;
  /** Scratch space on the same file system as the blobs. */
  workDir: string;
  /** Finds the installers of a published release for a staging change. */
  releaseOf(change: Extract<Change, { kind: 'staging' }>): Promise<AddPayload>;
}

export type ChangeOutcome = { ok: true; result: unknown } | { ok: false; error: string };

/** Applies the changes in order; an input error fails that change alone, anything else stops the batch. */
export async function publishChanges(ctx: PublishContext, changes: Change[], settle: (c: Change, o: ChangeOutcome) => Promise<void>): Promise<void> {
  for (const change of changes) {
    let outcome: ChangeOutcome;
    try {
      outcome = { ok: true, result: await applyChange(ctx, change) };
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      outcome = { ok: false, error: e.message };
    }
    await settle(change, outcome);
  }
}

async function applyChange(ctx: PublishContext, change: Change): Promise<unknown> {
  switch (change.kind) {
    case 'add':
      return addInstallers(ctx, change.payload);
    case 'staging': {
      const release = await ctx.releaseOf(change);
      return addInstallers(ctx, { ...release, staging: change.payload.staging });
    }
    case 'remove':
      return yank(ctx, change.payload.version, change.payload.channel);
    case 'rotate':
      return withFiles(ctx, change.payload.addKeys ?? [], async (addKeyFiles) => {
        const { role, removeKeys, threshold, expiresDays } = change.payload;
        const r = await rotateKeys({ repo: ctx.repoDir, role, addKeyFiles, removeKeys, threshold, expiresDays, ...ctx.keys });
        return { role: r.role, keyids: r.keyids, threshold: r.threshold, staged: r.staged, published: r.published !== undefined };
      });
    case 'sign':
      // 5.3.4: the staged root is published only when a threshold of the old root's keys and of
      // its own have signed; signStaged checks each signature against the staged bytes first.
      return withFiles(ctx, [change.payload.signature], async ([file]) => {
        const r = await signStaged({ repo: ctx.repoDir, role: 'root', signatureFiles: [file], ...ctx.keys });
        return { version: r.version, added: r.added, status: r.status, published: r.published?.rootVersion };
      });
  }
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

/**
 * A yank is idempotent: the API accepts it only for a release it published or has pending, so
 * "no such release" here means an earlier run already removed it (a worker killed after
 * publishing, before settling the task) and the task succeeds.
 */
async function yank(ctx: PublishContext, version: string, channel: string | undefined): Promise<unknown> {
  try {
    const r = await removeRelease({ repo: ctx.repoDir, version, channel, ...ctx.keys });
    return { removed: r.removed.map((t) => t.path), indexes: r.indexes };
  } catch (e) {
    if (e instanceof ValueError && e.message.startsWith(`no release ${version}`)) return { removed: [], alreadyRemoved: true };
    throw e;
  }
}

async function addInstallers(ctx: PublishContext, release: AddPayload): Promise<unknown> {
  // Never sign what was not checked: hash the stored bytes again right before publishing.
  for (const i of release.installers) {
    if (!(await ctx.blobs.verify(ctx.repository, i.sha256, i.length))) {
      throw new ValueError(`installer ${i.name}: no upload with ${i.length} bytes and SHA-256 ${i.sha256} (upload it first, or it changed on disk)`);
    }
  }
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'add-'));
  try {
    const files: string[] = [];
    for (const i of release.installers) {
      const file = join(dir, i.name);
      await link(ctx.blobs.pathOf(ctx.repository, i.sha256), file);
      files.push(file);
    }
    const r = await addRelease({
      repo: ctx.repoDir,
      files,
      version: release.version,
      channel: release.channel,
      platform: release.platform,
      arch: release.arch,
      notes: release.notes,
      stagingPercentage: release.staging,
      ...ctx.keys,
    });
    for (const t of r.targets) {
      const declared = release.installers.find((i) => t.path.endsWith(`/${i.name}`));
      if (declared && (t.length !== declared.length || t.hashes.sha256 !== declared.sha256)) {
        throw new Error(`published ${t.path} does not match its upload: a bug, or the upload changed while being published`);
      }
    }
    return { changed: r.changed, targets: r.targets.map((t) => ({ path: t.path, status: t.status })), channelIndex: r.channelIndex };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
