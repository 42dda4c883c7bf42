/**
 * `electron-tuf client ...`: the TUF client from the command line, for operators, debugging
 * and scripting. Each command is one Updater run; exit 0 on success, 1 on any failure.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import { describeError, readFileBounded, writeFileAtomic } from '../../updater/node-io/index.js';
import { TrustedMetadataSet } from '../../updater/client/trusted-metadata-set.js';
import { DEFAULT_CONFIG, Updater, type TraceEvent, type UpdaterConfig } from '../../updater/client/updater.js';
import type { CliIO } from './io.js';
import { failureJson, failureLine } from './errors.js';

const USAGE = `usage:
  electron-tuf client init <trusted-root.json> --metadata-dir D [--force]
  electron-tuf client refresh --metadata-dir D --metadata-url U [--verbose]
  electron-tuf client download <target-path>... --metadata-dir D --metadata-url U
                               --target-base-url B --target-dir T [--verbose]
refresh and download also take --min-bytes-per-second N and --rate-window-ms MS:
the slowest transfer accepted (slow retrieval defence; default 1024 bytes/s over 60000 ms)`;

const OPTIONS = {
  'metadata-dir': { type: 'string' },
  'metadata-url': { type: 'string' },
  'target-base-url': { type: 'string' },
  'target-dir': { type: 'string' },
  'min-bytes-per-second': { type: 'string' },
  'rate-window-ms': { type: 'string' },
  force: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function required(values: Values, name: keyof Values): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new ValueError(`--${name} is required\n${USAGE}`);
  return v;
}

function traceTo(io: CliIO, verbose: boolean | undefined): ((e: TraceEvent) => void) | undefined {
  if (!verbose) return undefined;
  return (e) => {
    if (e.type === 'fetch') io.stderr(`GET ${e.url}`);
    else if (e.type === 'visit') io.stderr(`search: visiting role ${e.role}`);
    else io.stderr(e.message);
  };
}

function makeUpdater(values: Values, io: CliIO, withTargets: boolean): Updater {
  return new Updater({
    metadataDir: resolve(io.cwd, required(values, 'metadata-dir')),
    metadataBaseUrl: required(values, 'metadata-url'),
    targetBaseUrl: withTargets ? required(values, 'target-base-url') : undefined,
    targetDir: withTargets ? resolve(io.cwd, required(values, 'target-dir')) : undefined,
    trace: traceTo(io, values.verbose),
    config: rateConfig(values),
  });
}

/** The slow-retrieval settings given on the command line (the Updater checks their range). */
function rateConfig(values: Values): Partial<UpdaterConfig> {
  const config: Partial<UpdaterConfig> = {};
  const rate = values['min-bytes-per-second'];
  const window = values['rate-window-ms'];
  if (rate !== undefined) config.minBytesPerSecond = numberOption(rate, 'min-bytes-per-second');
  if (window !== undefined) config.rateWindowMs = numberOption(window, 'rate-window-ms');
  return config;
}

function numberOption(value: string, name: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new ValueError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/** `client init`: install a trusted root, after checking it is a root signed by its own keys. */
async function init(positionals: string[], values: Values, io: CliIO): Promise<void> {
  if (positionals.length !== 1) throw new ValueError(`init takes one trusted root file\n${USAGE}`);
  const metadataDir = resolve(io.cwd, required(values, 'metadata-dir'));
  const source = resolve(io.cwd, positionals[0]);
  // The same bound the client puts on any root: a file path is input like any other.
  const bytes = await readFileBounded(source, DEFAULT_CONFIG.rootMaxLength);
  if (!bytes) throw new ValueError(`no such file: ${source}`);
  const root = new TrustedMetadataSet(bytes).root.signed;
  const target = resolve(metadataDir, 'root.json');
  if (!values.force) await refuseToReplace(target, bytes);
  await mkdir(metadataDir, { recursive: true });
  await writeFileAtomic(target, bytes);
  io.stdout(`trusted root version ${root.version} installed in ${metadataDir}`);
}

/**
 * Without --force only a missing root.json may be created (or the same one written again): a
 * different root, or a file that cannot be read or is too large to be one, is an error.
 */
async function refuseToReplace(target: string, bytes: Uint8Array): Promise<void> {
  let existing: Uint8Array | undefined;
  try {
    existing = await readFileBounded(target, DEFAULT_CONFIG.rootMaxLength);
  } catch (error) {
    throw new ValueError(
      `${target} exists but cannot be read as a trusted root (${describeError(error)}); pass --force to replace it`,
      { cause: error },
    );
  }
  if (existing && Buffer.compare(existing, bytes) !== 0) {
    throw new ValueError(`${target} already holds a different trusted root; pass --force to replace it`);
  }
}

async function refresh(values: Values, io: CliIO): Promise<void> {
  const updater = makeUpdater(values, io, false);
  await updater.refresh();
  const t = updater.trustedMetadata!;
  io.stdout(
    `root v${t.root.signed.version}, timestamp v${t.timestamp!.signed.version}, ` +
      `snapshot v${t.snapshot!.signed.version}, targets v${t.targets!.signed.version}`,
  );
}

/** `client download`: targets in order with one Updater; a current local copy is not fetched again. */
async function download(positionals: string[], values: Values, io: CliIO): Promise<void> {
  if (positionals.length === 0) throw new ValueError(`download needs at least one target path\n${USAGE}`);
  const updater = makeUpdater(values, io, true);
  await updater.refresh();
  for (const path of positionals) {
    const info = await updater.getTargetInfo(path);
    if (!info) throw new ValueError(`target ${path} not found in trusted metadata`);
    const cached = await updater.findCachedTarget(info);
    if (cached) {
      io.stdout(`${path}: up to date at ${cached}`);
      continue;
    }
    const file = await updater.downloadTarget(info);
    io.stdout(`${path}: downloaded ${info.length} bytes to ${file}`);
  }
}

export async function runClientCommand(argv: string[], io: CliIO): Promise<number> {
  let verbose = false;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    verbose = values.verbose ?? false;
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      io.stdout(USAGE);
      return values.help ? 0 : 1;
    }
    switch (command) {
      case 'init':
        await init(rest, values, io);
        break;
      case 'refresh':
        await refresh(values, io);
        break;
      case 'download':
        await download(rest, values, io);
        break;
      default:
        throw new ValueError(`unknown client command ${JSON.stringify(command)}\n${USAGE}`);
    }
    return 0;
  } catch (e) {
    io.stderr(argv.includes('--json') ? failureJson(e) : failureLine(e, verbose));
    return 1;
  }
}
