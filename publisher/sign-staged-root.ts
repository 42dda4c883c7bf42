/**
 * `repo sign <repo> root`: add signatures to the staged root, on the machine where a root key
 * is (`--key FILE`), or by importing detached signature files made elsewhere. With `--out`, the
 * detached signature is written to that file only, to be sent to whoever publishes. When both
 * thresholds are met the staged root is published (unless told not to).
 */
import { resolve } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import type { Metadata, Root } from '../updater/core/metadata.js';
import { writeFileAtomic } from '../updater/node-io/index.js';
import { readKeyFile, shortKeyId, signerFromPem } from './keystore.js';
import { pathsFor } from './options.js';
import { diskStagedRootStore } from './staged-root-store.js';
import {
  detachedBytes,
  detachedFor,
  loadStagedRoot,
  publishStagedRoot,
  readDetachedSignature,
  signWithAvailableRootKeys,
  stagedStatus,
  storeDetached,
  type DetachedSignature,
  type PublishedRoot,
  type StagedStatus,
} from './staged-root.js';
import { editRepository, type TransactionOptions } from './transaction.js';

export interface SignOptions extends TransactionOptions {
  /** The staged role to sign; only `root` is ever staged. */
  role: string;
  /** A private key file (PEM) of a root key. */
  keyFile?: string;
  /** Detached signature files to import. */
  signatureFiles?: string[];
  /** Write the new detached signature here instead of into the repository; nothing is published. */
  out?: string;
  /** Publish once thresholds are met (default true). */
  publish?: boolean;
}

export interface SignResult {
  version: number;
  /** Key ids whose signatures were added. */
  added: string[];
  status: StagedStatus;
  /** Where the detached signature was written with `out`. */
  out?: string;
  published?: PublishedRoot;
}

/**
 * A detached signature over the staged root by the root key in `pem` (read from `where`). The
 * key must be a root key of `current` or of the staged root (5.3.4: both thresholds count), so
 * a holder never signs a root with a key that would not count.
 */
export async function signStagedWithKey(
  staged: Metadata<Root>,
  current: Root,
  pem: string,
  where: string,
): Promise<DetachedSignature> {
  const signer = signerFromPem(pem, undefined, where);
  const key = staged.signed.keys[signer.keyid] ?? current.keys[signer.keyid];
  const isRootKey =
    staged.signed.roles.root.keyids.includes(signer.keyid) || current.roles.root.keyids.includes(signer.keyid);
  if (!key || !isRootKey) {
    throw new ValueError(
      `${where} holds key ${shortKeyId(signer.keyid)}, which is not a root key of version ${current.version} or ${staged.signed.version}`,
    );
  }
  return detachedFor(staged, signer.keyid, await signerFromPem(pem, key, where).sign(staged.signedBytes));
}

export async function signStaged(options: SignOptions): Promise<SignResult> {
  if (options.role !== 'root')
    throw new ValueError(
      `nothing of role ${JSON.stringify(options.role)} is ever staged; only root changes wait for signatures`,
    );
  const paths = await pathsFor(options);
  const store = options.stagedStore ?? diskStagedRootStore(paths);
  const pem = options.keyFile === undefined ? undefined : await readKeyFile(resolve(options.keyFile), false);
  if (options.keyFile !== undefined && pem === undefined) throw new ValueError(`no such file: ${options.keyFile}`);
  if (options.out !== undefined && !pem)
    throw new ValueError('--out needs --key: it writes the signature made with that key');

  const { value, publish } = await editRepository({ ...options, requireValidRoot: false }, async (edit) => {
    const { state, ring } = edit;
    const loaded = await loadStagedRoot(store, state.root.signed);
    if (!loaded || loaded.md.signed.version <= state.root.signed.version) {
      throw new ValueError('no root change is staged (repo rotate stages one)');
    }
    const staged = loaded.md;
    const added: string[] = [];
    const result: Partial<SignResult> = { version: staged.signed.version, added };
    if (pem !== undefined) {
      const sig = await signStagedWithKey(staged, state.root.signed, pem, options.keyFile!);
      if (options.out !== undefined) {
        result.out = resolve(options.out);
        await writeFileAtomic(result.out, detachedBytes(sig));
        return { ...result, status: stagedStatus(state.root.signed, staged) } as SignResult;
      }
      await storeDetached(store, staged, sig);
      added.push(sig.keyid);
    }
    for (const file of options.signatureFiles ?? []) {
      const sig = await readDetachedSignature(resolve(file), staged, state.root.signed);
      await storeDetached(store, staged, sig);
      added.push(sig.keyid);
    }
    added.push(...(await signWithAvailableRootKeys(store, state, staged, ring)));
    result.status = stagedStatus(state.root.signed, staged);
    if (result.status.ready && options.publish !== false) result.published = await publishStagedRoot(edit, staged);
    return result as SignResult;
  });
  if (value.published) {
    await store.discard(); // only now: until the new root is out, the collected signatures matter
    if (publish) value.published.publish = publish;
  }
  return value;
}
