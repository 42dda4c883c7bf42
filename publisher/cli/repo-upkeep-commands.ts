/** `repo refresh`, `verify` and `serve`: keeping a published repository fresh, checking it, serving it for tests. */
import { ValueError } from '../../updater/core/errors.js';
import { refreshRepository, serveRepository, verifyRepository } from '../index.js';
import { formatRemaining, publishLines, table } from './format.js';
import { existingRepository, writtenRoles } from './repo-paths.js';
import { days, integer, KEYS, keyOptions, maxArgs, path, positional, str, type Command } from './repo-args.js';

export const UPKEEP_COMMANDS: Record<string, Command> = {
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
};
