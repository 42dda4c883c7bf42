/**
 * An "app install" for tests: a folder laid out like an Electron app that ran
 * `npm install --save-dev electron-builder electron-tuf`, built offline from the checkout:
 *
 *   <dir>/package.json
 *   <dir>/node_modules/electron-tuf/      this package as npm would install it: package.json and the
 *                                         compiled dist/ files its "exports" entries need
 *   <dir>/node_modules/app-builder-lib/   a real copy of electron-builder's engine
 *   <dir>/node_modules/<every other>      symlinks into the checkout's node_modules
 *
 * electron-builder resolves a hook module string with require.resolve from its own folder. Node
 * resolves a module's folder through symlinks, so app-builder-lib must be a real copy for the
 * lookup to start in <dir>/node_modules, where it finds electron-tuf through its package.json
 * "exports", as in a real app. Its own dependencies resolve through the symlinks.
 */
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import { PROJECT_ROOT } from './paths.js';
import { transpileClosure } from './transpile.js';

const PACKAGE_NAME = 'electron-tuf';
/** Copied rather than linked (see above). */
const COPIED = ['app-builder-lib'];

export interface AppInstallOptions {
  /** An empty or missing folder. */
  dir: string;
  /** "exports" subpaths of electron-tuf to compile, e.g. ['./electron-builder']; default all. */
  entries?: string[];
}

/** Creates the install; returns its folder (pass it to buildDemoApp as `toolsDir`). */
export async function createAppInstall(options: AppInstallOptions): Promise<string> {
  const dir = resolve(options.dir);
  const modules = join(dir, 'node_modules');
  await mkdir(modules, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'electron-tuf-test-app', version: '1.0.0', private: true }, null, 2)}\n`,
  );
  await installPackage(join(modules, PACKAGE_NAME), options.entries);
  const source = join(PROJECT_ROOT, 'node_modules');
  for (const name of await readdir(source)) {
    if (name.startsWith('.') || name === PACKAGE_NAME) continue;
    if (COPIED.includes(name))
      await cp(join(source, name), join(modules, name), { recursive: true, verbatimSymlinks: true });
    else await symlink(join(source, name), join(modules, name));
  }
  return dir;
}

/** package.json as published, and dist/ compiled from the sources of the chosen exports. */
async function installPackage(target: string, entries: string[] | undefined): Promise<void> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  const exportsMap = manifest.exports ?? {};
  const chosen = entries ?? Object.keys(exportsMap);
  const sources = chosen.map((entry) => sourceOf(entry, exportsMap[entry])).filter((s): s is string => s !== undefined);
  await mkdir(target, { recursive: true });
  await writeFile(join(target, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await transpileClosure(sources, join(target, 'dist'), 'electron-tuf');
}

/** The TypeScript source behind an "exports" target such as ./dist/publisher/electron-builder.js. */
function sourceOf(entry: string, value: unknown): string | undefined {
  const target = typeof value === 'string' ? value : (value as Record<string, unknown> | undefined)?.default;
  if (typeof target !== 'string') throw new ValueError(`package.json has no exports entry ${JSON.stringify(entry)}`);
  if (!target.startsWith('./dist/')) return undefined; // ./package.json
  return join(PROJECT_ROOT, target.slice('./dist/'.length).replace(/\.js$/, '.ts'));
}
