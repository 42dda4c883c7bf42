/**
 * Migrating from electron-updater: an electron-updater 6.x style main.ts (migration/main.ts.txt:
 * the autoUpdater singleton, its properties, events, signals, checkForUpdatesAndNotify,
 * setFeedURL, CancellationToken) with only its import line changed type-checks against the
 * BUILT package (dist/*.d.ts, as an app would see it) and runs in Node against a local
 * repository over HTTP, with a stand-in 'electron' module (migration/electron-standin.cjs).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetFile } from '../../updater/core/metadata.js';
import { serializeEmbeddedSettings } from '../../updater/electron/embedded-config.js';
import { cleanupTempDirs, ReleaseRepo, tempDir } from './fixtures.js';
import { serveRepo, type RepoServer } from './repo-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(import.meta.dirname, 'migration');
const IMPORT_LINE = /^(import \{ autoUpdater,[^\n]*\} from )'electron-updater';$/m;

let project: string;
let repo: ReleaseRepo;
let server: RepoServer;
let installer: TargetFile;

/** A project outside the repository that depends on the built electron-tuf, as an app would. */
async function makeProject(): Promise<string> {
  const dir = await tempDir('etuf-migration-');
  const source = await readFile(join(FIXTURES, 'main.ts.txt'), 'utf8');
  expect(source).toMatch(IMPORT_LINE);
  await writeFile(join(dir, 'main.ts'), source.replace(IMPORT_LINE, "$1'electron-tuf';"));
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'migrated-app', version: '1.0.0', type: 'module' }),
  );
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        outDir: 'out',
      },
      files: ['main.ts'],
    }),
  );
  await mkdir(join(dir, 'node_modules', 'electron'), { recursive: true });
  await symlink(ROOT, join(dir, 'node_modules', 'electron-tuf'), 'dir');
  // The stand-in answers at run time; Electron's own type definitions at compile time.
  await copyFile(join(FIXTURES, 'electron-standin.cjs'), join(dir, 'node_modules', 'electron', 'index.cjs'));
  await symlink(
    join(ROOT, 'node_modules', 'electron', 'electron.d.ts'),
    join(dir, 'node_modules', 'electron', 'electron.d.ts'),
  );
  await writeFile(
    join(dir, 'node_modules', 'electron', 'package.json'),
    JSON.stringify({ name: 'electron', main: 'index.cjs', types: 'electron.d.ts' }),
  );
  await copyFile(join(FIXTURES, 'preload.cjs'), join(dir, 'preload.cjs'));
  return dir;
}

beforeAll(async () => {
  repo = await ReleaseRepo.create();
  repo.publish({ version: '1.1.0', notes: 'first' });
  installer = repo.publish({ version: '1.2.0', notes: 'second' });
  server = await serveRepo(repo.sim);
  project = await makeProject();
  // What the build hook embeds; its URL is dead on purpose: setFeedURL must take over.
  const embedded = join(project, 'resources', 'electron-tuf');
  await mkdir(embedded, { recursive: true });
  await writeFile(join(embedded, 'root.json'), repo.sim.initialRoot);
  await writeFile(
    join(embedded, 'settings.json'),
    serializeEmbeddedSettings({ metadataUrl: 'http://127.0.0.1:9/metadata', targetsUrl: 'http://127.0.0.1:9/targets' }),
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
  await cleanupTempDirs();
});

describe('migrating an electron-updater main.ts', () => {
  it('type-checks against the built package with only the import line changed', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).catch(
      (e: { stdout: string }) => e,
    );
    expect(result.stdout).toBe('');
  }, 120_000);

  it('runs: checks through net, downloads, notifies, with the events, signals and tokens of electron-updater', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--require', join(project, 'preload.cjs'), join(project, 'out', 'main.js')],
      {
        cwd: project,
        env: { ...process.env, STANDIN_DIR: project, FEED_URL: server.origin, http_proxy: '', HTTP_PROXY: '' },
        timeout: 60_000,
      },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; data?: unknown });
    const of = (event: string) => lines.filter((l) => l.event === event).map((l) => l.data);
    expect(of('error')).toEqual([]);
    expect(of('feed')).toEqual([server.origin]);
    expect(of('active')).toEqual([true]);
    const sha512 = Buffer.from(installer.hashes.sha512, 'hex').toString('base64');
    expect(of('update-available')).toEqual([
      {
        version: '1.2.0',
        url: '1.2.0/MyApp-1.2.0.tar.gz',
        sha512,
        size: installer.length,
        notes: [
          { version: '1.2.0', note: 'second' },
          { version: '1.1.0', note: 'first' },
        ],
        name: null,
      },
    ]);
    expect(of('result')).toEqual([{ available: true, version: '1.2.0', current: '1.0.0' }]);
    expect(of('update-downloaded')).toEqual([
      { version: '1.2.0', file: join(project, 'userData', 'electron-tuf', 'pending', 'MyApp-1.2.0.tar.gz') },
    ]);
    expect(of('signal-downloaded')).toEqual(['1.2.0']);
    expect(of('download-progress')).toEqual([100]);
    expect(of('downloaded-files')).toEqual([1]);
    expect(of('notification')).toEqual([
      {
        title: 'A new update is ready to install',
        body: 'MigratedApp version 1.2.0 has been downloaded and will be automatically installed on exit',
      },
    ]);
    expect(of('tokens')).toEqual([[true, true]]);
    // Every request went through Electron's net (the stand-in's session.fetch), to the feed URL.
    const fetched = of('net-fetch') as string[];
    expect(fetched.length).toBeGreaterThan(3);
    expect(fetched.every((url) => url.startsWith(server.origin))).toBe(true);
    expect(server.requests.at(-1)?.headers).toMatchObject({
      'x-client': 'migrated',
      authorization: 'Bearer migrate-token',
    });
    expect(lines.at(-1)?.event).toBe('done');
  }, 120_000);
});
