/**
 * Stages the demo app for electron-builder: a folder laid out like the checkout, holding only
 * what the app runs (build/README.md):
 *
 *   package.json            app/package.json with the build's version
 *   dist/**.js              app/main.ts and everything it imports, compiled
 *   app/preload.cjs         loaded by main from ../../app/ (see app/main.ts)
 *   app/renderer/**         the window page
 *   trust/root.json         the trusted root, when one is given (extraResources)
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ValueError } from '../updater/core/errors.js';
import { validateVersion } from '../updater/core/release.js';
import { TRUSTED_ROOT_RESOURCE } from './electron-builder.config.js';
import { PROJECT_ROOT } from './paths.js';

const execFileAsync = promisify(execFile);

export interface StageOptions {
  /** Semver version written into the staged package.json. */
  version: string;
  /** An empty or missing folder to fill. */
  stageDir: string;
  /** A root.json to ship as the app's trusted root. */
  trustedRoot?: string;
}

export async function stageDemoApp(options: StageOptions): Promise<void> {
  const version = validateVersion(options.version);
  const { stageDir } = options;
  await compileApp(join(stageDir, 'dist'));
  await mkdir(join(stageDir, 'app'), { recursive: true });
  await copyFile(join(PROJECT_ROOT, 'app', 'preload.cjs'), join(stageDir, 'app', 'preload.cjs'));
  await cp(join(PROJECT_ROOT, 'app', 'renderer'), join(stageDir, 'app', 'renderer'), { recursive: true });
  await writeManifest(stageDir, version);
  if (options.trustedRoot !== undefined) {
    const target = join(stageDir, TRUSTED_ROOT_RESOURCE);
    await mkdir(join(target, '..'), { recursive: true });
    await copyFile(options.trustedRoot, target);
  }
}

/**
 * Compiles app/main.ts and its imports (only those) with the project's compiler options, in
 * a child process so the event loop stays free. Type errors fail the build: an app that does
 * not type-check is not shipped.
 */
async function compileApp(outDir: string): Promise<void> {
  const configDir = await mkdtemp(join(tmpdir(), 'electron-tuf-tsc-'));
  try {
    const configPath = join(configDir, 'tsconfig.json');
    const config = {
      extends: join(PROJECT_ROOT, 'tsconfig.json'),
      compilerOptions: {
        rootDir: PROJECT_ROOT,
        outDir,
        // Relative defaults would resolve from the temp folder, not the checkout.
        typeRoots: [join(PROJECT_ROOT, 'node_modules', '@types')],
        declaration: false,
        sourceMap: false,
        noEmitOnError: true,
      },
      files: [join(PROJECT_ROOT, 'app', 'main.ts')],
      include: [],
    };
    await writeFile(configPath, JSON.stringify(config));
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await execFileAsync(process.execPath, [tsc, '-p', configPath], { cwd: PROJECT_ROOT }).catch((error: { stdout?: string }) => {
      const report = (error.stdout || String(error)).slice(0, 4000);
      throw new ValueError(`the demo app does not compile:\n${report}`);
    });
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
}

async function writeManifest(stageDir: string, version: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'app', 'package.json'), 'utf8')) as Record<string, unknown>;
  manifest.version = version;
  await writeFile(join(stageDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
