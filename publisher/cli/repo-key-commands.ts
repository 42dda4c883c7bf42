/**
 * `repo init`, `rotate`, `sign`, `status` and `keygen`: the key ceremony and root rotation, where
 * the root keys' holders may sign one at a time (publisher/rotate.ts, staged-root.ts).
 */
import { ValueError } from '../../updater/core/errors.js';
import { generateKeyFile, initRepository, repositoryStatus, rotateKeys, signStaged } from '../index.js';
import { roleKeyEnvVar } from '../keystore.js';
import { formatRemaining, publishLines, short, table } from './format.js';
import { newRepositoryPath } from './repo-paths.js';
import {
  days,
  integer,
  KEYS,
  keyOptions,
  list,
  maxArgs,
  path,
  positional,
  required,
  str,
  type Command,
} from './repo-args.js';

export const KEY_COMMANDS: Record<string, Command> = {
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
