/**
 * deb and rpm: the system package manager installs the verified package, with the user's
 * consent through polkit (`pkexec`). Commands are argument arrays, never shell strings.
 *
 * The pending folder belongs to the user, so any process of the user can replace the package
 * there while the polkit prompt is open; what root installs must not be read from it by path.
 * So root is handed an open descriptor (stdin) instead of a path, copies at most `length + 1`
 * bytes from it into a fresh root-only folder (mktemp -d: mode 0700, unguessable name),
 * checks that copy's length and every hash from the signed target info as root, and only then
 * runs dpkg or rpm on the copy, which no user process can change. A file changed in place
 * after our own check is refused there; a file replaced by rename never reaches root at all.
 */
import { open } from 'node:fs/promises';
import { InstallError } from '../errors.js';
import { SUPPORTED_HASH_ALGORITHMS } from '../../core/hashes.js';
import type { InstallerKind, Platform } from '../../release/index.js';
import { runCommand } from './spawn.js';
import { restartInto, type ExpectedFile, type InstallContext, type Installer } from './types.js';

/**
 * Run as root by pkexec (`sh -c SCRIPT electron-tuf-install KIND LENGTH ALG=HEX...`), the
 * package on stdin. Every value is a positional argument, checked again here, never part of
 * the script text. pkexec gives it a clean environment with a safe PATH.
 */
export const ELEVATED_INSTALL_SCRIPT = `set -eu
fail() { echo "electron-tuf: $*; nothing was installed" >&2; exit 3; }
kind=$1 length=$2
shift 2
case $kind in deb|rpm) ;; *) fail "unknown package kind" ;; esac
case $length in ''|*[!0-9]*|0?*) fail "bad length" ;; esac
[ $# -gt 0 ] || fail "no hash to check"
umask 077
dir=$(mktemp -d /var/tmp/electron-tuf-install.XXXXXXXXXX)
trap 'rm -rf -- "$dir"' EXIT
trap 'exit 1' HUP INT TERM
pkg=$dir/update.$kind
head -c "$((length + 1))" > "$pkg"
[ "$(($(wc -c < "$pkg")))" -eq "$length" ] || fail "the package is not the $length bytes that were signed"
for pair in "$@"; do
  alg=\${pair%%=*} want=\${pair#*=}
  case $alg in sha256|sha384|sha512) ;; *) fail "unsupported hash $alg" ;; esac
  case $want in ''|*[!0-9a-f]*) fail "bad $alg value" ;; esac
  got=$("\${alg}sum" < "$pkg")
  [ "\${got%% *}" = "$want" ] || fail "the package does not match its signed $alg"
done
exec </dev/null
if [ "$kind" = deb ]; then dpkg -i "$pkg"; else rpm -U "$pkg"; fi
`;

const HEX = /^[0-9a-f]+$/;

/** The exact command each package kind runs (pkexec, then its arguments); the package goes on stdin. */
export function packageInstallCommand(
  kind: 'deb' | 'rpm',
  expected: ExpectedFile,
): { command: string; args: string[] } {
  if (!Number.isSafeInteger(expected.length) || expected.length < 0)
    throw new InstallError(`bad expected length ${expected.length}`);
  const hashes: string[] = [];
  for (const alg of SUPPORTED_HASH_ALGORITHMS) {
    const value = Object.hasOwn(expected.hashes, alg) ? expected.hashes[alg].toLowerCase() : undefined;
    if (value === undefined) continue;
    if (!HEX.test(value)) throw new InstallError(`the signed ${alg} of the package is not hex`);
    hashes.push(`${alg}=${value}`);
  }
  if (hashes.length === 0)
    throw new InstallError(
      `the package has none of the hashes ${SUPPORTED_HASH_ALGORITHMS.join(', ')}: root could not check it`,
    );
  return {
    command: 'pkexec',
    args: ['/bin/sh', '-c', ELEVATED_INSTALL_SCRIPT, 'electron-tuf-install', kind, String(expected.length), ...hashes],
  };
}

export class LinuxPackageInstaller implements Installer {
  readonly name = 'deb/rpm';

  canInstall(kind: InstallerKind, platform: Platform): boolean {
    return platform === 'linux' && (kind === 'deb' || kind === 'rpm');
  }

  async install(ctx: InstallContext): Promise<void> {
    const kind = ctx.kind as 'deb' | 'rpm';
    const { command, args } = packageInstallCommand(kind, ctx.expected);
    const handle = await open(ctx.file, 'r').catch((error: unknown) => {
      throw new InstallError(`cannot open ${ctx.file}: ${(error as Error).message}`, { cause: error });
    });
    try {
      await runCommand(ctx.spawn, command, args, { stdin: handle.fd });
    } finally {
      await handle.close();
    }
    ctx.log.info(`installed ${ctx.version} with ${kind === 'deb' ? 'dpkg' : 'rpm'} (checked again as root)`);
    // The package replaced the files at the same paths, so the same executable is the new one.
    restartInto(ctx, ctx.host.execPath());
  }
}
