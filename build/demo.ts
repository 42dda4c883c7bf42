/**
 * `npm run demo`: electron-tuf's main job end to end, on this machine, in well under a minute.
 *
 *  1. a new TUF repository (fresh keys in a temp folder), served on 127.0.0.1;
 *  2. the demo app 1.0.0 and 1.1.0 built with electron-builder (offline, Linux tar.gz, the
 *     stand-in Electron; by hand in the same layout when electron-builder cannot run here),
 *     each with the trusted root and the repository's URLs embedded, and both published;
 *  3. 1.0.0 "installed" (its archive extracted) and updated by the updater as the installed
 *     app runs it, in Node: check, release notes, progress, verification, the Linux tar.gz
 *     installer, and the relaunch of the installed 1.1.0, which prints its version;
 *  4. a copy of the repository with one byte of the 1.1.0 installer changed, on a second
 *     server: a fresh 1.0.0 install refuses the update and stays 1.0.0.
 *
 * Exit 0 when both outcomes are as expected, 1 otherwise, 130 on Ctrl-C. Every file lives in
 * one temp folder (TMPDIR points into it meanwhile), removed at the end in every case; servers
 * and child processes end with the demo. See docs/demo.md.
 *
 *   vite-node build/demo.ts [--no-electron-builder] [--verbose]
 */
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LengthOrHashMismatchError } from '../updater/core/errors.js';
import { serveRepository, type RepositoryServer } from '../publisher/index.js';
import type { Logger, TufAppUpdater } from '../updater/electron/index.js';
import {
  buildByHand,
  buildWithElectronBuilder,
  DEMO_ARCH,
  type DemoBuild,
  type EmbeddedConfig,
} from './demo/app-builds.js';
import { CountingFetcher } from './demo/counting-fetcher.js';
import { installedVersion, installTarGz, type InstalledApp } from './demo/installed-app.js';
import { DemoOutput, formatBytes, formatDuration, shortHash } from './demo/output.js';
import { createDemoRepository, publishRelease, tamperedCopy, type DemoRepository } from './demo/repository.js';
import {
  cacheDirOf,
  createInstalledUpdater,
  updateInstalledApp,
  type InstalledUpdater,
  type UpdateOutcome,
} from './demo/update-run.js';
import { exitCleanlyOnSignals } from './demo/interrupt.js';
import { DemoWorkspace } from './demo/workspace.js';
import { compileDemoApp } from './stage-app.js';

const OLD_VERSION = '1.0.0';
const NEW_VERSION = '1.1.0';
const RELEASE_NOTES: Record<string, string> = {
  [OLD_VERSION]: 'First release.',
  [NEW_VERSION]: [
    'Faster start-up: the window opens before the first update check ends.',
    'Release notes like these are signed with the installer.',
  ].join('\n'),
};

interface DemoOptions {
  /** Skip electron-builder: make the archives by hand (quicker; used by tests of the fallback). */
  noElectronBuilder: boolean;
  /** Print the updater's log lines (and every URL it fetches). */
  verbose: boolean;
}

interface Context {
  workspace: DemoWorkspace;
  out: DemoOutput;
  options: DemoOptions;
  /** Set when the archives were made by hand instead of by electron-builder. */
  builtByHand?: boolean;
}

function parseOptions(args: string[]): DemoOptions | undefined {
  const known = new Set(['--no-electron-builder', '--verbose']);
  const unknown = args.filter((arg) => !known.has(arg));
  if (unknown.length > 0) return undefined;
  return { noElectronBuilder: args.includes('--no-electron-builder'), verbose: args.includes('--verbose') };
}

// ---------------------------------------------------------------------------------------------
// Steps

async function createRepository(ctx: Context): Promise<DemoRepository> {
  ctx.out.step('Create a TUF repository');
  const started = performance.now();
  const repository = await createDemoRepository(ctx.workspace.path('repo'), ctx.workspace.path('keys'));
  const roles = [...new Set(repository.init.keys.map((key) => key.role))].join(', ');
  ctx.out.ok(`root v1 and the first metadata, signed with new ed25519 keys for ${roles}`, performance.now() - started);
  ctx.out.note(`keys in ${repository.keys} (never inside the repository)`);
  return repository;
}

async function serve(ctx: Context, repo: string, what: string): Promise<RepositoryServer> {
  const server = await serveRepository({ repo });
  ctx.workspace.defer(() => server.close());
  ctx.out.ok(`${what} at ${server.url} (metadata/ and targets/, read only)`);
  return server;
}

/** Both releases with electron-builder; both by hand when it cannot run here (and says so). */
async function buildReleases(ctx: Context, config: EmbeddedConfig): Promise<DemoBuild[]> {
  const versions = [OLD_VERSION, NEW_VERSION];
  if (!ctx.options.noElectronBuilder) {
    ctx.out.step(
      `Build the demo app ${versions.join(' and ')} with electron-builder (offline, Linux tar.gz, stand-in Electron)`,
    );
    try {
      const started = performance.now();
      // Once for both builds: the two versions differ only in package.json.
      const compiled = await compileDemoApp(ctx.workspace.path('compiled'));
      ctx.out.ok(
        'compiled app/main.ts and its imports (the app updater among them; transpile-only)',
        performance.now() - started,
      );
      // Both at once: much of a build is waiting on child processes and the disk.
      const timed = await Promise.all(
        versions.map((version) =>
          timeBuild(ctx, version, (out) => buildWithElectronBuilder(version, out, config, compiled)),
        ),
      );
      for (const build of timed) await reportBuild(ctx, build);
      return timed.map(({ result }) => result);
    } catch (error) {
      ctx.out.fail(`electron-builder cannot build here: ${firstLine(error)}`);
      ctx.out.note('falling back to small tar.gz archives made by the demo itself (same layout, stand-in Electron)');
    }
  } else {
    ctx.out.step(
      `Make the demo app ${versions.join(' and ')} by hand (--no-electron-builder: same layout as electron-builder's Linux tar.gz, stand-in Electron)`,
    );
  }
  ctx.builtByHand = true;
  const builds: DemoBuild[] = [];
  for (const version of versions)
    builds.push(await timedBuild(ctx, version, (out) => buildByHand(version, out, config), 'hand'));
  return builds;
}

async function timedBuild(
  ctx: Context,
  version: string,
  build: (outDir: string) => Promise<DemoBuild>,
  kind = '',
): Promise<DemoBuild> {
  const timed = await timeBuild(ctx, version, build, kind);
  await reportBuild(ctx, timed);
  return timed.result;
}

async function timeBuild(
  ctx: Context,
  version: string,
  build: (outDir: string) => Promise<DemoBuild>,
  kind = '',
): Promise<{ result: DemoBuild; ms: number }> {
  const started = performance.now();
  const result = await build(await ctx.workspace.dir(kind ? `build-${kind}-${version}` : `build-${version}`));
  return { result, ms: performance.now() - started };
}

async function reportBuild(ctx: Context, { result, ms }: { result: DemoBuild; ms: number }): Promise<void> {
  const size = (await stat(result.archive)).size;
  ctx.out.ok(`${basename(result.archive)} (${formatBytes(size)}), trusted root and repository URLs embedded`, ms);
}

async function publishReleases(ctx: Context, repository: DemoRepository, builds: DemoBuild[]): Promise<void> {
  ctx.out.step('Publish both releases');
  for (const build of builds) {
    const started = performance.now();
    const result = await publishRelease(repository, {
      version: build.version,
      archive: build.archive,
      notes: RELEASE_NOTES[build.version],
    });
    const versions = result.publish?.files.map((file) => file.name).join(', ') ?? 'nothing new';
    ctx.out.ok(
      `${build.version}: target ${result.targets[0].path} and channel index ${result.channelIndex.path}; signed ${versions}`,
      performance.now() - started,
    );
  }
}

async function install(ctx: Context, build: DemoBuild, folder: string): Promise<InstalledApp> {
  const app = await installTarGz(build.archive, await ctx.workspace.dir(folder), build.executableName);
  ctx.out.ok(`extracted into ${app.installDir}; ${basename(app.executable)} says "${await installedVersion(app)}"`);
  return app;
}

/** The updater's log on the terminal (--verbose) or nowhere. */
function updaterLogger(ctx: Context): Logger | null {
  if (!ctx.options.verbose) return null;
  const print = (message: unknown): void => ctx.out.line(`     log: ${String(message)}`);
  return { info: print, warn: print, error: print, debug: print };
}

/** Shows the updater's events as they come. */
function showEvents(ctx: Context, updater: TufAppUpdater, expectRefusal: boolean): void {
  const { out } = ctx;
  updater.on('checking-for-update', () => out.note('checking for updates'));
  updater.on('update-available', (info) => {
    out.ok(
      `update available: ${info.version}, released ${info.releaseDate.slice(0, 10)}${expectRefusal ? ' (the metadata is still the genuine, signed one)' : ''}`,
    );
    if (typeof info.releaseNotes === 'string' && info.releaseNotes) out.quote(info.releaseNotes);
  });
  updater.on('update-not-available', (info) => out.ok(`up to date (newest for this install: ${info.version})`));
  updater.on('download-progress', (progress) => out.progress(progress.percent, progress.transferred, progress.total));
  updater.on('update-downloaded', (event) => {
    out.endProgress();
    const file = event.files[0];
    out.ok(
      `verified: ${file.size} bytes, sha256 ${shortHash(file.sha256)} and sha512 ${shortHash(Buffer.from(file.sha512, 'base64').toString('hex'))}, as signed in the targets metadata`,
    );
  });
  updater.on('error', (error) => {
    out.endProgress();
    if (expectRefusal && error instanceof LengthOrHashMismatchError)
      out.ok(`the updater refused the download: ${error.name}`);
    else if (!expectRefusal) out.fail(`${error.name}: ${error.message}`);
  });
}

async function updateToNew(ctx: Context, app: InstalledApp): Promise<boolean> {
  ctx.out.step(`Run the updater as the installed ${OLD_VERSION} does (in Node, no window)`);
  const started = performance.now();
  const fetcher = new CountingFetcher();
  const userDataPath = ctx.workspace.path('userdata-a');
  const installed = await createInstalledUpdater(app, { userDataPath, fetcher, logger: updaterLogger(ctx) });
  showEvents(ctx, installed.updater, false);
  const outcome = await updateInstalledApp(installed);
  if (outcome.installed)
    ctx.out.ok(
      'verified again and installed by the Linux tar.gz installer (extracted beside the install, then swapped in)',
    );
  const relaunched = outcome.relaunch?.stdout.trim();
  if (relaunched !== undefined) ctx.out.ok(`relaunched ${outcome.relaunch!.executable}: it says "${relaunched}"`);
  ctx.out.note(
    `${fetcher.requests} requests, ${formatBytes(fetcher.bytes)} in ${formatDuration(performance.now() - started)}`,
  );
  const nowInstalled = await installedVersion(app).catch(() => 'nothing');
  const ok =
    outcome.installed && relaunched === NEW_VERSION && nowInstalled === NEW_VERSION && outcome.error === undefined;
  if (!ok)
    ctx.out.fail(
      `expected ${NEW_VERSION} installed and relaunched; the install holds ${nowInstalled}${outcome.error ? ` (${outcome.error.name})` : ''}`,
    );
  return ok && (await restartNew(ctx, app, userDataPath));
}

/** The relaunched app's first check: two small requests, and the update's leftovers removed. */
async function restartNew(ctx: Context, app: InstalledApp, userDataPath: string): Promise<boolean> {
  ctx.out.step(`Start ${NEW_VERSION}: its first update check`);
  const started = performance.now();
  const fetcher = new CountingFetcher();
  const installed = await createInstalledUpdater(app, { userDataPath, fetcher, logger: updaterLogger(ctx) });
  const result = await installed.updater.checkForUpdates();
  const previousGone = !(await exists(`${app.installDir}.old`));
  const ok = installed.version === NEW_VERSION && result?.isUpdateAvailable === false && previousGone;
  const summary = `running ${installed.version}: up to date after ${fetcher.requests} requests (${formatBytes(fetcher.bytes)})${previousGone ? '; the previous version is removed' : ''}`;
  if (ok) ctx.out.ok(summary, performance.now() - started);
  else ctx.out.fail(summary);
  return ok;
}

async function tamper(ctx: Context, repository: DemoRepository, newBuild: DemoBuild): Promise<RepositoryServer> {
  ctx.out.step(`Tamper with one byte of the ${NEW_VERSION} installer, in a copy served by a second server`);
  const tampering = await tamperedCopy(
    repository.repo,
    ctx.workspace.path('repo-tampered'),
    newBuild.version,
    newBuild.archive,
  );
  const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, '0')}`;
  ctx.out.ok(
    `byte ${tampering.offset} of ${tampering.targetPath}: ${hex(tampering.before)} → ${hex(tampering.after)}; the metadata is untouched`,
  );
  return serve(ctx, ctx.workspace.path('repo-tampered'), 'the tampered copy (a compromised mirror)');
}

async function refuseTampered(ctx: Context, oldBuild: DemoBuild, mirror: RepositoryServer): Promise<boolean> {
  ctx.out.step(`Update a fresh ${OLD_VERSION} install from the tampered server`);
  const started = performance.now();
  const app = await install(ctx, oldBuild, 'install-b');
  const userDataPath = ctx.workspace.path('userdata-b');
  const installed = await createInstalledUpdater(app, { userDataPath, mirror, logger: updaterLogger(ctx) });
  showEvents(ctx, installed.updater, true);
  const outcome = await updateInstalledApp(installed);
  if (outcome.error) ctx.out.quote(`${outcome.error.name}: ${outcome.error.message}`);
  return checkRefused(ctx, app, installed, outcome, userDataPath, started);
}

async function checkRefused(
  ctx: Context,
  app: InstalledApp,
  installed: InstalledUpdater,
  outcome: UpdateOutcome,
  userDataPath: string,
  started: number,
): Promise<boolean> {
  const refused = outcome.error instanceof LengthOrHashMismatchError && !outcome.installed;
  const stillOld = (await installedVersion(app).catch(() => 'nothing')) === OLD_VERSION;
  const pending = await readdir(join(cacheDirOf(userDataPath), 'pending')).catch(() => []);
  const untouched = stillOld && installed.host.relaunches.length === 0 && installed.host.quitCount === 0;
  if (untouched)
    ctx.out.ok(
      `${OLD_VERSION} intact: it still says "${OLD_VERSION}", no relaunch, no quit${pending.length === 0 ? ', no installer kept in the cache' : ''}`,
      performance.now() - started,
    );
  else ctx.out.fail(`the install was changed: it says something else than ${OLD_VERSION}, or the app quit`);
  if (!refused)
    ctx.out.fail(
      `expected a LengthOrHashMismatchError, got ${outcome.error ? outcome.error.name : outcome.installed ? 'an install' : 'nothing'}`,
    );
  return refused && untouched && pending.length === 0;
}

// ---------------------------------------------------------------------------------------------

async function runDemo(ctx: Context): Promise<boolean> {
  const repository = await createRepository(ctx);
  ctx.out.step('Serve it on 127.0.0.1');
  const server = await serve(ctx, repository.repo, 'the repository');
  const trustedRoot = await readFile(repository.init.trustedRoot);
  const builds = await buildReleases(ctx, {
    trustedRoot,
    settings: { metadataUrl: server.metadataUrl, targetsUrl: server.targetsUrl },
  });
  await publishReleases(ctx, repository, builds);
  const [oldBuild, newBuild] = builds;
  ctx.out.step(`Install ${OLD_VERSION}`);
  const app = await install(ctx, oldBuild, 'install-a');
  const updated = await updateToNew(ctx, app);
  const mirror = await tamper(ctx, repository, newBuild);
  const refused = await refuseTampered(ctx, oldBuild, mirror);
  return updated && refused;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split('\n')[0];
}

async function main(args: string[]): Promise<number> {
  const out = new DemoOutput();
  const options = parseOptions(args);
  if (!options) {
    process.stderr.write('usage: npm run demo [-- [--no-electron-builder] [--verbose]]\n');
    return 2;
  }
  const started = performance.now();
  const workspace = await DemoWorkspace.create();
  const stopListening = exitCleanlyOnSignals(workspace, (signal) => {
    out.line();
    out.last(`✗ interrupted (${signal}): stopping everything, removing ${workspace.root}`);
  });
  out.title(
    `electron-tuf demo: a signed update of an Electron app (${OLD_VERSION} → ${NEW_VERSION}, linux-${DEMO_ARCH}), then a tampered one`,
  );
  out.line(`Everything happens in ${workspace.root} and is removed at the end.`);
  const ctx: Context = { workspace, out, options };
  let ok = false;
  try {
    ok = await runDemo(ctx);
  } catch (error) {
    out.line();
    out.fail(`the demo stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await workspace.dispose();
    stopListening();
  }
  out.line();
  const total = formatDuration(performance.now() - started);
  out.result(
    ok,
    ok
      ? `Both outcomes as expected: the signed update was installed, the tampered one refused (${total}; temporary files removed).`
      : `Not as expected, see above (${total}; temporary files removed).`,
  );
  if (ctx.builtByHand) out.line('  The archives were made by the demo itself, not by electron-builder (step 3).');
  return ok ? 0 : 1;
}

// Exit explicitly: an HTTP keep-alive socket or a timer left somewhere must not hold the demo open.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
