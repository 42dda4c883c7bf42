/**
 * Online keys by reference. A repository's row says where its timestamp, snapshot, targets and
 * bins keys come from; the service stores no key material:
 * - `dir`: a keys directory as `repo init` made it (keys.json + PEM files), outside the data dir;
 * - `env`: per role, the name of an environment variable holding the PEM (one service process
 *   serves many repositories, so each names its own variables);
 * - `module`: a JavaScript module exporting `signers(repository)` that returns Signers per role
 *   (a KMS or HSM).
 * They become the publisher's KeyOptions, so signing goes through the publisher's KeyRing.
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValueError, verifySignature } from 'electron-tuf/core';
import {
  KeyRing,
  RepositoryState,
  roleKeyEnvVar,
  type KeyOptions,
  type ManagedRole,
  type Signer,
} from 'electron-tuf/publisher';

export const ONLINE_ROLES = ['targets', 'snapshot', 'timestamp', 'bins'] as const satisfies readonly ManagedRole[];
export type OnlineRole = (typeof ONLINE_ROLES)[number];

export interface KeyReference {
  dir?: string;
  env?: Partial<Record<OnlineRole, string>>;
  module?: string;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

function inside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Checks a reference from the API: absolute paths outside the data directory, plain variable names. */
export function validateKeyReference(ref: KeyReference, dataDir: string): KeyReference {
  const out: KeyReference = {};
  if (ref.dir !== undefined) {
    if (!isAbsolute(ref.dir)) throw new ValueError('keys.dir must be an absolute path');
    if (inside(dataDir, ref.dir)) throw new ValueError('keys.dir must not be inside the server data directory');
    out.dir = resolve(ref.dir);
  }
  if (ref.env !== undefined) {
    out.env = {};
    for (const [role, name] of Object.entries(ref.env)) {
      if (!(ONLINE_ROLES as readonly string[]).includes(role))
        throw new ValueError(`keys.env: unknown role ${JSON.stringify(role)}`);
      if (typeof name !== 'string' || !ENV_NAME.test(name))
        throw new ValueError(`keys.env.${role}: expected an environment variable name`);
      out.env[role as OnlineRole] = name;
    }
  }
  if (ref.module !== undefined) {
    if (!isAbsolute(ref.module)) throw new ValueError('keys.module must be an absolute path');
    out.module = resolve(ref.module);
  }
  if (!out.dir && !out.env && !out.module)
    throw new ValueError('keys: give a keys directory (dir), environment variables (env) or a signer module (module)');
  return out;
}

/** The publisher's KeyOptions for a repository's reference. */
export async function keyOptionsFor(
  repository: string,
  ref: KeyReference,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KeyOptions> {
  const options: KeyOptions = { keys: ref.dir, env: {} };
  for (const role of ONLINE_ROLES) {
    const name = ref.env?.[role];
    const value = name ? env[name] : undefined;
    if (value !== undefined) options.env![roleKeyEnvVar(role)] = value;
  }
  if (ref.module) {
    const mod = (await import(pathToFileURL(ref.module).href).catch((e: unknown) => {
      throw new ValueError(`keys.module ${ref.module} cannot be loaded: ${(e as Error).message}`, { cause: e });
    })) as { signers?: (repo: string) => unknown };
    if (typeof mod.signers !== 'function') throw new ValueError(`${ref.module} does not export signers(repository)`);
    options.signers = (await mod.signers(repository)) as Partial<Record<ManagedRole, Signer[]>>;
  }
  return options;
}

/**
 * Refuses a repository whose online keys the service cannot use: for targets, snapshot,
 * timestamp (and bins, when the repository has them) the reference must supply a threshold of
 * the keys root (or targets, for bins) lists, and each must sign a fresh challenge that
 * verifies with the listed public key (a signer module's claimed key id is not taken on
 * trust). Checked at bootstrap, so a wrong reference fails there and not at the first publish.
 */
export async function checkOnlineKeys(repoDir: string, keys: KeyOptions): Promise<void> {
  const state = await RepositoryState.load(repoDir);
  const ring = new KeyRing({ keysDir: keys.keys, env: keys.env ?? {}, signers: keys.signers });
  const roles: ManagedRole[] = ['targets', 'snapshot', 'timestamp', ...(state.hasBins ? (['bins'] as const) : [])];
  const requests = roles.map((role) => ({ role, trusted: state.trustedKeys(role) }));
  const found = await ring.forThresholds(requests);
  const challenge = randomBytes(32);
  for (const { role, trusted } of requests) {
    for (const signer of found.get(role) ?? []) {
      const sig = await signer.sign(challenge);
      if (!verifySignature(trusted.keys[signer.keyid], sig, challenge))
        throw new ValueError(
          `the ${role} signer for key ${signer.keyid.slice(0, 8)} makes signatures that do not verify`,
        );
    }
  }
}
