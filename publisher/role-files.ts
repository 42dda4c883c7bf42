/**
 * The rules every new metadata file follows, whoever writes it: its expiry, its signatures,
 * its size (never above what clients accept) and how snapshot and timestamp point at it.
 */
import { DEFAULT_CONFIG } from '../updater/client/updater.js';
import { ValueError } from '../updater/core/errors.js';
import { digest } from '../updater/core/hashes.js';
import type { Signer } from '../updater/core/keys.js';
import { formatExpires, MetaFile, type Metadata } from '../updater/core/metadata.js';
import { DAY_MS } from './config.js';

/** The client's size limits (updater DEFAULT_CONFIG): nothing we publish may exceed them. */
export const SIZE_LIMITS = {
  root: DEFAULT_CONFIG.rootMaxLength,
  timestamp: DEFAULT_CONFIG.timestampMaxLength,
  snapshot: DEFAULT_CONFIG.snapshotMaxLength,
  targets: DEFAULT_CONFIG.targetsMaxLength,
} as const;

/**
 * Above this many bins, snapshot lists only version and length per bin and is written compact:
 * with hashes, 16,384 entries would come close to the client's 2,000,000-byte snapshot limit.
 * Versions are what the spec requires (4.4); the length still bounds each bin download.
 */
export const SNAPSHOT_HASHES_MAX_ROLES = 4096;

/**
 * Expiry `days` after `now`, rounded up to the second (the format has no fractions): rounding
 * up means nothing is ever written already expired, however short its lifetime.
 */
export function expiryAfter(now: Date, days: number): string {
  return formatExpires(new Date(Math.ceil((now.getTime() + days * DAY_MS + 1) / 1000) * 1000));
}

function checkSize(name: string, bytes: Buffer, limit: number): void {
  if (bytes.length > limit) {
    throw new ValueError(
      `${name} would be ${bytes.length} bytes, above the ${limit}-byte limit clients accept` +
        (limit === SIZE_LIMITS.targets ? ': use (more) hashed bins' : ''),
    );
  }
}

/**
 * Signs `md` (replacing its signatures) by every signer given and returns its file bytes:
 * python-tuf's indented form, compact for very large snapshots; refuses anything larger than
 * clients accept for its type.
 */
export async function signAndSerialize(md: Metadata, signers: Signer[] | undefined, file: string): Promise<Buffer> {
  if (!signers || signers.length === 0) throw new ValueError(`no signer for ${file}`);
  md.signatures.clear();
  for (const signer of signers) await md.sign(signer);
  const compact = md.signed.type === 'snapshot' && md.signed.meta.size > SNAPSHOT_HASHES_MAX_ROLES;
  const bytes = md.toBytes(compact ? 0 : 1);
  checkSize(file, bytes, SIZE_LIMITS[md.signed.type]);
  return bytes;
}

/** Snapshot's entry for a targets role (4.4): version and length, hashes unless bins are very many. */
export function metaFileFor(role: string, version: number, bytes: Buffer, binCount: number): MetaFile {
  const withHashes = role === 'targets' || binCount <= SNAPSHOT_HASHES_MAX_ROLES;
  return new MetaFile(version, bytes.length, withHashes ? digest(bytes, ['sha256']) : undefined);
}

/** Timestamp's entry for snapshot: always version, length and hash (5.5.2). */
export function snapshotMetaFor(version: number, bytes: Buffer): MetaFile {
  return new MetaFile(version, bytes.length, digest(bytes, ['sha256']));
}
