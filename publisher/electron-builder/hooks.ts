/**
 * The two electron-builder hooks and the state they share within one process.
 *
 * afterAllArtifactBuild only receives file paths; which platform and arch each file is for is
 * known to electron-builder's `artifactCreated` events. afterPack, which runs once per platform
 * and arch before the installers are built, subscribes to those events on the build's Packager,
 * so the two hooks must come from the same module instance (electron-builder loads a module
 * path once; `electron-tuf/electron-builder` for both settings does that).
 */
import { basename } from 'node:path';
import { TufError } from '../../updater/core/errors.js';
import { defaultChannelFor, validateVersion, type Arch, type Platform } from '../../updater/release/index.js';
import type { KeyOptions } from '../options.js';
import {
  archOf,
  checkPackContext,
  platformOf,
  type AfterPackContextLike,
  type ArtifactEventLike,
  type BuildResultLike,
  type PackagerLike,
} from './builder-types.js';
import { planEmbedding, writeEmbedded } from './embed.js';
import { inferBuild } from './infer.js';
import { publishThroughService, serviceTarget } from './remote.js';
import { ENV, resolveHookSettings, SETTINGS_FIELD, type HookSettings } from './settings.js';
import { groupInstallers, publishGroups, type ArtifactRecord } from './sign.js';

export interface HookOptions {
  /**
   * Where the settings (ELECTRON_TUF_*) and the per-role key secrets (ELECTRON_TUF_<ROLE>_KEY)
   * are read; default process.env, read at each call.
   */
  env?: NodeJS.ProcessEnv;
  /** Signers supplied by the caller (KMS, HSM), per role, tried before keys and env. */
  signers?: KeyOptions['signers'];
  /** One line per event; default: console.log in electron-builder's style. */
  log?: (line: string) => void;
  /** The time to sign at and check expiry against; default now. */
  now?: () => Date;
  /** Where electron-builder runs (the app's package.json), when afterPack did not run; default process.cwd(). */
  projectDir?: string;
}

export interface ElectronBuilderHooks {
  /** Embeds the trusted root and the updater settings in the packed app. */
  afterPack: (context: AfterPackContextLike) => Promise<void>;
  /** Signs the build's installers into the repository; returns no new artifacts. */
  afterAllArtifactBuild: (result: BuildResultLike) => Promise<string[]>;
}

interface BuildState {
  packedArchs: Map<Platform, Set<Arch>>;
}

/** Hooks with their own state and options; the module's default exports use one of these. */
export function createElectronBuilderHooks(options: HookOptions = {}): ElectronBuilderHooks {
  const env = (): NodeJS.ProcessEnv => options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(`  • ${line}`));
  const now = (): Date => options.now?.() ?? new Date();
  const builds = new WeakMap<PackagerLike, BuildState>();
  const artifacts = new Map<string, ArtifactRecord & { packager: PackagerLike }>();

  /** Follows a build's artifactCreated events (once per Packager) and notes each packed arch. */
  const follow = (context: AfterPackContextLike, platform: Platform, arch: Arch): void => {
    const info = context.packager.info;
    let state = builds.get(info);
    if (!state) {
      state = { packedArchs: new Map() };
      builds.set(info, state);
      const packed = state.packedArchs;
      info.onArtifactCreated((event) => recordArtifact(event, info, packed));
    }
    const archs = state.packedArchs.get(platform) ?? new Set<Arch>();
    archs.add(arch);
    state.packedArchs.set(platform, archs);
  };

  const recordArtifact = (event: ArtifactEventLike, info: PackagerLike, packed: Map<Platform, Set<Arch>>): void => {
    if (typeof event?.file !== 'string') return; // sub-artifacts without a file (update info)
    const platform = platformOf(event.packager);
    artifacts.set(event.file, {
      file: event.file,
      platform,
      arch: event.arch === null || event.arch === undefined ? undefined : archOf(event.arch),
      targetName: typeof event.target?.name === 'string' ? event.target.name : undefined,
      version: String(event.packager.appInfo.version),
      packedArchs: packed.get(platform) ?? new Set(),
      packager: info,
    });
  };

  const afterPack = async (context: AfterPackContextLike): Promise<void> => {
    let where = 'the packed app';
    try {
      checkPackContext(context);
      where = context.appOutDir;
      const platform = platformOf(context.packager);
      follow(context, platform, archOf(context.arch));
      const info = context.packager.info;
      const settings = resolveHookSettings(env(), info.metadata, info.projectDir);
      const version = validateVersion(String(context.packager.appInfo.version));
      const plan = await planEmbedding(settings, settings.channel ?? defaultChannelFor(version), now());
      // A universal app reports its CPU's arch at run time: the settings tell it what it is.
      if (plan.settings && archOf(context.arch) === 'universal') plan.settings.arch = 'universal';
      if (!plan.root && !plan.settings) {
        log(
          `electron-tuf: nothing to embed (no ${ENV.repository}, ${ENV.root} or ${ENV.url}, nor ${SETTINGS_FIELD} in package.json): a development build`,
        );
        return;
      }
      const resourcesDir = await writeEmbedded(context, plan);
      log(describeEmbedding(plan, resourcesDir));
    } catch (error) {
      throw oneLine(`electron-tuf: cannot embed the update settings in ${where}`, error);
    }
  };

  const afterAllArtifactBuild = async (result: BuildResultLike): Promise<string[]> => {
    const paths = Array.isArray(result?.artifactPaths)
      ? result.artifactPaths.filter((p): p is string => typeof p === 'string')
      : [];
    let what = 'the installers';
    try {
      // afterPack followed this build unless no installer of it was recorded: then the build result alone must tell.
      const packed = paths.some((file) => artifacts.has(file));
      const inferred = packed ? undefined : await inferBuild(result, options.projectDir);
      if (inferred)
        log(
          'electron-tuf: afterPack is not set: signing from the build result; this build embeds no trusted root or update settings in the app',
        );
      const recordOf = (file: string) => (inferred ? inferred.recordOf(file) : artifacts.get(file));
      const { groups, skipped } = groupInstallers(paths, recordOf);
      for (const s of skipped) log(`electron-tuf: not signing ${basename(s.file)}: ${s.reason}`);
      if (groups.length === 0) {
        log('electron-tuf: no installers to sign in this build');
        return [];
      }
      const build = inferred ?? artifacts.get(groups[0].files[0])!.packager;
      const settings = resolveHookSettings(env(), build.metadata, build.projectDir);
      const files = groups.flatMap((g) => g.files);
      what = `${files.length} installer(s) of ${groups[0].version}`;
      const notes = result.configuration?.releaseInfo?.releaseNotes || undefined;
      const service = serviceTarget(env(), build.metadata);
      if (service) {
        what += ` through ${service.client.base} (repository ${service.repository})`;
        for (const p of await publishThroughService(groups, service, { settings, notes, log })) {
          log(`electron-tuf: ${p.version} ${p.platform}-${p.arch} published through the service (task ${p.task})`);
        }
        return [];
      }
      if (!hasRepository(settings)) {
        log(
          `electron-tuf: no repository configured (${ENV.repository} or ${SETTINGS_FIELD}.repository): ${what} not signed`,
        );
        return [];
      }
      what += ` into ${settings.repository}`;
      const results = await publishGroups(groups, {
        settings,
        keyOptions: { env: env(), signers: options.signers },
        notes,
        now: now(),
      });
      for (const r of results) {
        const changed = r.targets.map((t) => `${basename(t.path)} ${t.status}`).join(', ');
        log(
          `electron-tuf: ${r.version} ${r.platform}-${r.arch} on ${r.channel}: ${changed}${r.changed ? '' : ' (repository unchanged)'}`,
        );
        for (const w of r.warnings) log(`electron-tuf: warning: ${w}`);
      }
      return [];
    } catch (error) {
      throw oneLine(`electron-tuf: signing ${what} failed`, error);
    } finally {
      for (const file of paths) artifacts.delete(file); // the build is over: a long-lived process keeps nothing
    }
  };

  return { afterPack, afterAllArtifactBuild };
}

function hasRepository(settings: HookSettings): settings is HookSettings & { repository: string } {
  return settings.repository !== undefined;
}

function describeEmbedding(plan: Awaited<ReturnType<typeof planEmbedding>>, resourcesDir: string): string {
  const parts: string[] = [];
  parts.push(
    plan.root
      ? `root version ${plan.root.version}`
      : `no root (set ${ENV.repository} or ${ENV.root}; else the app must pass trustedRoot)`,
  );
  parts.push(
    plan.settings
      ? `settings (${plan.settings.metadataUrl}, channel ${plan.settings.channel})`
      : `no settings (set ${ENV.url}; else the app must pass metadataUrl and targetsUrl)`,
  );
  return `electron-tuf: embedded ${parts.join(' and ')} in ${resourcesDir}`;
}

/**
 * electron-builder prints a failed hook's message on one line before its stack: say what failed
 * and why in that line, and keep the original error (and its class) as the cause.
 */
function oneLine(prefix: string, error: unknown): TufError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TufError(`${prefix}: ${reason}`.replace(/\s*\n\s*/g, ' '), { cause: error });
}
