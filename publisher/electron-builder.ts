/**
 * electron-tuf/electron-builder: sign every release build into a TUF repository, and ship the
 * trusted root inside the app. One module, two hooks, enabled with the same string:
 *
 *   "afterPack": "electron-tuf/electron-builder",
 *   "afterAllArtifactBuild": "electron-tuf/electron-builder"
 *
 * electron-builder resolves the string with require.resolve from its own folder, loads the
 * module (require, or import when require cannot load ES modules) and takes the export named
 * after the hook. Settings come from ELECTRON_TUF_* variables or the `electronTuf` field of the
 * app's package.json (publisher/electron-builder/settings.ts; docs/electron-builder.md).
 *
 * afterAllArtifactBuild alone signs an unambiguous build from electron-builder's BuildResult
 * (electron-builder/infer.ts), and names the fix otherwise; without afterPack nothing is embedded.
 * Without a repository (a developer build) both hooks say so and change nothing.
 */
import { createElectronBuilderHooks } from './electron-builder/hooks.js';

export { createElectronBuilderHooks, type ElectronBuilderHooks, type HookOptions } from './electron-builder/hooks.js';
export {
  ENV as HOOK_ENV,
  SETTINGS_FIELD,
  resolveHookSettings,
  type HookSettings,
} from './electron-builder/settings.js';
export type { AfterPackContextLike, ArtifactEventLike, BuildResultLike } from './electron-builder/builder-types.js';

const hooks = createElectronBuilderHooks();

/** electron-builder `afterPack`: embeds the trusted root and the updater settings in the app's resources. */
export const afterPack = hooks.afterPack;

/** electron-builder `afterAllArtifactBuild`: signs the build's installers into the repository. */
export const afterAllArtifactBuild = hooks.afterAllArtifactBuild;
