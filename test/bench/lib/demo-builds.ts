/**
 * Real electron-builder builds of the demo app, 1.0.0 and 1.0.1 with a small change, for the
 * differential-update benchmarks (diff.bench.ts; the app updater's download benchmark reuses
 * them). Offline, so the Electron distribution is the stand-in plus a payload file of
 * `payloadBytes` standing for Electron's own ~100-200 MB of binaries (compressible about as much,
 * and the same bytes in both builds, as between two releases of an app on one Electron version).
 *
 * Installers per kind:
 * - `tar.gz`, `zip`: electron-builder's own targets.
 * - `nsis-7z`: the app package an NSIS installer carries, made by electron-builder's own
 *   `archive` with its differential-aware options (1 MB dictionary, not solid). NSIS itself
 *   cannot run here; its installer embeds this package, so what changes in it changes there.
 * - `squashfs`: the squashfs image an AppImage consists of (after its small fixed runtime),
 *   made with the mksquashfs flags electron-builder uses, when mksquashfs is installed
 *   (Debian package squashfs-tools); electron-builder downloads its own, which cannot happen here.
 */
import { execFile } from 'node:child_process';
import { access, appendFile, constants, cp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDemoApp } from '../../../build/build-app.js';
import { PROJECT_ROOT } from '../../../build/paths.js';
import { compileDemoApp } from '../../../build/stage-app.js';
import { createStandinElectron } from '../../../build/standin-electron.js';
import { syntheticInstaller } from './diff-fixtures.js';

export const DEMO_KINDS = ['tar.gz', 'zip', 'nsis-7z', 'squashfs'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

export interface DemoBuild {
  version: string;
  /** Installer path per kind; a kind missing could not be built here. */
  installers: Partial<Record<DemoKind, string>>;
  /** The unpacked app electron-builder packed. */
  appOutDir: string;
}

interface ArchiveModule {
  archive: (format: string, outFile: string, dir: string, options: Record<string, unknown>) => Promise<string>;
}
interface DifferentialModule {
  configureDifferentialAwareArchiveOptions: (options: Record<string, unknown>) => Record<string, unknown>;
}

const run = promisify(execFile);
const requireFromProject = createRequire(join(PROJECT_ROOT, 'package.json'));

/** mksquashfs's path, or undefined when it is not installed. */
export async function findMksquashfs(): Promise<string | undefined> {
  for (const candidate of ['/usr/bin/mksquashfs', '/usr/sbin/mksquashfs', '/sbin/mksquashfs']) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/** The app package of an NSIS installer, as electron-builder makes it for differential updates. */
async function nsisPackage(appOutDir: string, outFile: string): Promise<string> {
  const { archive } = requireFromProject('app-builder-lib/out/targets/archive.js') as ArchiveModule;
  const { configureDifferentialAwareArchiveOptions: differential } = requireFromProject(
    'app-builder-lib/out/targets/differentialUpdateInfoBuilder.js',
  ) as DifferentialModule;
  await archive('7z', outFile, appOutDir, differential({ withoutDir: true, compression: 'normal' }));
  return outFile;
}

/** The squashfs image of an AppImage, with electron-builder's mksquashfs flags (gzip by default). */
async function squashfsImage(mksquashfs: string, appOutDir: string, outFile: string): Promise<string> {
  const flags = ['-all-root', '-noappend', '-no-progress', '-quiet', '-no-xattrs', '-no-fragments'];
  await run(mksquashfs, [appOutDir, outFile, ...flags], { maxBuffer: 1024 * 1024 });
  return outFile;
}

/**
 * Builds 1.0.0, then 1.0.1 whose main.js has one more line (a small fix), into `workDir`.
 * Both share one stand-in Electron distribution with a `payloadBytes` payload.
 */
export async function buildDemoPair(workDir: string, payloadBytes: number): Promise<[DemoBuild, DemoBuild]> {
  const electronDist = await createStandinElectron(join(workDir, 'electron'));
  await writeFile(join(electronDist, 'libstandin-payload.so'), syntheticInstaller(payloadBytes, 'electron dist', true));
  const compiledOld = await compileDemoApp(join(workDir, 'compiled-1.0.0'));
  const compiledNew = join(workDir, 'compiled-1.0.1');
  await cp(compiledOld, compiledNew, { recursive: true });
  await appendFile(join(compiledNew, 'app', 'main.js'), '\n// 1.0.1: a small fix\nvoid 0;\n');
  const mksquashfs = await findMksquashfs();
  const builds: DemoBuild[] = [];
  for (const [version, compiledApp] of [
    ['1.0.0', compiledOld],
    ['1.0.1', compiledNew],
  ] as const) {
    const outDir = join(workDir, `out-${version}`);
    const built = await buildDemoApp({
      version,
      outDir,
      targets: ['tar.gz', 'zip'],
      electronDist,
      compiledApp,
      hooks: { afterPack: () => undefined, afterAllArtifactBuild: () => [] },
    });
    const installers: DemoBuild['installers'] = {
      'tar.gz': built.artifacts.find((a) => a.endsWith('.tar.gz')),
      zip: built.artifacts.find((a) => a.endsWith('.zip')),
      'nsis-7z': await nsisPackage(built.appOutDir, join(outDir, `demo-${version}-nsis.7z`)),
    };
    if (mksquashfs)
      installers.squashfs = await squashfsImage(mksquashfs, built.appOutDir, join(outDir, `demo-${version}.squashfs`));
    builds.push({ version, installers, appOutDir: built.appOutDir });
  }
  return [builds[0], builds[1]];
}
