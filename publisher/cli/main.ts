#!/usr/bin/env node
/**
 * The `electron-tuf` command: `repo <command>` for publishing (repo-commands.ts) and
 * `client <command>` for the TUF client (client-commands.ts). Each group is loaded only when
 * used: `client download` never loads the publisher, `repo` never the client's HTTP stack.
 */
import { readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processIO, type CliIO } from './io.js';

const USAGE = `usage: electron-tuf repo <command> ...     publish: init, add, remove, refresh, rotate, sign, status, list, verify, serve, keygen
       electron-tuf client <command> ...   check a repository as an app would: init, refresh, download
       electron-tuf server start ...       the repository service (needs the @electron-tuf/server package)
Run \`electron-tuf repo --help\` or \`electron-tuf client --help\` for details; --version prints the version.`;

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [group, ...rest] = argv;
  switch (group) {
    case 'repo': {
      const { runRepoCommand } = await import('./repo-commands.js');
      return runRepoCommand(rest, io);
    }
    case 'client': {
      const { runClientCommand } = await import('./client-commands.js');
      return runClientCommand(rest, io);
    }
    case 'server':
      return runServer(rest, io);
    case '--version':
    case '-V':
      io.stdout(await packageVersion());
      return 0;
    case '--help':
    case '-h':
    case 'help':
      io.stdout(USAGE);
      return 0;
    case undefined:
      io.stderr(USAGE);
      return 1;
    default:
      io.stderr(`error: unknown command ${JSON.stringify(group)}; expected repo or client`);
      return 1;
  }
}

/**
 * The service lives in its own package so that apps depending on electron-tuf never install its
 * framework, database and queue clients; it is loaded only here, when asked for.
 */
async function runServer(argv: string[], io: CliIO): Promise<number> {
  const name = '@electron-tuf/server';
  let mod: { runServerCommand(argv: string[], io: CliIO): Promise<number> };
  try {
    mod = (await import(name)) as typeof mod;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !String((e as Error).message).includes(name))
      throw e;
    io.stderr(`error: the repository service is a separate package: npm install ${name}`);
    return 1;
  }
  return mod.runServerCommand(argv, io);
}

/** electron-tuf's version, from the package.json above this module (in dist/ or in the sources). */
async function packageVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    const manifest = await readFile(join(dir, 'package.json'), 'utf8').then(
      (text) => JSON.parse(text) as { name?: string; version?: string },
      () => undefined,
    );
    if (manifest?.name === 'electron-tuf' && typeof manifest.version === 'string') return manifest.version;
  }
  throw new Error('electron-tuf: package.json not found');
}

/** True when this module is the program node was started with (also through an npm bin symlink). */
async function isEntryPoint(): Promise<boolean> {
  const started = process.argv[1];
  if (!started) return false;
  // An argv[1] that names no file (a REPL, `node -e`) is compared as given: it is not this file.
  const [a, b] = await Promise.all([realpath(started).catch(() => started), realpath(fileURLToPath(import.meta.url))]);
  return a === b;
}

if (await isEntryPoint()) {
  // `electron-tuf ... | head -1`: a reader that stops early is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  process.exitCode = await main(process.argv.slice(2), processIO());
}
