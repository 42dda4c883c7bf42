/**
 * `repo <command> --server URL --token T`: the commands against the repository service
 * (@electron-tuf/server) instead of a local repository, so CI holds a scoped token and no
 * signing key. `add` uploads each installer (hashed first, then streamed), records the release
 * and, unless --no-wait, waits until its task is published, with a progress line; `remove` and
 * `list` work on releases; the key ceremony (bootstrap, staged, sign) is in
 * remote-root-commands.ts. The HTTP client (service-client.ts) is Node's fetch: the app and the
 * publisher gain no dependency. ELECTRON_TUF_TOKEN stands in for --token (keeping the token out
 * of the process list).
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import { failureLine } from './errors.js';
import type { CliIO } from './io.js';
import { ROOT_COMMANDS } from './remote-root-commands.js';
import { serviceClient, submitRelease, waitForTask, type ServiceClient } from './service-client.js';

export type RemoteValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** A command with --server: its own options, and what it does with a client of the service. */
export interface RemoteCommand {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** An exit code, or the tasks to wait for (unless --no-wait). */
  run(
    positionals: string[],
    values: RemoteValues,
    client: ServiceClient,
    io: CliIO,
  ): Promise<number | { tasks: string[] }>;
}

const COMMON = {
  server: { type: 'string' },
  token: { type: 'string' },
  'no-wait': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The service's answers `repo list` prints (server/src/api/schemas.ts); printed only, never trusted. */
interface ReleasesAnswer {
  releases: {
    version: string;
    channel: string;
    platform: string;
    arch: string;
    staging?: number;
    installers: string[];
  }[];
}
interface PendingAnswer {
  pending: { kind: string; payload: { version?: string }; task: string }[];
}
function repoPath(name: string | undefined): string {
  if (!name) throw new ValueError('missing the repository name on the server');
  return `/repositories/${encodeURIComponent(name)}`;
}

function text(values: RemoteValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

const RELEASE_COMMANDS: Record<string, RemoteCommand> = {
  add: {
    usage:
      'repo add <name> <file>... --server URL --token T --version V --platform P --arch A\n' +
      '         [--channel C] [--staging PCT] [--notes-text TEXT] [--no-wait]',
    options: {
      version: { type: 'string' },
      platform: { type: 'string' },
      arch: { type: 'string' },
      channel: { type: 'string' },
      staging: { type: 'string' },
      'notes-text': { type: 'string' },
    },
    async run(positionals, values, client, io) {
      const repo = positionals[0];
      repoPath(repo);
      const files = positionals.slice(1).map((f) => resolve(io.cwd, f));
      const staging = text(values, 'staging');
      const release = {
        version: text(values, 'version'),
        platform: text(values, 'platform'),
        arch: text(values, 'arch'),
        channel: text(values, 'channel'),
        notes: text(values, 'notes-text'),
        staging: staging === undefined ? undefined : Number(staging),
      };
      return { tasks: [await submitRelease(client, repo, files, release, (line) => io.stderr(line))] };
    },
  },
  remove: {
    usage: 'repo remove <name> --version V [--channel C] --server URL --token T [--no-wait]',
    options: { version: { type: 'string' }, channel: { type: 'string' } },
    async run(positionals, values, client) {
      const path = repoPath(positionals[0]);
      const version = text(values, 'version');
      if (!version) throw new ValueError('--version is required');
      const channel = text(values, 'channel');
      const query = channel ? `?channel=${encodeURIComponent(channel)}` : '';
      const r = (await client.request('DELETE', `${path}/releases/${encodeURIComponent(version)}${query}`)) as {
        task: string;
      };
      return { tasks: [r.task] };
    },
  },
  list: {
    usage: 'repo list <name> --server URL --token T',
    options: {},
    async run(positionals, values, client, io) {
      const path = repoPath(positionals[0]);
      const [published, pending] = (await Promise.all([
        client.request('GET', `${path}/releases`),
        client.request('GET', `${path}/releases/pending`),
      ])) as [ReleasesAnswer, PendingAnswer];
      if (values.json) io.stdout(JSON.stringify({ ...published, ...pending }, null, 2));
      else {
        for (const r of published.releases)
          io.stdout(
            `${r.version}  ${r.channel}  ${r.platform}-${r.arch}${r.staging !== undefined ? `  staging ${r.staging}%` : ''}  ${r.installers.join(', ')}`,
          );
        for (const p of pending.pending) io.stdout(`pending ${p.kind} ${p.payload.version} (task ${p.task})`);
      }
      return 0;
    },
  },
};

const COMMANDS: Record<string, RemoteCommand> = { ...RELEASE_COMMANDS, ...ROOT_COMMANDS };

const USAGE = `usage: electron-tuf ${Object.values(COMMANDS)
  .map((c) => c.usage)
  .join('\n       electron-tuf ')}`;

export async function runRemoteCommand(argv: string[], io: CliIO): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const [name, ...rest] = argv;
    const command =
      name !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command && (argv.includes('--help') || argv.includes('-h'))) {
      io.stdout(USAGE);
      return 0;
    }
    if (!command)
      throw new ValueError(`repo ${name ?? ''} is not available with --server (${Object.keys(COMMANDS).join(', ')})`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON, ...command.options },
    });
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    const client = serviceClient(values.server, values.token ?? io.env.ELECTRON_TUF_TOKEN);
    const outcome = await command.run(positionals, values, client, io);
    if (typeof outcome === 'number') return outcome;
    let failed = false;
    for (const task of outcome.tasks) failed = !(await report(client, task, values, io)) || failed;
    return failed ? 1 : 0;
  } catch (e) {
    io.stderr(failureLine(e, verbose));
    return 1;
  }
}

/** Prints a task's id (--no-wait) or waits and prints its outcome; false when it failed. */
async function report(client: ServiceClient, task: string, values: RemoteValues, io: CliIO): Promise<boolean> {
  if (values['no-wait']) {
    io.stdout(values.json ? JSON.stringify({ task, state: 'pending' }) : `task ${task}`);
    return true;
  }
  const done = await waitForTask(client, task, (line) => io.stderr(line));
  if (values.json) io.stdout(JSON.stringify({ task, ...done }));
  else
    io.stdout(
      done.state === 'succeeded'
        ? `${describeResult(done.result)}(task ${task})`
        : `failed: ${done.error ?? 'unknown error'} (task ${task})`,
    );
  return done.state === 'succeeded';
}

/** A settled task's result in words: the service's answer, printed only, never trusted. */
function describeResult(result: unknown): string {
  const r = (result ?? {}) as {
    published?: unknown;
    status?: { ready?: unknown; waitingFor?: unknown };
    added?: unknown;
  };
  if (Array.isArray(r.added)) {
    if (typeof r.published === 'number') return `published root version ${r.published} `;
    const waiting = Array.isArray(r.status?.waitingFor) ? r.status.waitingFor.map((k) => String(k).slice(0, 8)) : [];
    return `signature accepted; the staged root waits for a signature by one of: ${waiting.join(', ')} `;
  }
  return 'published ';
}
