/**
 * Private keys of the publisher, and the one way signing code gets them: a KeyRing answers
 * "signers for role R among these trusted key ids", from (in order) signers passed in by the
 * caller (a KMS or HSM implements `Signer`), a per-role environment variable (CI secrets), and
 * key files in a keys directory.
 *
 * Keys directory layout: `<role>-<n>.key.pem` (PKCS#8, mode 0600) and `keys.json`, a manifest
 * of which key id (and public key) each file holds and which role it serves. A file can be moved
 * offline (root keys should be); its manifest entry stays, so the directory still knows the key.
 *
 * A private key never appears in an error message or output: messages name files, variables and
 * key ids only.
 */
import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { StorageError, ValueError } from '../updater/core/errors.js';
import { FieldReader } from '../updater/core/fields.js';
import {
  generateKey,
  isSupportedKey,
  signerFromPrivateKeyPem,
  type KeyAlgorithm,
  type PublicKey,
  type Signer,
} from '../updater/core/keys.js';
import { errorCode, parseJsonBytes, readFileBounded, writeFileAtomic } from '../updater/node-io/index.js';
import { isManagedRole, MANAGED_ROLES, type ManagedRole } from './config.js';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-pss'];
const MANIFEST_NAME = 'keys.json';
const MANIFEST_FORMAT = 1;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_KEY_FILE_BYTES = 32 * 1024;
/** Several PEM blocks may share one environment variable; bound it anyway. */
const MAX_ENV_KEY_CHARS = 256 * 1024;

/** The environment variable holding a role's private key(s): PEM text, or base64 of it. */
export function roleKeyEnvVar(role: ManagedRole): string {
  return `ELECTRON_TUF_${role.toUpperCase()}_KEY`;
}

export function validateKeyAlgorithm(alg: string): KeyAlgorithm {
  if (!(KEY_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new ValueError(`unknown key type ${JSON.stringify(alg)} (expected one of ${KEY_ALGORITHMS.join(', ')})`);
  }
  return alg as KeyAlgorithm;
}

/** First 8 hex digits: enough to tell keys apart in messages. */
export function shortKeyId(keyid: string): string {
  return keyid.slice(0, 8);
}

export interface KeyEntry {
  keyid: string;
  role: ManagedRole;
  /** File name inside the keys directory. */
  file: string;
  publicKey: PublicKey;
}

/** A keys directory: generated key files plus the keys.json manifest. */
export class KeyDirectory {
  private constructor(
    readonly dir: string,
    private readonly entries: KeyEntry[],
  ) {}

  /** Opens `dir`; a missing directory or manifest is an empty key directory. */
  static async open(dir: string): Promise<KeyDirectory> {
    const path = resolve(dir);
    const bytes = await readFileBounded(join(path, MANIFEST_NAME), MAX_MANIFEST_BYTES);
    return new KeyDirectory(path, bytes ? parseManifest(bytes, join(path, MANIFEST_NAME)) : []);
  }

  list(role?: ManagedRole): readonly KeyEntry[] {
    return role ? this.entries.filter((e) => e.role === role) : this.entries;
  }

  /**
   * Generates a key for `role` into a new `<role>-<n>.key.pem` (never overwriting a file) and
   * records it in the manifest.
   */
  async generate(role: ManagedRole, alg: KeyAlgorithm): Promise<KeyEntry> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const { publicKey, privateKeyPem, keyid } = generateKey(alg);
    const file = await writeNewKeyFile(this.dir, role, privateKeyPem);
    const entry: KeyEntry = { keyid, role, file, publicKey };
    this.entries.push(entry);
    await this.saveManifest();
    return entry;
  }

  /** Signers for the manifest's keys of `role` whose files are present (moved-away keys are skipped). */
  async loadSigners(role: ManagedRole, keys: Record<string, PublicKey>): Promise<Signer[]> {
    const signers: Signer[] = [];
    for (const entry of this.list(role)) {
      if (!Object.prototype.hasOwnProperty.call(keys, entry.keyid)) continue;
      const path = join(this.dir, entry.file);
      const pem = await readKeyFile(path);
      if (pem === undefined) continue;
      const signer = signerFromPem(pem, keys[entry.keyid], path);
      if (signer.keyid !== entry.keyid)
        throw new ValueError(`${path} does not hold key ${shortKeyId(entry.keyid)} that ${MANIFEST_NAME} names`);
      signers.push(signer);
    }
    return signers;
  }

  private async saveManifest(): Promise<void> {
    const doc = {
      format: MANIFEST_FORMAT,
      keys: this.entries.map((e) => ({ keyid: e.keyid, role: e.role, file: e.file, public: e.publicKey })),
    };
    await writeFileAtomic(join(this.dir, MANIFEST_NAME), JSON.stringify(doc, null, 2) + '\n');
  }
}

function parseManifest(bytes: Uint8Array, where: string): KeyEntry[] {
  try {
    const r = FieldReader.of(parseJsonBytes(bytes, where), where);
    if (r.integer('format') !== MANIFEST_FORMAT) r.fail('format', String(MANIFEST_FORMAT));
    return r.array('keys').map((value, i) => {
      const e = FieldReader.of(value, `${where}.keys[${i}]`);
      const role = e.string('role');
      if (!isManagedRole(role)) return e.fail('role', MANAGED_ROLES.join('|'));
      const file = e.string('file');
      if (basename(file) !== file || file.startsWith('.')) e.fail('file', 'a plain file name');
      const publicKey = e.object('public') as PublicKey;
      if (!isSupportedKey(publicKey)) e.fail('public', 'a supported public key');
      return { keyid: e.string('keyid'), role, file, publicKey };
    });
  } catch (error) {
    throw new StorageError(`cannot read ${where}: ${(error as Error).message}`);
  }
}

async function writeNewKeyFile(dir: string, role: ManagedRole, pem: string): Promise<string> {
  for (let n = 1; n < 10_000; n++) {
    const file = `${role}-${n}.key.pem`;
    if (await writePrivateFile(join(dir, file), pem)) return file;
  }
  throw new StorageError(`cannot find a free key file name for ${role} in ${dir}`);
}

/** Writes a new private file (mode 0600); false if the name exists. Never replaces a file. */
export async function writePrivateFile(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw new StorageError(`cannot create ${path}: ${(error as Error).message}`);
  }
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600); // in case the file system ignored the creation mode
  return true;
}

/**
 * A key file's PEM text, or undefined when it is not there. Refuses files others can read,
 * unless `checkMode` is off (a key on removable media whose file system has no modes).
 */
export async function readKeyFile(path: string, checkMode = true): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new StorageError(`cannot read key file ${path}: ${(error as Error).message}`);
  }
  if (checkMode && process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new StorageError(
      `key file ${path} is accessible by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  const bytes = await readFileBounded(path, MAX_KEY_FILE_BYTES).catch((error: unknown) => {
    throw new StorageError(`cannot read key file ${path}: ${(error as Error).message}`);
  });
  return bytes && Buffer.from(bytes).toString('utf8');
}

/** A signer for a PEM, under the scheme of `publicKey` when given; messages name only `where`. */
export function signerFromPem(pem: string, publicKey: PublicKey | undefined, where: string): Signer {
  try {
    return signerFromPrivateKeyPem(pem, publicKey);
  } catch (error) {
    throw new ValueError(`${where}: ${(error as Error).message}`);
  }
}

/** The PEM blocks in an environment variable's value: PEM text, or base64 of PEM text. */
export function pemBlocksFromEnv(value: string, name: string): string[] {
  if (value.length > MAX_ENV_KEY_CHARS) throw new ValueError(`${name} is too long to be a key`);
  let text = value.trim();
  if (!text.includes('-----BEGIN')) text = Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  const blocks = text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  if (blocks.length === 0) throw new ValueError(`${name} holds neither a PEM private key nor base64 of one`);
  return blocks;
}

/** The public key described by a key file given on the command line (a TUF key object as JSON). */
export async function readPublicKeyFile(path: string): Promise<PublicKey> {
  const bytes = await readFileBounded(resolve(path), 64 * 1024).catch((error: unknown) => {
    throw new ValueError(`cannot read ${path}: ${(error as Error).message}`);
  });
  if (!bytes) throw new ValueError(`no such file: ${path}`);
  let key: unknown;
  try {
    key = parseJsonBytes(bytes, path);
  } catch (error) {
    throw new ValueError(`${path} is not a JSON public key (make one with \`electron-tuf repo keygen\`)`, {
      cause: error,
    });
  }
  if (typeof key === 'object' && key !== null && 'keyval' in key && typeof key.keyval === 'object') {
    const { keytype, scheme, keyval } = key as PublicKey;
    const publicKey: PublicKey = { keytype, scheme, keyval: { public: (keyval as { public: string }).public } };
    if (isSupportedKey(publicKey)) return publicKey;
  }
  throw new ValueError(`${path} does not hold a supported TUF public key`);
}

export interface KeyRingOptions {
  /** A keys directory (key files and keys.json). */
  keysDir?: string;
  /** Where ELECTRON_TUF_<ROLE>_KEY variables are read; default: none. */
  env?: NodeJS.ProcessEnv;
  /** Signers supplied by the caller (e.g. KMS- or HSM-backed), per role. */
  signers?: Partial<Record<ManagedRole, Signer[]>>;
}

/** The trusted keys of one role, as root or a delegation lists them. */
export interface TrustedKeys {
  keyids: readonly string[];
  threshold: number;
  keys: Record<string, PublicKey>;
}

/** All the places signers come from, queried per role. */
export class KeyRing {
  private directory?: Promise<KeyDirectory | undefined>;

  constructor(private readonly options: KeyRingOptions = {}) {}

  get keysDir(): string | undefined {
    return this.options.keysDir;
  }

  keyDirectory(): Promise<KeyDirectory | undefined> {
    this.directory ??= this.options.keysDir ? openExisting(this.options.keysDir) : Promise.resolve(undefined);
    return this.directory;
  }

  /** Every signer available for the trusted keys of `role`, one per key id (may be fewer than the threshold). */
  async available(role: ManagedRole, trusted: TrustedKeys): Promise<Signer[]> {
    const byKeyid = new Map<string, Signer>();
    const take = (s: Signer): void => {
      if (trusted.keyids.includes(s.keyid) && !byKeyid.has(s.keyid)) byKeyid.set(s.keyid, s);
    };
    for (const s of this.options.signers?.[role] ?? []) take(s);
    for (const s of this.envSigners(role, trusted)) take(s);
    const dir = await this.keyDirectory();
    if (dir) for (const s of await dir.loadSigners(role, pick(trusted.keys, trusted.keyids))) take(s);
    return [...byKeyid.values()];
  }

  /** Signers meeting the role's threshold, or ValueError saying what is missing. */
  async forThreshold(role: ManagedRole, trusted: TrustedKeys, purpose = `sign ${role}`): Promise<Signer[]> {
    const signers = await this.available(role, trusted);
    if (signers.length >= trusted.threshold) return signers;
    throw new ValueError(`cannot ${purpose}: ${this.shortfall(role, trusted, signers.length)}`);
  }

  /**
   * Signers meeting the threshold of every requested role; when some are short, one ValueError
   * names each of them with the directory or variable that would supply its keys.
   */
  async forThresholds(
    requests: ReadonlyArray<{ role: ManagedRole; trusted: TrustedKeys }>,
  ): Promise<Map<ManagedRole, Signer[]>> {
    const found = new Map<ManagedRole, Signer[]>();
    const missing: string[] = [];
    for (const { role, trusted } of requests) {
      const signers = await this.available(role, trusted);
      if (signers.length >= trusted.threshold) found.set(role, signers);
      else missing.push(this.shortfall(role, trusted, signers.length));
    }
    if (missing.length > 0)
      throw new ValueError(`cannot sign ${requests.map((r) => r.role).join(', ')}: ${missing.join('; ')}`);
    return found;
  }

  private shortfall(role: ManagedRole, trusted: TrustedKeys, found: number): string {
    const where = this.options.keysDir
      ? `keys directory ${this.options.keysDir} or variable ${roleKeyEnvVar(role)}`
      : `variable ${roleKeyEnvVar(role)} (or give a keys directory, --keys)`;
    return `need ${trusted.threshold} ${role} key(s) of ${trusted.keyids.map(shortKeyId).join(', ')}, found ${found} in ${where}`;
  }

  /** Keys from the role's environment variable; one that is not a key of this role is an error. */
  private envSigners(role: ManagedRole, trusted: TrustedKeys): Signer[] {
    const name = roleKeyEnvVar(role);
    const value = this.options.env?.[name];
    if (!value) return [];
    return pemBlocksFromEnv(value, name).map((pem) => {
      const signer = signerFromPem(pem, undefined, name);
      if (!trusted.keyids.includes(signer.keyid)) {
        throw new ValueError(
          `${name} holds key ${shortKeyId(signer.keyid)}, which is not a ${role} key of this repository`,
        );
      }
      return signerFromPem(pem, trusted.keys[signer.keyid], name);
    });
  }
}

/** A keys directory given for signing must exist: a typo should not read as "no keys". */
async function openExisting(dir: string): Promise<KeyDirectory> {
  const found = await stat(dir).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (!found) throw new ValueError(`keys directory ${resolve(dir)} does not exist`);
  if (!found.isDirectory()) throw new ValueError(`keys directory ${resolve(dir)} is not a directory`);
  return KeyDirectory.open(dir);
}

function pick(keys: Record<string, PublicKey>, keyids: readonly string[]): Record<string, PublicKey> {
  const out: Record<string, PublicKey> = {};
  for (const id of keyids) if (Object.prototype.hasOwnProperty.call(keys, id)) out[id] = keys[id];
  return out;
}

export interface GeneratedKeyFile {
  keyid: string;
  publicKey: PublicKey;
  /** The private key (PEM, mode 0600). */
  privateKeyFile: string;
  /** The public key as TUF JSON, to hand to whoever runs `repo rotate --add-key`. */
  publicKeyFile: string;
}

/**
 * `repo keygen`: a key made on the holder's own machine (e.g. a new root key holder). The
 * private key file must not exist yet; the public key goes next to it as `<name>.pub.json`.
 */
export async function generateKeyFile(path: string, alg = 'ed25519'): Promise<GeneratedKeyFile> {
  const privateKeyFile = resolve(path);
  const publicKeyFile = privateKeyFile.replace(/(\.key)?\.pem$/, '') + '.pub.json';
  const { publicKey, privateKeyPem, keyid } = generateKey(validateKeyAlgorithm(alg));
  if (!(await writePrivateFile(privateKeyFile, privateKeyPem)))
    throw new ValueError(`${privateKeyFile} already exists`);
  await writeFileAtomic(publicKeyFile, JSON.stringify(publicKey, null, 2) + '\n');
  return { keyid, publicKey, privateKeyFile, publicKeyFile };
}
