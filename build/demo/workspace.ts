/**
 * Everything the demo creates lives under one temporary folder, removed at the end, also on
 * failure and on Ctrl-C:
 *
 *   <root>/keys/       the repository's private keys
 *   <root>/repo/       the TUF repository
 *   <root>/tmp/        TMPDIR for this process and its children while the demo runs, so the
 *                      temp folders of electron-builder, the app staging and tsc land here too
 *   <root>/...         builds, installs, the tampered copy
 *
 * Servers and other resources register a cleanup with `defer`; `dispose` runs them in reverse
 * order, then deletes the folder.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class DemoWorkspace {
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private disposed?: Promise<void>;

  private constructor(
    readonly root: string,
    private readonly previousTmpdir: string | undefined,
  ) {}

  /** Creates the folder and points TMPDIR into it (os.tmpdir() reads TMPDIR on every call). */
  static async create(prefix = 'electron-tuf-demo-'): Promise<DemoWorkspace> {
    const root = await mkdtemp(join(tmpdir(), prefix));
    const workspace = new DemoWorkspace(root, process.env.TMPDIR);
    await mkdir(workspace.path('tmp'));
    process.env.TMPDIR = workspace.path('tmp');
    return workspace;
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** A fresh sub-folder. */
  async dir(...parts: string[]): Promise<string> {
    const path = this.path(...parts);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** Runs `cleanup` at dispose time (last registered, first run). */
  defer(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  /** Runs the cleanups, restores TMPDIR and deletes everything. Safe to call more than once. */
  dispose(): Promise<void> {
    this.disposed ??= this.runDispose();
    return this.disposed;
  }

  /**
   * For an interrupted run, right before process.exit: deletes everything synchronously, so
   * nothing still in flight gets a turn to write into the folder between the deletion and the
   * exit. The deferred cleanups do not run: what they close (servers) ends with the process.
   */
  removeNow(): void {
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  private async runDispose(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined); // one failed cleanup must not keep the others from running
    }
    if (this.previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = this.previousTmpdir;
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
