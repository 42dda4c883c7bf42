/**
 * Stages the demo app for electron-builder: a folder laid out like the checkout, holding only
 * what the app runs (build/README.md):
 *
 *   package.json            app/package.json with the build's version
 *   dist/**.js              app/main.ts and everything it imports, compiled
 *   app/preload.cjs         loaded by main from ../../app/ (see app/main.ts)
 *   app/renderer/**         the window page
 *   electron-tuf/root.json  a trusted root, when one is given (extraResources; the afterPack
 *                           hook embeds the repository's root at the same place)
 */
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import { validateVersion } from '../updater/release/index.js';
import { STAGED_ROOT } from './electron-builder.config.js';
import { PROJECT_ROOT } from './paths.js';
import { transpileClosure } from './transpile.js';

export interface StageOptions {
  /** Semver version written into the staged package.json. */
  version: string;
  /** An empty or missing folder to fill. */
  stageDir: string;
  /** A root.json to ship as the app's trusted root (without the afterPack hook). */
  trustedRoot?: string;
  /**
   * The app compiled earlier by compileDemoApp, copied instead of compiling again (several
   * builds of one checkout state, e.g. two versions in a test). Default: compile now.
   */
  compiledApp?: string;
}

export async function stageDemoApp(options: StageOptions): Promise<void> {
  const version = validateVersion(options.version);
  const { stageDir } = options;
  if (options.compiledApp !== undefined) await cp(options.compiledApp, join(stageDir, 'dist'), { recursive: true });
  else await compileDemoApp(join(stageDir, 'dist'));
  await mkdir(join(stageDir, 'app'), { recursive: true });
  await copyFile(join(PROJECT_ROOT, 'app', 'preload.cjs'), join(stageDir, 'app', 'preload.cjs'));
  await cp(join(PROJECT_ROOT, 'app', 'renderer'), join(stageDir, 'app', 'renderer'), { recursive: true });
  await writeManifest(stageDir, version);
  await copyRuntimeDependencies(stageDir);
  if (options.trustedRoot !== undefined) {
    const target = join(stageDir, STAGED_ROOT);
    await mkdir(join(target, '..'), { recursive: true });
    await copyFile(options.trustedRoot, target);
  }
}

/**
 * Compiles app/main.ts and its imports (only those) into `outDir` (the stage's dist/). Returns
 * `outDir`. Transpile-only (see compileTypeScript): types are checked by `npm run typecheck`.
 */
export async function compileDemoApp(outDir: string): Promise<string> {
  await compileTypeScript([join(PROJECT_ROOT, 'app', 'main.ts')], outDir, 'the demo app');
  return outDir;
}

/**
 * Compiles `files` and everything they import from the checkout (only that) into `outDir`,
 * laid out as in the checkout (`<outDir>/publisher/...`), transpile-only (build/transpile.ts).
 * Syntax errors fail with a ValueError naming `what`.
 */
export async function compileTypeScript(files: string[], outDir: string, what: string): Promise<void> {
  await transpileClosure(files, outDir, what);
}

/**
 * Copies the app's runtime dependencies (app/package.json `dependencies`, and theirs) from the
 * checkout's node_modules into `<stage>/node_modules`, where electron-builder packs them: the
 * updater compiled into dist/ imports semver and the noble packages at run time.
 */
export async function copyRuntimeDependencies(stageDir: string): Promise<string[]> {
  const copied: string[] = [];
  const pending = Object.keys(await dependenciesOf(join(PROJECT_ROOT, 'app')));
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (copied.includes(name)) continue;
    const from = join(PROJECT_ROOT, 'node_modules', name);
    await cp(from, join(stageDir, 'node_modules', name), { recursive: true }).catch(() => {
      throw new ValueError(`runtime dependency ${name} of the demo app is not installed (run npm ci)`);
    });
    copied.push(name);
    pending.push(...Object.keys(await dependenciesOf(from)));
  }
  return copied;
}

async function dependenciesOf(packageDir: string): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return manifest.dependencies ?? {};
}

async function writeManifest(stageDir: string, version: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'app', 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  manifest.version = version;
  await writeFile(join(stageDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
