/**
 * Where a staged root and its detached signatures are kept (staged-root.ts decides what they
 * mean). On disk beside the repository (`<repo>/staged/root.json` and `root.sigs/<keyid>.json`),
 * or, for a service whose workers share no disk, in its database (server/src/storage/
 * db-staged-root.ts): every process then sees the same staged root.
 *
 * A store keeps bytes and checks nothing about signatures: everything loaded is verified again
 * against the staged bytes and the root keys (staged-root.ts, TUF 5.3.4) before it counts.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, ValueError } from '../updater/core/errors.js';
import { FieldReader } from '../updater/core/fields.js';
import { errorCode, parseJsonBytes, readFileBounded, writeFileAtomic } from '../updater/node-io/index.js';
import { stagedPaths, type RepositoryPaths } from './layout.js';
import { SIZE_LIMITS } from './role-files.js';

export interface DetachedSignature {
  role: string;
  version: number;
  keyid: string;
  sig: string;
  /** SHA-256 of the canonical signed bytes: which staged file this signature is for. */
  signedSha256: string;
}

/** A detached signature as stored, not yet parsed or checked. */
export interface StoredSignature {
  /** For messages: the file, or the database row. */
  where: string;
  bytes: Uint8Array;
}

export interface StagedRootStore {
  /** For messages. */
  readonly where: string;
  /** The staged root's bytes (at most MAX_STAGED_ROOT_BYTES) and its stored signatures; undefined when none. */
  load(): Promise<{ bytes: Uint8Array; signatures: StoredSignature[] } | undefined>;
  /**
   * Makes `bytes` the staged root, dropping every signature of the one before (they were over
   * other bytes). `signedSha256` is the digest its signatures name (DetachedSignature), so a
   * store can refuse one made for another staged root.
   */
  replace(bytes: Uint8Array, signedSha256: string): Promise<void>;
  /** Keeps a checked signature over the staged root; one per key id (a later one of the same key replaces it). */
  addSignature(sig: DetachedSignature): Promise<void>;
  /** Removes the staged root and its signatures (after it was published). */
  discard(): Promise<void>;
}

/** The largest staged root a store keeps or loads: the bound of a published root. */
export const MAX_STAGED_ROOT_BYTES = SIZE_LIMITS.root;
/** A detached signature file holds far less; a larger one is not one. */
export const MAX_DETACHED_BYTES = 16 * 1024;
const KEYID = /^[0-9a-f]{8,128}$/;

/** The key id of a signature to store: it names a file (or a row), so it must be plain hex. */
export function checkKeyId(keyid: string): string {
  if (typeof keyid !== 'string' || !KEYID.test(keyid))
    throw new ValueError(`invalid key id ${JSON.stringify(String(keyid).slice(0, 20))}`);
  return keyid;
}

export function parseDetached(bytes: Uint8Array, where: string): DetachedSignature {
  const r = FieldReader.of(parseJsonBytes(bytes, `detached signature ${where}`, ValueError), where);
  return {
    role: r.string('role'),
    version: r.integer('version', 1),
    keyid: r.string('keyid'),
    sig: r.string('sig'),
    signedSha256: r.string('signed_sha256'),
  };
}

export function detachedBytes(sig: DetachedSignature): string {
  return (
    JSON.stringify(
      { role: sig.role, version: sig.version, keyid: sig.keyid, sig: sig.sig, signed_sha256: sig.signedSha256 },
      null,
      2,
    ) + '\n'
  );
}

/** The staged root in `<repo>/staged/`: one file, and a folder of detached signature files. */
export function diskStagedRootStore(paths: RepositoryPaths): StagedRootStore {
  const { file, signatures } = stagedPaths(paths, 'root');
  return {
    where: file,
    async load() {
      const bytes = await readFileBounded(file, MAX_STAGED_ROOT_BYTES);
      if (!bytes) return undefined;
      const stored: StoredSignature[] = [];
      for (const name of await listSignatures(signatures)) {
        if (!name.endsWith('.json')) continue;
        const path = join(signatures, name);
        const sig = await readFileBounded(path, MAX_DETACHED_BYTES).catch((e: unknown) => {
          throw new StorageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
        });
        if (sig) stored.push({ where: path, bytes: sig });
      }
      return { bytes, signatures: stored };
    },
    async replace(bytes) {
      await rm(signatures, { recursive: true, force: true });
      await mkdir(signatures, { recursive: true });
      await writeFileAtomic(file, bytes);
    },
    async addSignature(sig) {
      await mkdir(signatures, { recursive: true });
      await writeFileAtomic(join(signatures, `${checkKeyId(sig.keyid)}.json`), detachedBytes(sig));
    },
    async discard() {
      await rm(signatures, { recursive: true, force: true });
      await rm(file, { force: true });
    },
  };
}

async function listSignatures(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return [];
    throw new StorageError(`cannot list ${dir}: ${(e as Error).message}`, { cause: e });
  }
}
