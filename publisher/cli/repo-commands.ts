/**
 * `electron-tuf repo <command>`: the publisher from the command line. Each command parses its
 * own options (node:util parseArgs, strict), calls the library function and prints its result:
 * human-readable lines, or the result object as JSON with `--json`. Exit 0 on success, 1 on any
 * failure with one `error: ...` line on stderr (the stack only with --verbose, for bugs).
 */
import { parseArgs } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import { failureJson, failureLine } from './errors.js';
import type { CliIO } from './io.js';
import { COMMON, type Command, type Values } from './repo-args.js';
import { commandHelp } from './repo-help.js';
import { KEY_COMMANDS } from './repo-key-commands.js';
import { RELEASE_COMMANDS } from './repo-release-commands.js';
import { UPKEEP_COMMANDS } from './repo-upkeep-commands.js';

/** In the order `repo --help` lists them. */
const COMMANDS: Record<string, Command> = {
  init: KEY_COMMANDS.init,
  add: RELEASE_COMMANDS.add,
  remove: RELEASE_COMMANDS.remove,
  refresh: UPKEEP_COMMANDS.refresh,
  rotate: KEY_COMMANDS.rotate,
  sign: KEY_COMMANDS.sign,
  status: KEY_COMMANDS.status,
  list: RELEASE_COMMANDS.list,
  verify: UPKEEP_COMMANDS.verify,
  serve: UPKEEP_COMMANDS.serve,
  keygen: KEY_COMMANDS.keygen,
};

const USAGE = `usage: electron-tuf ${Object.values(COMMANDS)
  .map((c) => c.usage.split('\n')[0])
  .join('\n       electron-tuf ')}
options for every command: --json (print the result as JSON), --verbose, --help
with the repository service (docs/server.md): add, remove, list, bootstrap, staged and sign take --server URL --token T
  (electron-tuf repo --server URL --help lists them)`;

interface Outcome {
  result: unknown;
  lines: string[];
  verbose?: string[];
  warnings?: string[];
  failed?: boolean;
}

export async function runRepoCommand(argv: string[], io: CliIO): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  // --server: the same commands against the repository service (loaded only then).
  if (argv.some((a) => a === '--server' || a.startsWith('--server=')))
    return (await import('./remote-commands.js')).runRemoteCommand(argv, io);
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout(USAGE);
      return name === undefined ? 1 : 0;
    }
    const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command && (name === 'bootstrap' || name === 'staged'))
      throw new ValueError(`repo ${name} works with the repository service: add --server URL --token T`);
    if (!command) throw new ValueError(`unknown command "repo ${name}" (see electron-tuf repo --help)`);
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...COMMON, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.stdout(commandHelp(name, command.usage, Object.keys(command.options)));
      return 0;
    }
    const outcome = (await command.run(positionals, values as Values, io)) as Outcome;
    if (values.json) io.stdout(JSON.stringify(outcome.result, null, 2));
    else {
      for (const line of outcome.lines) io.stdout(line);
      if (verbose) for (const line of outcome.verbose ?? []) io.stdout(line);
    }
    for (const w of outcome.warnings ?? []) io.stderr(`warning: ${w}`);
    return outcome.failed ? 1 : 0;
  } catch (e) {
    io.stderr(argv.includes('--json') ? failureJson(e) : failureLine(e, verbose));
    return 1;
  }
}
