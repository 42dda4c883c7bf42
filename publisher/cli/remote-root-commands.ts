/**
 * The key ceremony against the repository service (`--server URL --token T`):
 *   repo bootstrap <repo-dir> --name N --keys-dir DIR|--keys-env ROLE=VAR...|--keys-module FILE
 *       uploads what `repo init` left (metadata/ and electron-tuf.json) with a reference to the
 *       online keys on the service's machine; the service checks both before keeping anything.
 *   repo staged <name> [--root TRUSTED] [--out FILE]
 *       shows the staged root (and what it changes) and saves it, for review or offline signing.
 *   repo sign <name> root --key PEM --root TRUSTED | --signature SIG.json...
 *       a root key holder signs the staged root on this machine and uploads only the signature.
 *
 * Nothing the service sends is trusted: before a holder signs, the published roots are walked
 * from a root the holder trusts (TUF 5.3: each signed by a threshold of the one before and of
 * its own keys), and the staged root must be the next version of the repository found that way.
 */
import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { ValueError } from '../../updater/core/errors.js';
import { Metadata, type Root } from '../../updater/core/metadata.js';
import { TOP_LEVEL_ROLES } from '../../updater/core/roles.js';
import { TrustedMetadataSet } from '../../updater/client/trusted-metadata-set.js';
import { errorCode, readFileBounded, writeFileAtomic } from '../../updater/node-io/index.js';
import { readKeyFile } from '../keystore.js';
import { signStagedWithKey } from '../sign-staged-root.js';
import { detachedBytes } from '../staged-root.js';
import { short } from './format.js';
import type { CliIO } from './io.js';
import type { RemoteCommand, RemoteValues } from './remote-commands.js';
import type { ServiceClient } from './service-client.js';

/** The service's bounds for a bootstrap (server/src/api/schemas.ts and app.ts). */
const MAX_METADATA_FILE_BYTES = 16 * 1024 * 1024;
const MAX_BOOTSTRAP_BYTES = 60 * 1024 * 1024;
const MAX_BOOTSTRAP_FILES = 20_000;
const MAX_SETTINGS_BYTES = 64 * 1024;
const MAX_ROOT_BYTES = 1024 * 1024;
const MAX_SIGNATURE_BYTES = 16 * 1024;
/** A chain longer than this from the holder's root is not walked (a hostile service could send roots forever). */
const MAX_ROOT_CHAIN = 1024;
const ONLINE_ROLES = ['targets', 'snapshot', 'timestamp', 'bins'];

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

function repoPath(name: string | undefined): string {
  if (!name) throw new ValueError('missing the repository name on the server');
  return `/repositories/${encodeURIComponent(name)}`;
}

/** Reads a local file that must exist, within `max` bytes. */
async function readRequired(file: string, max: number, what: string): Promise<Uint8Array> {
  const bytes = await readFileBounded(file, max);
  if (!bytes) throw new ValueError(`no such file: ${file} (${what})`);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// bootstrap

/** The `keys` reference of a bootstrap: paths on the service's machine, so absolute. */
function keyReference(values: RemoteValues): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  const absolute = (v: string, flag: string): string => {
    if (!isAbsolute(v)) throw new ValueError(`${flag} is a path on the service's machine: give it absolute`);
    return v;
  };
  if (typeof values['keys-dir'] === 'string') keys.dir = absolute(values['keys-dir'], '--keys-dir');
  if (typeof values['keys-module'] === 'string') keys.module = absolute(values['keys-module'], '--keys-module');
  const env = (values['keys-env'] as string[] | undefined) ?? [];
  if (env.length > 0) {
    const byRole: Record<string, string> = {};
    for (const item of env) {
      const m = /^([a-z]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(item);
      if (!m || !ONLINE_ROLES.includes(m[1]))
        throw new ValueError(`--keys-env takes ROLE=VARIABLE with ROLE one of ${ONLINE_ROLES.join(', ')}`);
      byRole[m[1]] = m[2];
    }
    keys.env = byRole;
  }
  if (Object.keys(keys).length === 0)
    throw new ValueError('say where the service finds the online keys: --keys-dir, --keys-env or --keys-module');
  return keys;
}

/** metadata/ as `repo init` left it, file name -> text, within the service's bounds. */
async function readMetadataDir(dir: string): Promise<Record<string, string>> {
  const names = await readdir(dir).catch((e: unknown) => {
    if (errorCode(e) === 'ENOENT') throw new ValueError(`${dir} does not exist: give the directory repo init made`);
    throw e;
  });
  if (names.length > MAX_BOOTSTRAP_FILES) throw new ValueError(`${dir} holds more than ${MAX_BOOTSTRAP_FILES} files`);
  const metadata: Record<string, string> = {};
  let total = 0;
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const bytes = await readRequired(join(dir, name), MAX_METADATA_FILE_BYTES, 'metadata');
    total += bytes.length;
    if (total > MAX_BOOTSTRAP_BYTES) throw new ValueError(`${dir} holds more metadata than a bootstrap may carry`);
    metadata[name] = text(bytes);
  }
  return metadata;
}

async function bootstrap(positionals: string[], values: RemoteValues, client: ServiceClient): Promise<string[]> {
  const dir = positionals[0];
  if (!dir) throw new ValueError('missing the repository directory (what repo init made)');
  if (typeof values.name !== 'string') throw new ValueError('--name is required (the repository name on the service)');
  const keys = keyReference(values);
  const metadata = await readMetadataDir(join(dir, 'metadata'));
  const settings = await readFileBounded(join(dir, 'electron-tuf.json'), MAX_SETTINGS_BYTES);
  const body = { name: values.name, metadata, keys, ...(settings ? { settings: text(settings) } : {}) };
  const r = (await client.request('POST', '/repositories', { json: body })) as { rootVersion: number; targets: number };
  return [
    `Bootstrapped ${values.name}: root version ${r.rootVersion}, ${r.targets} target(s); the service found its online keys.`,
  ];
}

// ---------------------------------------------------------------------------------------------
// staged, sign

/**
 * The current root of repository `name`, reached from the holder's trusted root through every
 * published root after it, each verified as a client does (5.3.3-5.3.8).
 */
async function currentRoot(client: ServiceClient, name: string, trustedFile: string): Promise<Metadata<Root>> {
  const trusted = new TrustedMetadataSet(await readRequired(trustedFile, MAX_ROOT_BYTES, 'a trusted root'));
  // The chain must start at the very root the holder trusts, or it proves nothing about this repository.
  const own = await fetchRoot(client, name, trusted.root.signed.version);
  const served = own === undefined ? undefined : Metadata.fromBytes(new TextEncoder().encode(own), 'root');
  if (!served || Buffer.compare(served.signedBytes, trusted.root.signedBytes) !== 0)
    throw new ValueError(
      `${trustedFile} is not root version ${trusted.root.signed.version} of repository ${name} on the service: trust another root, or check the repository name`,
    );
  for (let i = 0; i < MAX_ROOT_CHAIN; i++) {
    const next = trusted.root.signed.version + 1;
    const answer = await fetchRoot(client, name, next);
    if (answer === undefined) return trusted.root;
    trusted.updateRoot(new TextEncoder().encode(answer));
  }
  throw new ValueError(`the service names more than ${MAX_ROOT_CHAIN} roots after ${trustedFile}`);
}

async function fetchRoot(client: ServiceClient, name: string, version: number): Promise<string | undefined> {
  const r = (await client.request('GET', `${repoPath(name)}/root/versions/${version}`, { absent: 404 })) as
    { root?: unknown } | undefined;
  if (r === undefined) return undefined;
  if (typeof r.root !== 'string') throw new ValueError(`the service's root version ${version} is not text`);
  return r.root;
}

async function fetchStaged(client: ServiceClient, name: string): Promise<{ md: Metadata<Root>; bytes: string }> {
  const r = (await client.request('GET', `${repoPath(name)}/root/staged`)) as { staged?: unknown };
  if (typeof r.staged !== 'string' || r.staged.length > MAX_ROOT_BYTES)
    throw new ValueError('the service sent no staged root');
  return { md: Metadata.fromBytes(new TextEncoder().encode(r.staged), 'root'), bytes: r.staged };
}

/** The staged root must be the next root of the repository the holder trusts. */
function checkFollows(staged: Metadata<Root>, current: Metadata<Root>): void {
  if (staged.signed.version !== current.signed.version + 1)
    throw new ValueError(
      `the staged root is version ${staged.signed.version}, but the repository's current root is ${current.signed.version}: it is not the next root of this repository`,
    );
}

function roleLine(root: Root, role: string): string {
  const r = root.roles[role as keyof Root['roles']];
  return `${r.threshold} of ${r.keyids.map(short).join(', ')}`;
}

/** What the holder is asked to sign, role by role, against the current root when known. */
function describeStaged(name: string, staged: Metadata<Root>, current?: Metadata<Root>): string[] {
  const s = staged.signed;
  const lines = [
    `Staged root version ${s.version} of ${name}, expires ${s.expires}${current ? ` (current root: version ${current.signed.version}, expires ${current.signed.expires})` : ''}:`,
  ];
  for (const role of TOP_LEVEL_ROLES) {
    const now = roleLine(s, role);
    const before = current && roleLine(current.signed, role);
    lines.push(`  ${role.padEnd(9)} ${now}${before === undefined ? '' : before === now ? '' : `   (was ${before})`}`);
  }
  if (!current)
    lines.push('  (give --root TRUSTED-ROOT.json to check it follows the root you trust and see what changes)');
  return lines;
}

async function staged(name: string, values: RemoteValues, client: ServiceClient, io: CliIO): Promise<string[]> {
  const st = await fetchStaged(client, name);
  let current: Metadata<Root> | undefined;
  if (typeof values.root === 'string') {
    current = await currentRoot(client, name, resolve(io.cwd, values.root));
    checkFollows(st.md, current);
  }
  const lines = describeStaged(name, st.md, current);
  if (typeof values.out === 'string') {
    const out = resolve(io.cwd, values.out);
    await writeFileAtomic(out, st.bytes);
    lines.push(`Saved to ${out}.`);
  }
  return lines;
}

/** Signature files made elsewhere (`repo sign <copy> root --key K --out SIG.json`), as text. */
async function signatureFiles(values: RemoteValues, io: CliIO): Promise<string[]> {
  const files = (values.signature as string[] | undefined) ?? [];
  const texts: string[] = [];
  for (const f of files) texts.push(text(await readRequired(resolve(io.cwd, f), MAX_SIGNATURE_BYTES, 'a signature')));
  return texts;
}

/** Signs the staged root with the holder's key, after checking it is the next root of the repository they trust. */
async function signHere(name: string, values: RemoteValues, client: ServiceClient, io: CliIO): Promise<string> {
  if (typeof values.root !== 'string')
    throw new ValueError('--root TRUSTED-ROOT.json is required with --key: a root of this repository you trust');
  const keyFile = resolve(io.cwd, String(values.key));
  const pem = await readKeyFile(keyFile, false);
  if (pem === undefined) throw new ValueError(`no such file: ${keyFile}`);
  const current = await currentRoot(client, name, resolve(io.cwd, values.root));
  const st = await fetchStaged(client, name);
  checkFollows(st.md, current);
  for (const line of describeStaged(name, st.md, current)) io.stderr(line);
  const sig = await signStagedWithKey(st.md, current.signed, pem, keyFile);
  io.stderr(`Signed with key ${short(sig.keyid)}; uploading the signature.`);
  return detachedBytes(sig);
}

export const ROOT_COMMANDS: Record<string, RemoteCommand> = {
  bootstrap: {
    usage:
      'repo bootstrap <repo-dir> --name N (--keys-dir DIR | --keys-env ROLE=VAR... | --keys-module FILE) --server URL --token ADMIN',
    options: {
      name: { type: 'string' },
      'keys-dir': { type: 'string' },
      'keys-env': { type: 'string', multiple: true },
      'keys-module': { type: 'string' },
    },
    async run(positionals, values, client, io) {
      for (const line of await bootstrap(
        positionals.map((p) => resolve(io.cwd, p)),
        values,
        client,
      ))
        io.stdout(line);
      return 0;
    },
  },
  staged: {
    usage: 'repo staged <name> [--root TRUSTED-ROOT.json] [--out FILE] --server URL --token T',
    options: { root: { type: 'string' }, out: { type: 'string' } },
    async run(positionals, values, client, io) {
      repoPath(positionals[0]);
      for (const line of await staged(positionals[0], values, client, io)) io.stdout(line);
      return 0;
    },
  },
  sign: {
    usage:
      'repo sign <name> root (--key PRIVATE.pem --root TRUSTED-ROOT.json | --signature SIG.json...) --server URL --token ADMIN [--no-wait]',
    options: { key: { type: 'string' }, root: { type: 'string' }, signature: { type: 'string', multiple: true } },
    async run(positionals, values, client, io) {
      const [name, role] = positionals;
      const path = repoPath(name);
      if (role !== 'root') throw new ValueError('only a staged root waits for signatures: repo sign <name> root ...');
      const texts = await signatureFiles(values, io);
      if (typeof values.key === 'string') texts.unshift(await signHere(name, values, client, io));
      if (texts.length === 0)
        throw new ValueError('give --key PRIVATE.pem (sign here) or --signature SIG.json (upload)');
      const tasks: string[] = [];
      for (const signature of texts) {
        const r = (await client.request('POST', `${path}/root/signatures`, { json: { signature } })) as {
          task: string;
        };
        tasks.push(r.task);
      }
      return { tasks };
    },
  },
};
