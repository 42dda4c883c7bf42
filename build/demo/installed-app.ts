/**
 * An "installed" demo app: a release's tar.gz extracted into an install folder, as a user
 * unpacks electron-builder's Linux archive into /opt. Its executable is the stand-in Electron,
 * which prints the app's version (build/README.md), so running it tells which version is
 * installed.
 *
 * DemoHost plays Electron's `app` for the updater running "inside" that install, in Node: like
 * NodeHost, except that the relaunch after an update is a child the demo waits for and whose
 * output it keeps (NodeHost starts it detached, output ignored), so the demo can show which
 * binary came up, and leaves no process behind.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { NodeHost, type NodeHostOptions, type RelaunchOptions } from '../../updater/electron/electron-host.js';
import { extractTarGz } from '../../updater/electron/installers/tar-extract.js';

export interface InstalledApp {
  /** The install folder, e.g. <dir>/electron-tuf-demo. */
  installDir: string;
  executable: string;
  resourcesPath: string;
}

/**
 * Extracts `archive` (one top folder, as electron-builder makes it) into `<parentDir>/<name>`
 * with the updater's own hardened extractor.
 */
export async function installTarGz(archive: string, parentDir: string, executableName: string): Promise<InstalledApp> {
  const staging = join(parentDir, `.extracting-${executableName}`);
  await mkdir(staging, { recursive: true });
  try {
    await extractTarGz(archive, staging);
    const entries = await readdir(staging, { withFileTypes: true });
    if (entries.length !== 1 || !entries[0].isDirectory())
      throw new ValueError(`${archive} does not hold one top folder`);
    const installDir = join(parentDir, executableName);
    await rename(join(staging, entries[0].name), installDir);
    return { installDir, executable: join(installDir, executableName), resourcesPath: join(installDir, 'resources') };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface RunResult {
  /** The executable that ran. */
  executable: string;
  stdout: string;
  /** Exit code, or null when killed. */
  code: number | null;
}

const RUN_TIMEOUT_MS = 15_000;

/** Runs an installed app's executable (the stand-in prints its version and exits). */
export function runApp(executable: string, args: string[] = []): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(executable, args, { timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ executable, stdout: String(stdout), code });
    });
  });
}

/** The installed version, as the installed app itself reports it. */
export async function installedVersion(app: InstalledApp): Promise<string> {
  const run = await runApp(app.executable);
  if (run.code !== 0) throw new ValueError(`${app.executable} did not run (exit ${run.code})`);
  return run.stdout.trim();
}

export interface DemoHostOptions extends NodeHostOptions {
  /** Arguments the relaunched app gets (Electron passes the running app's own). */
  relaunchArgs?: string[];
}

export class DemoHost extends NodeHost {
  /** The relaunched app's run, once the updater asked for a relaunch. */
  relaunched?: Promise<RunResult>;

  constructor(private readonly demoOptions: DemoHostOptions) {
    super(demoOptions);
  }

  override relaunch(options: RelaunchOptions = {}): void {
    this.relaunches.push(options);
    const executable = options.execPath ?? this.execPath();
    this.relaunched = runApp(executable, options.args ?? this.demoOptions.relaunchArgs ?? []);
  }
}
