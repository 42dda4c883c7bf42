/**
 * The parts of electron-builder's hook arguments the hooks read, as structural types: the
 * package does not depend on electron-builder (an app brings its own), and electron-builder's
 * own AfterPackContext and BuildResult are assignable to these.
 *
 * The values come from the build tool, not the network, but a version skew must give a clear
 * error rather than a signed release with a wrong platform: every field is checked before use.
 */
import { join } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { validatePlatform, type Arch, type Platform } from '../../updater/release/index.js';

/** electron-builder's `ArtifactCreated` event (artifactBuildCompleted), as far as it is read. */
export interface ArtifactEventLike {
  readonly file?: string | null;
  /** electron-builder's Arch enum; null for a file that serves several archs. */
  readonly arch: number | null;
  readonly target: { readonly name: string } | null;
  readonly packager: PlatformPackagerLike;
}

/** electron-builder's Packager (one per build). */
export interface PackagerLike {
  readonly projectDir: string;
  /** The app's package.json as electron-builder uses it (extraMetadata applied). */
  readonly metadata: unknown;
  onArtifactCreated(handler: (event: ArtifactEventLike) => void | Promise<void>): unknown;
}

/** electron-builder's PlatformPackager (one per platform of a build). */
export interface PlatformPackagerLike {
  readonly info: PackagerLike;
  readonly platform: { readonly nodeName: string };
  readonly appInfo: { readonly version: string; readonly productFilename: string };
}

/** electron-builder's AfterPackContext. */
export interface AfterPackContextLike {
  readonly appOutDir: string;
  /** darwin, mas, linux or win32. */
  readonly electronPlatformName: string;
  readonly arch: number;
  readonly packager: PlatformPackagerLike;
}

/** electron-builder's BuildResult, handed to afterAllArtifactBuild. */
export interface BuildResultLike {
  readonly artifactPaths: readonly string[];
  readonly configuration?: {
    readonly releaseInfo?: { readonly releaseNotes?: string | null } | null;
    readonly extraMetadata?: { readonly version?: unknown } | null;
  } | null;
  /** The platforms built and, per platform, the targets by name (read when afterPack did not run). */
  readonly platformToTargets?: ReadonlyMap<{ readonly nodeName: string }, ReadonlyMap<string, unknown>> | null;
}

/** electron-builder's `Arch` enum (builder-util), by value. Stable since electron-builder 20. */
const ARCH_BY_ENUM: Readonly<Record<number, Arch>> = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' };

/** Our arch name for electron-builder's Arch enum value. */
export function archOf(value: unknown): Arch {
  const arch = typeof value === 'number' && Object.hasOwn(ARCH_BY_ENUM, value) ? ARCH_BY_ENUM[value] : undefined;
  if (!arch) throw new ValueError(`unknown electron-builder arch ${JSON.stringify(value)}`);
  return arch;
}

/** The Node platform name a packager builds for (darwin, linux, win32). */
export function platformOf(packager: PlatformPackagerLike): Platform {
  return validatePlatform(String(packager?.platform?.nodeName));
}

/**
 * Where electron-builder puts `extraResources` and Electron sets `process.resourcesPath`:
 * `<appOutDir>/<productFilename>.app/Contents/Resources` on macOS (and Mac App Store builds),
 * `<appOutDir>/resources` elsewhere.
 */
export function resourcesDirOf(context: AfterPackContextLike): string {
  const platform = context.electronPlatformName;
  if (platform === 'darwin' || platform === 'mas') {
    const name = context.packager.appInfo.productFilename;
    if (typeof name !== 'string' || name === '' || /[/\\]/.test(name))
      throw new ValueError(`unexpected productFilename ${JSON.stringify(name)}`);
    return join(context.appOutDir, `${name}.app`, 'Contents', 'Resources');
  }
  if (platform === 'linux' || platform === 'win32') return join(context.appOutDir, 'resources');
  throw new ValueError(`unknown electron platform ${JSON.stringify(platform)}`);
}

/** Checks that electron-builder handed the hook what this module expects of it. */
export function checkPackContext(context: AfterPackContextLike): void {
  const info = context?.packager?.info;
  if (
    typeof context?.appOutDir !== 'string' ||
    typeof info?.onArtifactCreated !== 'function' ||
    typeof info.projectDir !== 'string'
  ) {
    throw new ValueError(
      'afterPack was called without an electron-builder pack context (electron-builder 24 or later is required)',
    );
  }
}
