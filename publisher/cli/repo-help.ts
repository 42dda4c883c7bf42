/**
 * `electron-tuf repo <command> --help`: one line per option, with its default. Kept beside the
 * commands' option tables (repo-key-commands.ts, repo-release-commands.ts,
 * repo-upkeep-commands.ts); test/cli/repo-cli.test.ts checks that every option a command
 * accepts is described here.
 */

const KEYS =
  '--keys DIR          keys directory (files + keys.json); default: none, keys come from ELECTRON_TUF_<ROLE>_KEY';

/** add, remove and list through the repository service instead of local keys (docs/server.md). */
const SERVICE = {
  server: '--server URL        publish through the repository service at URL; default: none, the local repository',
  token: '--token T           the service token; default: ELECTRON_TUF_TOKEN',
  'no-wait': '--no-wait           with --server: print the task id instead of waiting until published; default: wait',
};

/** Options every command takes. */
export const COMMON_HELP = [
  '--json              print the result (or the error) as JSON; default: human-readable lines',
  '--verbose, -v       more detail, and the stack of unexpected errors; default: off',
  '--help, -h          this help',
];

export const OPTION_HELP: Record<string, Record<string, string>> = {
  init: {
    keys: '--keys DIR          keys directory to create the new keys in (required; kept outside the repository)',
    'root-keys': '--root-keys N       number of root keys; default: 1',
    'root-threshold': '--root-threshold T  root keys needed to sign root; default: 1',
    'key-type': '--key-type T        ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss; default: ed25519',
    expires:
      '--expires ROLE=DAYS lifetime of a role, repeatable (more than 0 days); default: root=365 targets=365 snapshot=30 timestamp=7',
    bins: '--bins N            spread targets over N hashed bins (TAP 15, a power of 2); default: 0, no bins',
  },
  add: {
    keys: KEYS,
    version: '--version V         semver version of the release (required)',
    channel:
      '--channel C         release channel; default: the prerelease tag of --version (1.2.0-beta.1 -> beta), else stable',
    platform: '--platform P        linux, darwin or win32 (required)',
    arch: '--arch A            x64, arm64, ia32, armv7l or universal (required)',
    notes: '--notes FILE        release notes (UTF-8 text), signed with the release; default: none',
    staging: '--staging PCT       staged rollout: percentage of installs offered the release; default: 100',
    force: '--force             replace files already published under this version; default: off',
    replace: "--replace           replace the release's installer of the same kind; default: off (refused)",
    'no-chunk-map':
      '--no-chunk-map      publish no chunk maps (differential updates) for zip, tar.gz, AppImage and NSIS installers; default: publish them',
    ...SERVICE,
  },
  remove: {
    keys: KEYS,
    version: '--version V         the version to remove (required)',
    channel: '--channel C         remove it from this channel only; default: every channel',
    ...SERVICE,
  },
  refresh: {
    keys: KEYS,
    'min-remaining': '--min-remaining D   re-sign a role with less than D days left; default: half its lifetime',
    force: '--force             re-sign snapshot and timestamp whatever their expiry; default: off',
  },
  rotate: {
    keys: KEYS,
    role: '--role R            root, targets, snapshot, timestamp or bins (required)',
    'add-key': '--add-key FILE      add the public key in FILE (from repo keygen), repeatable; default: none',
    generate: '--generate N        generate N new keys into --keys; default: 0',
    'key-type': '--key-type T        type of generated keys, ed25519 or ecdsa-p256; default: ed25519',
    'remove-key':
      '--remove-key KEYID  remove a key (id, or a unique prefix of 8+ hex digits), repeatable; default: none',
    threshold: '--threshold T       keys needed to sign the role; default: unchanged',
    expires: "--expires DAYS      lifetime of the new root (--role root only); default: the repository's root lifetime",
  },
  sign: {
    keys: KEYS,
    key: '--key FILE          sign the staged root with this private key; default: keys from --keys and variables',
    signature: '--signature FILE    add a detached signature made by repo sign --out, repeatable; default: none',
    out: '--out FILE          with --key: write a detached signature here instead of signing in place; default: sign in place',
    'no-publish': '--no-publish        do not publish the root even when it has enough signatures; default: publish',
  },
  status: {},
  verify: {
    at: '--at TIME           check expiry at this ISO 8601 time; default: now',
    'skip-target-files':
      "--skip-target-files check metadata only, not the target files' lengths and hashes; default: check them",
  },
  serve: {
    port: '--port N            port on 127.0.0.1; default: a free port',
  },
  keygen: {
    'key-type': '--key-type T        ed25519, ecdsa-p256, ecdsa-p384 or rsa-pss; default: ed25519',
  },
  list: {
    channel: '--channel C         only this channel; default: every channel',
    ...SERVICE,
  },
};

/** The help text of one command: its usage and every option it takes. */
export function commandHelp(name: string, usage: string, options: readonly string[]): string {
  const described = OPTION_HELP[name] ?? {};
  // Options described but handled elsewhere (--server hands the command to the service client).
  const all = [...new Set([...options, ...Object.keys(described)])];
  const lines = all.map((option) => `  ${described[option] ?? `--${option}`}`);
  return [
    `usage: electron-tuf ${usage}`,
    ...(lines.length ? ['options:', ...lines] : []),
    'options of every command:',
    ...COMMON_HELP.map((l) => `  ${l}`),
  ].join('\n');
}
