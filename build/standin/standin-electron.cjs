'use strict';
/**
 * What the stand-in "Electron" does (build/README.md), from the folder of the packaged app:
 *
 *   <executable>                   prints the app's version (resources/app.asar or
 *                                  resources/app, package.json) and exits 0
 *   <executable> --run CMD ARGS…   runs CMD with STANDIN_APP_VERSION and STANDIN_RESOURCES_PATH
 *                                  set, and exits with its status (for tests that need "the
 *                                  installed app" to do something)
 *
 * Test tooling only: nothing here is shipped to users.
 */
const { spawnSync } = require('node:child_process');
const { closeSync, existsSync, openSync, readFileSync, readSync } = require('node:fs');
const { join } = require('node:path');

const RESOURCES = join(__dirname, 'resources');

function readExactly(fd, length, position) {
  const buffer = Buffer.alloc(length);
  if (readSync(fd, buffer, 0, length, position) !== length) throw new Error('app.asar is truncated');
  return buffer;
}

/**
 * Reads one file from an asar archive. Layout: a pickle holding the header pickle's size
 * (bytes 4..8), then the header pickle: its payload size, the JSON length (bytes 12..16) and
 * the JSON file tree; file data starts right after the header pickle (8 + its size).
 */
function readFromAsar(archivePath, filePath) {
  const fd = openSync(archivePath, 'r');
  try {
    const prefix = readExactly(fd, 16, 0);
    const headerPickleSize = prefix.readUInt32LE(4);
    const jsonLength = prefix.readUInt32LE(12);
    const header = JSON.parse(readExactly(fd, jsonLength, 16).toString('utf8'));
    let entry = header;
    for (const part of filePath.split('/')) entry = entry.files && entry.files[part];
    if (!entry || entry.offset === undefined) throw new Error(`${filePath} not in ${archivePath}`);
    return readExactly(fd, entry.size, 8 + headerPickleSize + Number(entry.offset));
  } finally {
    closeSync(fd);
  }
}

function readAppManifest() {
  const archive = join(RESOURCES, 'app.asar');
  const bytes = existsSync(archive)
    ? readFromAsar(archive, 'package.json')
    : readFileSync(join(RESOURCES, 'app', 'package.json'));
  return JSON.parse(bytes.toString('utf8'));
}

function main(args) {
  const { version } = readAppManifest();
  if (args.length === 0) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (args[0] === '--run' && args.length > 1) {
    const env = { ...process.env, STANDIN_APP_VERSION: version, STANDIN_RESOURCES_PATH: RESOURCES };
    const result = spawnSync(args[1], args.slice(2), { stdio: 'inherit', env });
    if (result.error) throw result.error;
    return result.status === null ? 1 : result.status;
  }
  process.stderr.write('usage: <app> | <app> --run COMMAND [ARGS...]\n');
  return 2;
}

process.exitCode = main(process.argv.slice(2));
