/** `repo add`, `remove` and `list`: the releases of a repository (publisher/add.ts, remove.ts, list.ts). */
import { ValueError } from '../../updater/core/errors.js';
import { readFileBounded } from '../../updater/node-io/index.js';
import { addRelease, removeRelease } from '../index.js';
import { MAX_RELEASE_NOTES_BYTES } from '../add.js';
import { listReleases } from '../list.js';
import { formatBytes, publishLines, table } from './format.js';
import { integer, KEYS, keyOptions, maxArgs, path, positional, required, str, type Command } from './repo-args.js';

export const RELEASE_COMMANDS: Record<string, Command> = {
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
};

async function readNotes(file: string): Promise<string> {
  const bytes = await readFileBounded(file, MAX_RELEASE_NOTES_BYTES).catch((e: unknown) => {
    throw new ValueError(`cannot read release notes ${file}: ${(e as Error).message}`);
  });
  if (!bytes) throw new ValueError(`no such file: ${file}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new ValueError(`release notes ${file} are not UTF-8 text`, { cause: error });
  }
}
