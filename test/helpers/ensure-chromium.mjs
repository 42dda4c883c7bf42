#!/usr/bin/env node
/**
 * First step of `npm test`: the window tests (test/app/ui.test.ts) render the demo app's page in
 * headless Chromium. When it is missing and we run as root on a Debian-like system, install
 * Debian's `chromium` package; otherwise fail with one line saying how to get it. Never skips.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

if (!executable(path)) {
  if (process.env.CHROMIUM_PATH !== undefined) fail(`CHROMIUM_PATH=${path} is not an executable file`);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !executable('/usr/bin/apt-get')) {
    fail(
      `Chromium not found at ${path}, needed by the window tests: run "sudo apt-get install -y chromium" (or set CHROMIUM_PATH)`,
    );
  }
  process.stderr.write(`Chromium not found at ${path}: installing Debian's chromium package (apt-get)...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const run = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0)
      fail(
        `apt-get ${args.join(' ')} failed (exit ${run.status ?? run.signal}); install chromium by hand or set CHROMIUM_PATH`,
      );
  }
  if (!executable(path)) fail(`apt-get installed chromium but ${path} is still missing; set CHROMIUM_PATH`);
}
