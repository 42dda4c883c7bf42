/**
 * `electron-tuf repo <command>`: the publisher from the command line. Each command parses its
 * own options (node:util parseArgs, strict), calls the library function and prints its result:
 * human-readable lines, or the result object as JSON with `--json`. Exit 0 on success, 1 on any
 * failure with one `error: ...` line on stderr (the stack only with --verbose, for bugs).
 */
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import { readFileBounded } from '../../updater/node-io/index.js';
import {
  addRelease,
  generateKeyFile,
  initRepository,
  refreshRepository,
  removeRelease,
  repositoryStatus,
  rotateKeys,
  serveRepository,
  signStaged,
  verifyRepository,
} from '../index.js';
import { MAX_RELEASE_NOTES_BYTES } from '../add.js';
import { listReleases } from '../list.js';
import { roleKeyEnvVar } from '../keystore.js';
import { failureJson, failureLine } from './errors.js';
import { formatBytes, formatRemaining, short, table } from './format.js';
import type { CliIO } from './io.js';
import { existingRepository, newRepositoryPath, writtenRoles } from './repo-paths.js';
import { commandHelp } from './repo-help.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

interface Command {
  usage: string;
  options: Options;
  run(positionals: string[], values: Values, io: CliIO): Promise<unknown>;
}

const COMMON: Options = {
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const KEYS: Options = { keys: { type: 'string' } };

// ---------------------------------------------------------------------------------------------
// Argument helpers

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new ValueError(`--${name} is required`);
  return v;
}

function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? (v as string[]) : [];
}

function integer(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ValueError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function days(value: string, what: string): number {
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new ValueError(`${what} must be a number of days, got ${JSON.stringify(value)}`);
  // Metadata that expires as it is signed would be refused by every client at once.
  if (Number(value) <= 0)
    throw new ValueError(
      `${what} must be more than 0 days: metadata that expires when it is signed is refused by every client`,
    );
  return Number(value);
}

function positional(positionals: string[], index: number, what: string): string {
  const v = positionals[index];
  if (v === undefined) throw new ValueError(`missing ${what}`);
  return v;
}

function path(io: CliIO, p: string): string;
function path(io: CliIO, p: string | undefined): string | undefined;
function path(io: CliIO, p: string | undefined): string | undefined {
  return p === undefined ? undefined : resolve(io.cwd, p);
}

function keyOptions(values: Values, io: CliIO): { keys?: string; env: NodeJS.ProcessEnv } {
  return { keys: path(io, str(values, 'keys')), env: io.env };
}

function maxArgs(positionals: string[], n: number): void {
  if (positionals.length > n) throw new ValueError(`unexpected argument ${JSON.stringify(positionals[n])}`);
}

async function readNotes(file: string): Promise<string> {
  const bytes = await readFileBounded(file, MAX_RELEASE_NOTES_BYTES).catch((e: unknown) => {
    throw new ValueError(`cannot read release notes ${file}: ${(e as Error).message}`);
  });
  if (!bytes) throw new ValueError(`no such file: ${file}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValueError(`release notes ${file} are not UTF-8 text`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

const COMMANDS: Record<string, Command> = {
  init: {
    usage:
      'repo init <repo> --keys <keys-dir> [--root-keys N] [--root-threshold T] [--key-type ed25519|ecdsa-p256]\n' +
      '          [--expires ROLE=DAYS]... [--bins N]',
    options: {
      ...KEYS,
      'root-keys': { type: 'string' },
      'root-threshold': { type: 'string' },
      'key-type': { type: 'string' },
      expires: { type: 'string', multiple: true },
      bins: { type: 'string' },
    },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const expires: Record<string, number> = {};
      for (const item of list(values, 'expires')) {
        const m = /^([a-z]+)=(.+)$/.exec(item);
        if (!m) throw new ValueError(`--expires takes ROLE=DAYS, got ${JSON.stringify(item)}`);
        expires[m[1]] = days(m[2], `--expires ${m[1]}`);
      }
      const result = await initRepository({
        repo: await newRepositoryPath(path(io, positional(positionals, 0, 'repository directory'))),
        keys: path(io, required(values, 'keys')),
        rootKeys: integer(values, 'root-keys'),
        rootThreshold: integer(values, 'root-threshold'),
        keyType: str(values, 'key-type'),
        expires,
        bins: integer(values, 'bins'),
      });
      return {
        result,
        lines: [
          `Created repository ${result.repo}${result.bins ? ` with ${result.bins} hashed bins` : ''}.`,
          `Trusted root, to ship inside your app: ${result.trustedRoot}`,
          'Keys:',
          ...table(result.keys.map((k) => [k.role, short(k.keyid), k.file])),
          `Keep OFFLINE (move to offline media, then delete here): ${result.offline.join(', ')}`,
          `Online keys, for the publishing machine or CI (files, or secrets ${[...new Set(result.keys.filter((k) => k.role !== 'root').map((k) => roleKeyEnvVar(k.role)))].join(', ')}).`,
          `Expiry (days): ${Object.entries(result.lifetimes)
            .map(([r, d]) => `${r} ${d}`)
            .join(', ')}. ` +
            `Run \`electron-tuf repo refresh\` at least every ${Math.max(1, Math.floor(result.lifetimes.timestamp / 2))} day(s).`,
        ],
      };
    },
  },

  add: {
    usage:
      'repo add <repo> <file>... --version V --platform linux|darwin|win32 --arch x64|arm64|... [--channel C]\n' +
      '         [--keys <keys-dir>] [--notes FILE] [--staging PCT] [--force] [--replace] [--no-chunk-map]\n' +
      '         [--server URL --token T [--no-wait]]',
    options: {
      ...KEYS,
      version: { type: 'string' },
      channel: { type: 'string' },
      platform: { type: 'string' },
      arch: { type: 'string' },
      notes: { type: 'string' },
      staging: { type: 'string' },
      force: { type: 'boolean' },
      replace: { type: 'boolean' },
      'no-chunk-map': { type: 'boolean' },
    },
    async run(positionals, values, io) {
      const repo = path(io, positional(positionals, 0, 'repository directory'));
      const files = positionals.slice(1).map((f) => path(io, f));
      if (files.length === 0) throw new ValueError('missing installer file(s)');
      const notesFile = path(io, str(values, 'notes'));
      const result = await addRelease({
        repo,
        files,
        version: required(values, 'version'),
        channel: str(values, 'channel'),
        platform: required(values, 'platform'),
        arch: required(values, 'arch'),
        notes: notesFile === undefined ? undefined : await readNotes(notesFile),
        stagingPercentage: integer(values, 'staging'),
        force: values.force === true,
        replace: values.replace === true,
        chunkMap: values['no-chunk-map'] !== true,
        ...keyOptions(values, io),
      });
      const where = `${result.version} (${result.channel}, ${result.platform}-${result.arch})`;
      if (!result.changed)
        return {
          result,
          lines: [`Nothing to do: ${where} is already published exactly so.`],
          warnings: result.warnings,
        };
      return {
        result,
        warnings: result.warnings,
        lines: [
          `Published ${where}:`,
          ...table([
            ...result.targets.flatMap((t) => [
              [t.status, t.path, formatBytes(t.length), t.role],
              ...(t.chunkMap ? [['chunk map', t.chunkMap.path, formatBytes(t.chunkMap.length), '']] : []),
            ]),
            ...result.replaced.map((p) => ['removed', p, '(replaced)', '']),
            ['index', result.channelIndex.path, result.channelIndex.status, 'targets'],
          ]),
          ...publishLines(result.publish!),
        ],
        verbose: [
          `hash and copy ${result.timings.hashAndCopyMs.toFixed(0)} ms, publish ${result.timings.publishMs.toFixed(0)} ms`,
        ],
      };
    },
  },

  remove: {
    usage: 'repo remove <repo> --version V [--channel C] [--keys <keys-dir>] [--server URL --token T [--no-wait]]',
    options: { ...KEYS, version: { type: 'string' }, channel: { type: 'string' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const result = await removeRelease({
        repo: path(io, positional(positionals, 0, 'repository directory')),
        version: required(values, 'version'),
        channel: str(values, 'channel'),
        ...keyOptions(values, io),
      });
      return {
        result,
        lines: [
          `Removed ${result.version}: ${result.removed.map((r) => r.path).join(', ')}`,
          ...result.indexes.map((i) => `  ${i.path}: now offers ${i.newest ?? 'no release'}`),
          ...publishLines(result.publish),
        ],
      };
    },
  },

  refresh: {
    usage: 'repo refresh <repo> [--keys <keys-dir>] [--min-remaining DAYS] [--force]',
    options: { ...KEYS, 'min-remaining': { type: 'string' }, force: { type: 'boolean' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const min = str(values, 'min-remaining');
      const result = await refreshRepository({
        repo: path(io, positional(positionals, 0, 'repository directory')),
        minRemainingDays: min === undefined ? undefined : days(min, '--min-remaining'),
        force: values.force === true,
        ...keyOptions(values, io),
      });
      const written = result.changed ? await writtenRoles(path(io, positionals[0])) : {};
      const now = Date.now();
      const rows = result.roles.map((r) => {
        const w = r.action === 'resigned' ? written[r.role] : undefined;
        const remaining = w ? Date.parse(w.expires) - now : r.remainingMs;
        return [
          r.role,
          `v${w?.version ?? r.version}`,
          `expires ${w?.expires ?? r.expires}`,
          formatRemaining(remaining),
          r.action,
        ];
      });
      const lines = [
        result.changed ? 'Re-signed:' : 'Nothing to re-sign; every role has enough validity left:',
        ...table(rows),
      ];
      if (result.publish) lines.push(...publishLines(result.publish));
      return { result, lines, warnings: [...result.warnings, ...result.problems], failed: result.problems.length > 0 };
    },
  },

  rotate: {
    usage:
      'repo rotate <repo> --role root|targets|snapshot|timestamp|bins [--keys <keys-dir>] [--add-key PUBLIC.json]...\n' +
      '            [--generate N] [--key-type T] [--remove-key KEYID]... [--threshold T] [--expires DAYS]',
    options: {
      ...KEYS,
      role: { type: 'string' },
      'add-key': { type: 'string', multiple: true },
      generate: { type: 'string' },
      'key-type': { type: 'string' },
      'remove-key': { type: 'string', multiple: true },
      threshold: { type: 'string' },
      expires: { type: 'string' },
    },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const expires = str(values, 'expires');
      const result = await rotateKeys({
        repo: path(io, positional(positionals, 0, 'repository directory')),
        role: required(values, 'role'),
        addKeyFiles: list(values, 'add-key').map((f) => path(io, f)),
        generate: integer(values, 'generate'),
        keyType: str(values, 'key-type'),
        removeKeys: list(values, 'remove-key'),
        threshold: integer(values, 'threshold'),
        expiresDays: expires === undefined ? undefined : days(expires, '--expires'),
        ...keyOptions(values, io),
      });
      const lines = [`${result.role}: ${result.threshold} of ${result.keyids.map(short).join(', ')}`];
      for (const g of result.generated) lines.push(`  new key ${short(g.keyid)} in ${g.file}`);
      if (result.staged && !result.published) lines.push(...stagedLines(result.staged));
      if (result.published && 'rootVersion' in result.published)
        lines.push(rootPublishedLine(result.published.rootVersion));
      if (result.published?.publish) lines.push(...publishLines(result.published.publish));
      return { result, lines };
    },
  },

  sign: {
    usage:
      'repo sign <repo> root [--key PRIVATE.pem [--out SIG.json]] [--signature SIG.json]... [--keys <keys-dir>] [--no-publish]',
    options: {
      ...KEYS,
      key: { type: 'string' },
      signature: { type: 'string', multiple: true },
      out: { type: 'string' },
      'no-publish': { type: 'boolean' },
    },
    async run(positionals, values, io) {
      maxArgs(positionals, 2);
      const result = await signStaged({
        repo: path(io, positional(positionals, 0, 'repository directory')),
        role: positional(positionals, 1, 'role (root)'),
        keyFile: path(io, str(values, 'key')),
        signatureFiles: list(values, 'signature').map((f) => path(io, f)),
        out: path(io, str(values, 'out')),
        publish: values['no-publish'] !== true,
        ...keyOptions(values, io),
      });
      const lines: string[] = [];
      if (result.out)
        lines.push(
          `Detached signature written to ${result.out}; send it to whoever publishes (repo sign --signature).`,
        );
      else if (result.added.length)
        lines.push(
          `Added signatures by ${result.added.map(short).join(', ')} to staged root version ${result.version}.`,
        );
      if (result.published) {
        lines.push(rootPublishedLine(result.published.rootVersion));
        if (result.published.publish) lines.push(...publishLines(result.published.publish));
      } else if (!result.out) lines.push(...stagedLines(result.status));
      return { result, lines };
    },
  },

  status: {
    usage: 'repo status <repo>',
    options: {},
    async run(positionals, _values, io) {
      maxArgs(positionals, 1);
      const result = await repositoryStatus({ repo: path(io, positional(positionals, 0, 'repository directory')) });
      const lines = [
        'Roles:',
        ...table(
          result.roles.map((r) => [
            r.role + (r.count ? ` of ${r.count}` : ''),
            `v${r.version}`,
            `expires ${r.expires}`,
            formatRemaining(r.remainingMs),
            `signed ${r.signedBy.length}/${r.threshold} (keys ${r.keyids.map(short).join(', ')})`,
          ]),
        ),
      ];
      if (result.staged.length === 0) lines.push('Nothing is waiting for signatures.');
      for (const s of result.staged) lines.push(...stagedLines(s));
      for (const f of result.invalidSignatures)
        lines.push(`  ignored signature file (does not match the staged root): ${f}`);
      return { result, lines };
    },
  },

  list: {
    usage: 'repo list <repo> [--channel C] [--server URL --token T]',
    options: { channel: { type: 'string' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const result = await listReleases({
        repo: path(io, positional(positionals, 0, 'repository directory')),
        channel: str(values, 'channel'),
      });
      const lines: string[] = [];
      for (const index of result.indexes) {
        lines.push(`${index.channel} ${index.platform}-${index.arch} (${index.path}):`);
        if (index.releases.length === 0) lines.push('  no release');
        lines.push(
          ...table(
            index.releases.map((r) => [
              r.version,
              r.releaseDate,
              r.stagingPercentage === undefined ? 'everyone' : `staged ${r.stagingPercentage} %`,
              r.files.join(', '),
            ]),
          ),
        );
      }
      if (result.indexes.length === 0)
        lines.push(`No releases${values.channel ? ` in channel ${String(values.channel)}` : ''}.`);
      return { result, lines };
    },
  },

  verify: {
    usage: 'repo verify <repo> [--at TIME] [--skip-target-files]',
    options: { at: { type: 'string' }, 'skip-target-files': { type: 'boolean' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const atText = str(values, 'at');
      const at = atText === undefined ? undefined : new Date(atText);
      if (at && Number.isNaN(at.getTime())) throw new ValueError(`--at: not a time: ${JSON.stringify(atText)}`);
      const result = await verifyRepository({
        repo: await existingRepository(path(io, positional(positionals, 0, 'repository directory'))),
        at,
        checkTargetFiles: values['skip-target-files'] !== true,
      });
      const lines = [
        `Expiry horizons${at ? ` at ${at.toISOString()}` : ''}:`,
        ...table(
          result.horizons.map((h) => [
            h.role + (h.count ? ` (${h.count} roles)` : ''),
            `v${h.version}`,
            `expires ${h.expires}`,
            formatRemaining(h.remainingMs),
          ]),
        ),
        `${result.targetCount} targets; ${result.targetFilesChecked} target files checked.`,
        ...result.warnings.map((w) => `warning: ${w}`),
        ...result.problems.map((p) => `problem: ${p}`),
        result.ok
          ? 'OK: the repository verifies as a client would see it.'
          : `FAILED: ${result.problems.length} problem(s).`,
      ];
      return { result, lines, failed: !result.ok };
    },
  },

  serve: {
    usage: 'repo serve <repo> [--port N]',
    options: { port: { type: 'string' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const server = await serveRepository({
        repo: await existingRepository(path(io, positional(positionals, 0, 'repository directory'))),
        port: integer(values, 'port'),
        onRequest: values.verbose ? (r) => io.stderr(`${r.status} ${r.method} ${r.url}`) : undefined,
      });
      io.stdout(`Serving ${server.metadataUrl} and ${server.targetsUrl} (read only). Stop with Ctrl-C.`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await server.close();
      return { result: { url: server.url }, lines: [] };
    },
  },

  keygen: {
    usage: 'repo keygen <private-key-file> [--key-type ed25519|ecdsa-p256]',
    options: { 'key-type': { type: 'string' } },
    async run(positionals, values, io) {
      maxArgs(positionals, 1);
      const result = await generateKeyFile(
        path(io, positional(positionals, 0, 'private key file')),
        str(values, 'key-type'),
      );
      return {
        result: {
          keyid: result.keyid,
          privateKeyFile: result.privateKeyFile,
          publicKeyFile: result.publicKeyFile,
          publicKey: result.publicKey,
        },
        lines: [
          `Key ${short(result.keyid)}: private key in ${result.privateKeyFile} (keep it safe), public key in ${result.publicKeyFile}`,
          'Give the public key file to whoever runs `repo rotate --add-key`.',
        ],
      };
    },
  },
};

/** The new root is a file of its own, which apps and mirrors need: name it. */
function rootPublishedLine(version: number): string {
  return `Published root version ${version}: metadata/${version}.root.json.`;
}

function publishLines(report: { files: Array<{ name: string; bytes: number }>; metadataBytes: number }): string[] {
  return [
    `Wrote ${report.files.length} metadata file(s), ${formatBytes(report.metadataBytes)}: ${report.files.map((f) => f.name).join(', ')}`,
  ];
}

function stagedLines(s: {
  version: number;
  current: { signedBy: string[]; missing: string[]; threshold: number };
  next: { signedBy: string[]; missing: string[]; threshold: number };
  ready: boolean;
  waitingFor: string[];
  rotatedRoles: string[];
}): string[] {
  return [
    `Staged root version ${s.version} (changes ${s.rotatedRoles.join(', ') || 'expiry only'}):`,
    `  current root keys: ${s.current.signedBy.length} of ${s.current.threshold} needed${s.current.missing.length ? `; not yet: ${s.current.missing.map(short).join(', ')}` : ''}`,
    `  new root keys:     ${s.next.signedBy.length} of ${s.next.threshold} needed${s.next.missing.length ? `; not yet: ${s.next.missing.map(short).join(', ')}` : ''}`,
    s.ready
      ? '  ready to publish (repo sign <repo> root)'
      : `  waiting for a signature by one of: ${s.waitingFor.map(short).join(', ')} (repo sign <repo> root --key FILE)`,
  ];
}

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
