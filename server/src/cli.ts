#!/usr/bin/env node
/**
 * `electron-tuf server <command>` (also the `electron-tuf-server` bin):
 *   start --data DIR [--port N] [--host H]   embedded mode: API, worker and scheduler in one process
 */
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbedded } from './embedded.js';

const USAGE = `usage: electron-tuf server start --data DIR [--port 8080] [--host 127.0.0.1]
  Runs the repository service in one process (embedded database, storage on disk).
  The first admin token is written to DIR/admin-token, unless ELECTRON_TUF_ADMIN_TOKEN is set.`;

export interface ServerIO {
  stdout(line: string): void;
  stderr(line: string): void;
}

export async function runServerCommand(argv: string[], io: ServerIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'start') {
    io.stderr(`error: unknown server command ${JSON.stringify(command)}; expected start`);
    return 1;
  }
  let values: { data?: string; port?: string; host?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } }, strict: true }));
  } catch (e) {
    io.stderr(`error: ${(e as Error).message}`);
    return 1;
  }
  if (!values.data) {
    io.stderr('error: --data DIR is required (where the database, repositories and uploads live)');
    return 1;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr(`error: --port must be a port number, got ${values.port}`);
    return 1;
  }
  const server = await startEmbedded({ data: values.data, port, host: values.host });
  io.stdout(`electron-tuf server listening on ${server.url} (API ${server.url}/api/v1, repositories ${server.url}/repositories/<name>/)`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

async function isEntryPoint(): Promise<boolean> {
  const started = process.argv[1];
  if (!started) return false;
  const [a, b] = await Promise.all([realpath(started).catch(() => started), realpath(fileURLToPath(import.meta.url))]);
  return a === b;
}

if (await isEntryPoint()) {
  process.exitCode = await runServerCommand(process.argv.slice(2), { stdout: (l) => console.log(l), stderr: (l) => console.error(l) });
}
