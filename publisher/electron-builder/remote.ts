/**
 * The electron-builder hook publishing through the repository service (@electron-tuf/server)
 * instead of signing locally: with ELECTRON_TUF_SERVER and ELECTRON_TUF_TOKEN set, the build
 * machine holds a scoped token and no key. The same client as `repo add --server`
 * (cli/remote-commands.ts): upload each installer, record each release, wait until published.
 */
import { ValueError } from '../../updater/core/errors.js';
import { serviceClient, submitRelease, waitForTask, type ServiceClient } from '../cli/service-client.js';
import type { HookSettings } from './settings.js';
import type { ReleaseGroup } from './sign.js';

export const SERVER_ENV = {
  server: 'ELECTRON_TUF_SERVER',
  token: 'ELECTRON_TUF_TOKEN',
  /** The repository's name on the service; default the app's package.json name. */
  repository: 'ELECTRON_TUF_SERVER_REPOSITORY',
} as const;

export interface ServiceTarget {
  client: ServiceClient;
  repository: string;
}

/** The service to publish to, or undefined when ELECTRON_TUF_SERVER is not set (sign locally). */
export function serviceTarget(env: NodeJS.ProcessEnv, metadata: unknown): ServiceTarget | undefined {
  const server = env[SERVER_ENV.server];
  if (!server) return undefined;
  if (!env[SERVER_ENV.token])
    throw new ValueError(
      `${SERVER_ENV.server} is set but ${SERVER_ENV.token} is not: the service needs a publish token`,
    );
  const name = (metadata as { name?: unknown } | undefined)?.name;
  const repository = env[SERVER_ENV.repository] ?? (typeof name === 'string' ? name : undefined);
  if (!repository)
    throw new ValueError(
      `set ${SERVER_ENV.repository} to the repository's name on the service (package.json has no name)`,
    );
  return { client: serviceClient(server, env[SERVER_ENV.token]), repository };
}

export interface RemotePublished {
  version: string;
  platform: string;
  arch: string;
  task: string;
}

/**
 * Submits every release of the build (the service group-commits them), then waits for each;
 * throws naming the first release the service refused.
 */
export async function publishThroughService(
  groups: ReleaseGroup[],
  target: ServiceTarget,
  input: { settings: HookSettings; notes?: string; log: (line: string) => void },
): Promise<RemotePublished[]> {
  const submitted: RemotePublished[] = [];
  for (const g of groups) {
    const release = {
      version: g.version,
      platform: g.platform,
      arch: g.arch,
      channel: input.settings.channel,
      staging: input.settings.stagingPercentage,
      notes: input.notes,
    };
    const task = await submitRelease(target.client, target.repository, g.files, release, (line) =>
      input.log(`electron-tuf: ${line}`),
    );
    submitted.push({ version: g.version, platform: g.platform, arch: g.arch, task });
  }
  for (const s of submitted) {
    const done = await waitForTask(target.client, s.task, (line) => input.log(`electron-tuf: ${line}`));
    if (done.state !== 'succeeded')
      throw new ValueError(
        `the service did not publish ${s.version} ${s.platform}-${s.arch} (task ${s.task}): ${done.error ?? done.state}`,
      );
  }
  return submitted;
}
