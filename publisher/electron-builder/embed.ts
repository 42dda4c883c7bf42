/**
 * afterPack: writes the trusted root and the updater settings into the packed app's resources,
 * at the paths the app updater reads by default (updater/electron/embedded-config.ts). It runs
 * before electron-builder signs the app (macOS, Windows) and builds the installers, so both
 * files are covered by the code signature and land in every installer of this arch.
 */
import { mkdir, stat } from 'node:fs/promises';
import { ValueError } from '../../updater/core/errors.js';
import { writeFileAtomic } from '../../updater/node-io/index.js';
import {
  embeddedDir,
  embeddedRootPath,
  embeddedSettingsPath,
  serializeEmbeddedSettings,
  type EmbeddedSettings,
} from '../../updater/electron/embedded-config.js';
import { resourcesDirOf, type AfterPackContextLike } from './builder-types.js';
import type { HookSettings } from './settings.js';
import { explicitRoot, newestRepositoryRoot, type TrustedRoot } from './trusted-root.js';

export interface EmbedPlan {
  root?: TrustedRoot;
  settings?: EmbeddedSettings;
}

/** What to embed for `settings`; undefined members are not configured. */
export async function planEmbedding(settings: HookSettings, channel: string, now: Date): Promise<EmbedPlan> {
  const plan: EmbedPlan = {};
  if (settings.root !== undefined) plan.root = await explicitRoot(settings.root, settings.repository);
  else if (settings.repository !== undefined) plan.root = await newestRepositoryRoot(settings.repository, now);
  if (settings.metadataUrl !== undefined && settings.targetsUrl !== undefined) {
    plan.settings = { metadataUrl: settings.metadataUrl, targetsUrl: settings.targetsUrl, channel };
  }
  return plan;
}

/**
 * Writes the plan under `<resources>/electron-tuf/`. A file the plan leaves out is left alone: the
 * app may ship it another way (extraResources). Returns the resources directory.
 */
export async function writeEmbedded(context: AfterPackContextLike, plan: EmbedPlan): Promise<string> {
  const resourcesDir = resourcesDirOf(context);
  const isDir = await stat(resourcesDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new ValueError(`the packed app has no resources folder at ${resourcesDir}`);
  await writeEmbeddedFiles(resourcesDir, { rootBytes: plan.root?.bytes, settings: plan.settings });
  return resourcesDir;
}

/** Writes the trusted root and/or the settings under `<resourcesDir>/electron-tuf/`. */
export async function writeEmbeddedFiles(
  resourcesDir: string,
  files: { rootBytes?: Uint8Array; settings?: EmbeddedSettings },
): Promise<void> {
  await mkdir(embeddedDir(resourcesDir), { recursive: true });
  if (files.rootBytes) await writeFileAtomic(embeddedRootPath(resourcesDir), files.rootBytes, { mode: 0o644 });
  if (files.settings)
    await writeFileAtomic(embeddedSettingsPath(resourcesDir), serializeEmbeddedSettings(files.settings), {
      mode: 0o644,
    });
}
