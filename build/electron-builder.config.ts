/**
 * electron-builder configuration of the demo app, for every platform it ships on. The paths
 * are relative to the staged app (build/stage-app.ts), which electron-builder sees as its
 * project directory. buildDemoApp (build/build-app.ts) narrows the targets to what builds
 * offline and adds the per-build settings (version, output folder, Electron distribution).
 */
import type { Configuration } from 'electron-builder';

/**
 * Where the app finds its trusted TUF root at run time: join(process.resourcesPath, this).
 * The root ships inside the app because trust must not come from the network (TUF 5.2).
 */
export const TRUSTED_ROOT_RESOURCE = 'trust/root.json';

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
    files: ['package.json', 'dist/**/*.js', 'app/preload.cjs', 'app/renderer/**'],
    // Placeholder for the trusted root: copied when the stage has trust/root.json (buildDemoApp's
    // `trustedRoot`); the publisher's afterPack step may write it instead.
    extraResources: [{ from: 'trust', to: 'trust', filter: ['root.json'] }],
    linux: { target: ['tar.gz', 'AppImage'], category: 'Utility' },
    win: { target: ['nsis'] },
    nsis: { oneClick: true, perMachine: false },
    mac: { target: ['zip', 'dmg'], category: 'public.app-category.utilities' },
  };
}
