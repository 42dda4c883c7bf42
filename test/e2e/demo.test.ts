/**
 * `npm run demo` as a user runs it: the package.json script in a child process (its own
 * process group, as a terminal starts it), with TMPDIR pointing at a folder of the test's, so
 * "leaves no file behind" means that folder ends empty and "no process behind" means no process
 * runs from it. Also the fallback without electron-builder, and Ctrl-C in the middle of a build.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../build/paths.js';

const DEMO_TIMEOUT_MS = 300_000; // a loaded 2-core machine; its speed is measured by hand, not asserted

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'electron-tuf-e2e-demo-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The command of package.json's "demo" script, as argv for node (vite-node's bin is a .mjs). */
async function demoCommand(): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [bin, ...args] = manifest.scripts.demo.split(' ');
  expect(bin).toBe('vite-node');
  return [join(PROJECT_ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'), ...args];
}

/** Runs the demo with TMPDIR=`tmpDir`; `interruptWhen` sends SIGINT to its group once stdout matches. */
async function runDemo(
  tmpDir: string,
  args: string[] = [],
  interruptWhen?: RegExp,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<DemoRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpDir, NO_COLOR: '1', ...extraEnv };
  // Not a test run from the demo's point of view (electron-builder goes quiet under vitest).
  for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name];
  const started = Date.now();
  const child = spawn(process.execPath, [...(await demoCommand()), ...args], {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (interruptWhen && !interrupted && interruptWhen.test(stdout)) {
      interrupted = true;
      process.kill(-child.pid!, 'SIGINT'); // Ctrl-C: the whole foreground process group
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), DEMO_TIMEOUT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  return { code, signal, stdout, stderr, ms: Date.now() - started };
}

/** Processes whose command line mentions `dir` (the stand-in app, a build tool, a server). */
async function processesUsing(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((line) => line.includes(dir) && !line.includes(' ps -eo'));
}

async function expectNothingLeft(dir: string): Promise<void> {
  expect(await readdir(dir)).toEqual([]);
  expect(await processesUsing(dir)).toEqual([]);
}

/** The lines that tell the story, in order. */
const STORY = [
  /^1\. Create a TUF repository$/m,
  /^ {3}✓ the repository at http:\/\/127\.0\.0\.1:\d+ /m,
  /^ {3}✓ electron-tuf-demo-1\.0\.0-linux-(x64|arm64)\.tar\.gz \(.+\), trusted root and repository URLs embedded/m,
  /^ {3}✓ electron-tuf-demo-1\.1\.0-linux-(x64|arm64)\.tar\.gz /m,
  /^ {3}✓ 1\.1\.0: target 1\.1\.0\/electron-tuf-demo-1\.1\.0-linux-\w+\.tar\.gz and channel index channels\/stable\/linux-\w+\.json; signed/m,
  /^ {3}✓ extracted into .*\/install-a\/electron-tuf-demo; electron-tuf-demo says "1\.0\.0"$/m,
  /^ {3}· checking for updates$/m,
  /^ {3}✓ update available: 1\.1\.0, released \d{4}-\d\d-\d\d$/m,
  /^ {5}│ Faster start-up/m,
  /^ {3}\[█{30}\] 100% {2}\S+ kB of \S+ kB$/m,
  /^ {3}✓ verified: \d+ bytes, sha256 [0-9a-f]{8}…[0-9a-f]{8} and sha512 [0-9a-f]{8}…[0-9a-f]{8}, as signed in the targets metadata$/m,
  /^ {3}✓ verified again and installed by the Linux tar\.gz installer/m,
  /^ {3}✓ relaunched .*\/install-a\/electron-tuf-demo\/electron-tuf-demo: it says "1\.1\.0"$/m,
  /^ {3}✓ running 1\.1\.0: up to date after 2 requests .*; the previous version is removed/m,
  /^ {3}✓ byte \d+ of 1\.1\.0\/electron-tuf-demo-1\.1\.0-linux-\w+\.tar\.gz: 0x[0-9a-f]{2} → 0x[0-9a-f]{2}; the metadata is untouched$/m,
  /^ {3}✓ the tampered copy \(a compromised mirror\) at http:\/\/127\.0\.0\.1:\d+ /m,
  /^ {3}✓ the updater refused the download: LengthOrHashMismatchError$/m,
  /^ {5}│ LengthOrHashMismatchError: .*sha256 mismatch/m,
  /^ {3}✓ 1\.0\.0 intact: it still says "1\.0\.0", no relaunch, no quit, no installer kept in the cache/m,
  /^✓ Both outcomes as expected: the signed update was installed, the tampered one refused \((\d+ ms|\d+\.\d s); temporary files removed\)\.$/m,
];

/** The story in order; ✗ only where `failures` allow it (a build that could not run). */
function expectStory(stdout: string, failures: RegExp[] = []): void {
  let from = 0;
  for (const line of STORY) {
    const match = line.exec(stdout.slice(from));
    expect(match, `missing or out of order: ${line}\n---\n${stdout}`).not.toBeNull();
    from += match!.index + match![0].length;
  }
  const failed = stdout.split('\n').filter((line) => line.includes('✗'));
  expect(failed.filter((line) => !failures.some((allowed) => allowed.test(line)))).toEqual([]);
}

const BY_HAND_NOTE = /^ {2}The archives were made by the demo itself, not by electron-builder \(step 3\)\.$/m;

describe('npm run demo', () => {
  it(
    'builds with electron-builder, installs the signed update, refuses the tampered one, exits 0 and leaves nothing behind',
    async () => {
      const dir = await mkdtemp(join(tmp, 'full-'));
      const result = await runDemo(dir);
      expect(result.stderr).toBe('');
      expect(result.code, result.stdout).toBe(0);
      expectStory(result.stdout);
      expect(result.stdout).toMatch(/^3\. Build the demo app 1\.0\.0 and 1\.1\.0 with electron-builder/m);
      expect(result.stdout).not.toMatch(/falling back/);
      expect(result.stdout).not.toMatch(BY_HAND_NOTE);
      await expectNothingLeft(dir);
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'says so when it makes the archives itself (--no-electron-builder), with the same outcomes',
    async () => {
      const dir = await mkdtemp(join(tmp, 'by-hand-'));
      const result = await runDemo(dir, ['--no-electron-builder']);
      expect(result.code, result.stdout).toBe(0);
      expect(result.stdout).toMatch(
        /^3\. Make the demo app 1\.0\.0 and 1\.1\.0 by hand \(--no-electron-builder: same layout as electron-builder's Linux tar\.gz, stand-in Electron\)$/m,
      );
      expectStory(result.stdout);
      expect(result.stdout).toMatch(BY_HAND_NOTE);
      await expectNothingLeft(dir);
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'falls back to archives of its own when electron-builder cannot build, and says so',
    async () => {
      const dir = await mkdtemp(join(tmp, 'fallback-'));
      // No 7-Zip where electron-builder is told to find it: the tar.gz target cannot be made.
      const result = await runDemo(dir, [], undefined, { ELECTRON_BUILDER_7ZIP_PATH: join(dir, 'no-7za') });
      expect(result.code, result.stdout).toBe(0);
      const buildFailed = /^ {3}✗ electron-builder cannot build here: .*7ZIP.*$/m;
      expect(result.stdout).toMatch(buildFailed);
      expect(result.stdout).toMatch(
        /^ {3}· falling back to small tar\.gz archives made by the demo itself \(same layout, stand-in Electron\)$/m,
      );
      expectStory(result.stdout, [buildFailed]);
      expect(result.stdout).toMatch(BY_HAND_NOTE);
      await expectNothingLeft(dir);
    },
    DEMO_TIMEOUT_MS,
  );

  it.each([
    ['as the app compiles', /^3\. Build the demo app/m],
    ['while electron-builder packs', /^ {3}✓ compiled app\/main\.ts/m],
  ])(
    'on Ctrl-C %s: stops, exits 130, removes its files, and no build process lives on',
    async (_when, interruptWhen) => {
      const dir = await mkdtemp(join(tmp, 'interrupted-'));
      const result = await runDemo(dir, [], interruptWhen);
      expect(result.code, result.stdout + result.stderr).toBe(130);
      expect(result.stdout).toMatch(/^✗ interrupted \(SIGINT\): stopping everything, removing /m);
      expect(result.stdout).not.toMatch(/Both outcomes/);
      await expectNothingLeft(dir);
    },
    DEMO_TIMEOUT_MS,
  );

  it(
    'exits 1 when a step fails, and still leaves nothing behind',
    async () => {
      const dir = await mkdtemp(join(tmp, 'failing-'));
      // The stand-in app runs `node` from PATH: here it finds one that fails, so no app starts.
      const fakeBin = await mkdtemp(join(tmp, 'bin-'));
      await writeFile(join(fakeBin, 'node'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
      const result = await runDemo(dir, ['--no-electron-builder'], undefined, {
        PATH: `${fakeBin}:${process.env.PATH}`,
      });
      expect(result.code, result.stdout).toBe(1);
      expect(result.stdout).toMatch(/^ {3}✗ the demo stopped: ValueError: .*electron-tuf-demo did not run \(exit 3\)/m);
      expect(result.stdout).toMatch(
        /^✗ Not as expected, see above \((\d+ ms|\d+\.\d s); temporary files removed\)\.$/m,
      );
      await expectNothingLeft(dir);
    },
    DEMO_TIMEOUT_MS,
  );

  it('refuses unknown options with usage and exit 2, creating nothing', async () => {
    const dir = await mkdtemp(join(tmp, 'usage-'));
    const result = await runDemo(dir, ['--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: npm run demo/m);
    await expectNothingLeft(dir);
  }, 120_000);
});
