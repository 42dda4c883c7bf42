/**
 * The package as users get it: `npm pack` (which builds first through `prepack`) makes a
 * tarball that installs into an empty app, where every entry point imports and the bin runs.
 * Dependencies come from the npm cache filled by `npm ci` (--prefer-offline).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string>;
};
let dir: string;
let app: string;
let installed: string;

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(folder, join(e.parentPath, e.name)));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etuf-pack-'));
  // .npmrc turns scripts off; packing must run prepack (the build) all the same.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts=false', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>;
  app = join(dir, 'app');
  await run('mkdir', [app]);
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'packed-app', version: '1.0.0', private: true, type: 'module' }),
  );
  await run(
    'npm',
    ['install', join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    { cwd: app },
  );
  installed = join(app, 'node_modules', 'electron-tuf');
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships dist/, README, LICENSE and no source map pointing at a missing file', async () => {
    const files = await filesUnder(installed);
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/updater/index.js');
    expect(files).toContain('dist/updater/index.d.ts');
    expect(
      files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f)),
    ).toEqual([]);
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources)
        expect(files, `${map} -> ${source}`).toContain(relative(installed, join(installed, map, '..', source)));
    }
    for (const js of files.filter((f) => f.endsWith('.js'))) {
      const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(installed, js), 'utf8'));
      if (match)
        expect(files, `${js} -> ${match[1]}`).toContain(relative(installed, join(installed, js, '..', match[1])));
    }
  });

  it('imports every entry point from an app that installed it', async () => {
    const entries = Object.keys(manifest.exports)
      .filter((e) => e !== './package.json')
      .map((e) => (e === '.' ? 'electron-tuf' : `electron-tuf${e.slice(1)}`));
    expect(entries.sort()).toEqual([
      'electron-tuf',
      'electron-tuf/client',
      'electron-tuf/core',
      'electron-tuf/electron-builder',
      'electron-tuf/node-io',
      'electron-tuf/publisher',
      'electron-tuf/release',
    ]);
    const script = `const out = {}; for (const e of ${JSON.stringify(entries)}) out[e] = Object.keys(await import(e)).length; console.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    const counts = JSON.parse(stdout) as Record<string, number>;
    for (const entry of entries) expect(counts[entry], entry).toBeGreaterThan(0);
    const { stdout: checked } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('electron-tuf'); const c = await import('electron-tuf/core'); console.log(typeof m.TufAppUpdater, m.TufError === c.TufError)",
      ],
      { cwd: app },
    );
    expect(checked.trim()).toBe('function true');
  });

  it('runs the bin', async () => {
    const { stdout } = await run(join(app, 'node_modules', '.bin', 'electron-tuf'), ['--version'], { cwd: app });
    expect(stdout.trim()).toBe(manifest.version);
    const help = await run(join(app, 'node_modules', '.bin', 'electron-tuf'), ['repo', '--help'], { cwd: app });
    expect(help.stdout).toMatch(/electron-tuf repo init/);
  });
});
