/**
 * The built `electron-tuf` command loads only the command group it runs: `client ...` never
 * loads the publisher (repo-commands and everything behind it), which start-up time would pay
 * for on every client run. Checked in a node process whose module loader refuses them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'publisher', 'cli', 'main.js');

/** Runs the CLI with a loader hook that throws on any dist/publisher module outside `allowed`. */
async function runWithOnly(
  allowed: string[],
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const hook = `
    const allowed = ${JSON.stringify(allowed)};
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      const m = /\\/dist\\/publisher\\/(.*)$/.exec(resolved.url);
      if (m && !allowed.includes(m[1])) throw new Error('loaded publisher/' + m[1]);
      return resolved;
    }`;
  const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, MAIN, ...args],
      { cwd: ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const CLIENT_GROUP = ['cli/main.js', 'cli/io.js', 'cli/errors.js', 'cli/client-commands.js'];

describe('electron-tuf loads one command group', () => {
  it('client commands run without loading the publisher', async () => {
    const help = await runWithOnly(CLIENT_GROUP, ['client', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('electron-tuf client download');
    // A real client run through the Updater, failing on the empty metadata directory.
    const dir = await mkdtemp(join(tmpdir(), 'etuf-cli-lazy-'));
    try {
      const failing = await runWithOnly(CLIENT_GROUP, [
        'client',
        'refresh',
        '--metadata-dir',
        join(dir, 'metadata'),
        '--metadata-url',
        'http://127.0.0.1:9/',
      ]);
      expect(failing.code).toBe(1);
      expect(failing.stderr).toContain('no trusted root');
      expect(failing.stderr).not.toContain('loaded publisher/');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the top-level help loads neither group', async () => {
    expect(await runWithOnly(['cli/main.js', 'cli/io.js'], ['--help'])).toMatchObject({ code: 0, stderr: '' });
  });

  it('the hook does catch a group that is loaded (repo)', async () => {
    const repo = await runWithOnly(CLIENT_GROUP, ['repo', '--help']);
    expect(repo.code).not.toBe(0);
    expect(repo.stderr).toContain('loaded publisher/cli/repo-commands.js');
  });
});
