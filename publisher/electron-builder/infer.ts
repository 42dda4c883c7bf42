/**
 * afterAllArtifactBuild without afterPack: what each installer is, from the BuildResult alone.
 * Only an unambiguous build is signed: one platform, the app's version (from the targets'
 * packager, else the package.json where the build runs) in every installer's name, exactly one arch named in each name (electron-builder's `${arch}`),
 * and for Windows the nsis target as the only one making .exe files. Anything else is an error
 * that names the fix (afterPack), never a guess: a wrong arch or version would be signed.
 */
import { basename, join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { isPlainObject } from '../../updater/core/fields.js';
import { describeError, parseJsonBytes, readFileBounded } from '../../updater/node-io/index.js';
import {
  installerKindOf,
  validatePlatform,
  validateVersion,
  type Arch,
  type Platform,
} from '../../updater/release/index.js';
import type { BuildResultLike } from './builder-types.js';
import type { ArtifactRecord } from './sign.js';

const FIX =
  'set "afterPack": "electron-tuf/electron-builder" too, so the hooks learn each installer\'s platform and arch';
const MANIFEST_MAX_BYTES = 1024 * 1024;

/** Arch spellings in installer names (electron-builder's, Debian's, RPM's). */
const ARCH_TOKENS: Readonly<Record<string, Arch>> = {
  x64: 'x64',
  x86_64: 'x64',
  amd64: 'x64',
  arm64: 'arm64',
  aarch64: 'arm64',
  ia32: 'ia32',
  i386: 'ia32',
  i686: 'ia32',
  armv7l: 'armv7l',
  armhf: 'armv7l',
  universal: 'universal',
};

/** Exe-making Windows targets other than nsis: with one of them in the build, an .exe is ambiguous. */
const OTHER_EXE_TARGETS = ['portable', 'nsis-web', 'squirrel'];

export interface InferredBuild {
  projectDir: string;
  /** The app's package.json (as PackagerLike.metadata). */
  metadata: unknown;
  recordOf(file: string): ArtifactRecord | undefined;
}

export async function inferBuild(result: BuildResultLike, projectDir: string = process.cwd()): Promise<InferredBuild> {
  const platform = onlyPlatform(result);
  // electron-builder's targets carry their PlatformPackager: the app's version, project and
  // package.json as electron-builder used them. Else the package.json where the build runs.
  const packager = packagerOfTargets(result);
  const dir = packager?.projectDir ?? projectDir;
  const manifest = packager ? packager.metadata : await readManifest(dir);
  const declared =
    packager?.version ??
    result.configuration?.extraMetadata?.version ??
    (isPlainObject(manifest) ? manifest.version : undefined);
  if (typeof declared !== 'string') throw new ValueError(`no version in ${join(dir, 'package.json')}: ${FIX}`);
  const version = validateVersion(declared);
  const targetNames = [...(result.platformToTargets?.values().next().value?.keys() ?? [])].map((name) =>
    String(name).toLowerCase(),
  );
  const recordOf = (file: string): ArtifactRecord | undefined => {
    const name = basename(file);
    const kind = installerKindOf(name);
    if (!kind) return undefined;
    if (!name.includes(version))
      throw new ValueError(`${name} does not carry the version ${version} of package.json in its name: ${FIX}`);
    const arch = archOfName(name, version);
    let targetName = kind;
    if (kind === 'nsis') {
      if (!targetNames.includes('nsis') || targetNames.some((t) => OTHER_EXE_TARGETS.includes(t))) {
        throw new ValueError(
          `${name}: the build's Windows targets (${targetNames.join(', ') || 'unknown'}) do not say which one made it: ${FIX}`,
        );
      }
      targetName = 'nsis';
    }
    return { file, platform, arch, targetName, version, packedArchs: new Set([arch]) };
  };
  return { projectDir: dir, metadata: manifest, recordOf };
}

/** What a target's `packager` (app-builder-lib's PlatformPackager) says, when it has one. */
function packagerOfTargets(
  result: BuildResultLike,
): { version: string; projectDir: string; metadata: unknown } | undefined {
  for (const target of result.platformToTargets?.values().next().value?.values() ?? []) {
    const packager = (
      target as {
        packager?: { appInfo?: { version?: unknown }; info?: { projectDir?: unknown; metadata?: unknown } };
      } | null
    )?.packager;
    const version = packager?.appInfo?.version;
    const projectDir = packager?.info?.projectDir;
    if (typeof version === 'string' && typeof projectDir === 'string')
      return { version, projectDir, metadata: packager?.info?.metadata };
  }
  return undefined;
}

function onlyPlatform(result: BuildResultLike): Platform {
  const platforms = [...(result.platformToTargets?.keys() ?? [])].map((p) => String(p?.nodeName));
  if (platforms.length !== 1) {
    const what =
      platforms.length === 0
        ? 'does not say which platform it built'
        : `built for several platforms (${platforms.join(', ')})`;
    throw new ValueError(`this build ${what}: ${FIX}`);
  }
  return validatePlatform(platforms[0]);
}

function archOfName(name: string, version: string): Arch {
  const tokens = name
    .replace(version, ' ')
    .toLowerCase()
    .split(/[-. ]+/);
  const archs = new Set(tokens.filter((t) => Object.hasOwn(ARCH_TOKENS, t)).map((t) => ARCH_TOKENS[t]));
  if (archs.size === 1) return [...archs][0];
  const found = archs.size === 0 ? 'does not name its arch' : `names several archs (${[...archs].join(', ')})`;
  throw new ValueError(`${name} ${found}: put \${arch} in electron-builder's artifactName, or ${FIX}`);
}

async function readManifest(projectDir: string): Promise<unknown> {
  const path = join(projectDir, 'package.json');
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileBounded(path, MANIFEST_MAX_BYTES); // StorageError names a file too large
  } catch (cause) {
    throw new ValueError(`cannot read ${path} for the app's version (${describeError(cause)}): ${FIX}`, { cause });
  }
  if (!bytes) throw new ValueError(`cannot read ${path} for the app's version: ${FIX}`);
  return parseJsonBytes(bytes, path, ValueError);
}
