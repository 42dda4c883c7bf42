/**
 * electron-builder configuration of the demo app, for every platform it ships on. The paths
 * are relative to the staged app (build/stage-app.ts), which electron-builder sees as its
 * project directory. buildDemoApp (build/build-app.ts) narrows the targets to what builds
 * offline and adds the per-build settings (version, output folder, Electron distribution).
 *
 * Both hooks name electron-tuf's module, as an app that installed electron-tuf writes them:
 * afterPack embeds the trusted root and the update settings under resources/electron-tuf/,
 * afterAllArtifactBuild signs the installers into the repository (docs/electron-builder.md).
 */
import type { Configuration } from 'electron-builder';
import { EMBEDDED_DIR_NAME, EMBEDDED_ROOT_FILE } from '../updater/electron/embedded-config.js';

/** The hook module; electron-builder resolves it from its own folder and takes each hook's export. */
export const ELECTRON_TUF_HOOKS = 'electron-tuf/electron-builder';

/**
 * Where a stage may hold a trusted root for extraResources (buildDemoApp's `trustedRoot`, for
 * builds without a repository). It lands where the hook would embed it and the app updater looks:
 * `<resources>/electron-tuf/root.json` (updater/electron/embedded-config.ts).
 */
export const STAGED_ROOT = `${EMBEDDED_DIR_NAME}/${EMBEDDED_ROOT_FILE}`;

/** A fresh object each call: electron-builder rewrites parts of the configuration it is given. */
export function createDemoBuilderConfig(): Configuration {
  return {
    appId: 'dev.electron-tuf.demo',
    productName: 'Electron TUF Demo',
    copyright: 'Copyright © electron-tuf contributors',
    // Platform and arch in every file name, so installers of one version never collide in the
    // repository's <version>/ folder.
    artifactName: '${name}-${version}-${os}-${arch}.${ext}',
    asar: true,
    npmRebuild: false,
    // The staged app holds only what runs; list it anyway so nothing else slips in.
    files: ['package.json', 'dist/**/*.js', 'app/preload.cjs', 'app/renderer/**', 'node_modules/**'],
    // Copied only when the stage holds one (buildDemoApp's `trustedRoot`); afterPack writes the
    // repository's root over it when a repository is configured.
    extraResources: [{ from: EMBEDDED_DIR_NAME, to: EMBEDDED_DIR_NAME, filter: [EMBEDDED_ROOT_FILE] }],
    afterPack: ELECTRON_TUF_HOOKS,
    afterAllArtifactBuild: ELECTRON_TUF_HOOKS,
    linux: { target: ['tar.gz', 'AppImage'], category: 'Utility' },
    win: { target: ['nsis'] },
    nsis: { oneClick: true, perMachine: false },
    mac: { target: ['zip', 'dmg'], category: 'public.app-category.utilities' },
  };
}
