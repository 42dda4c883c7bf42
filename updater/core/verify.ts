/** Threshold signature verification of a role's metadata by its delegator (spec 5.3.4, 5.4.2, 5.6.3). */
import { UnsignedMetadataError } from './errors.js';
import { keyMaterialId, verifySignature, type PublicKey } from './keys.js';
import type { Metadata, Root, Targets } from './metadata.js';
import type { Role } from './roles.js';

export interface SignatureCount {
  /** Key ids of the role whose valid signatures were counted (each key counted once). */
  signedBy: string[];
  /** Key ids of the role with no valid signature. */
  missing: string[];
  threshold: number;
}

/**
 * Counts valid signatures of `role`'s keys over the metadata's signed bytes. A key listed
 * under two key ids, however it is spelled, counts once (same key material), so a threshold
 * cannot be met by repeating one key.
 */
export function countSignatures(role: Role, keys: Record<string, PublicKey>, metadata: Metadata): SignatureCount {
  const signedBy: string[] = [];
  const missing: string[] = [];
  const seenMaterial = new Set<string>();
  const data = metadata.signedBytes;
  for (const keyid of role.keyids) {
    const key = Object.hasOwn(keys, keyid) ? keys[keyid] : undefined;
    const sig = metadata.signatures.get(keyid);
    const material = key && keyMaterialId(key);
    if (key && sig && material && !seenMaterial.has(material) && verifySignature(key, sig.sig, data)) {
      seenMaterial.add(material);
      signedBy.push(keyid);
    } else {
      missing.push(keyid);
    }
  }
  return { signedBy, missing, threshold: role.threshold };
}

/**
 * Throws UnsignedMetadataError unless `delegate` is signed by a threshold of the keys that
 * `delegator` trusts for `roleName`.
 */
export function verifyDelegate(delegator: Root | Targets, roleName: string, delegate: Metadata): void {
  const role = delegator.getRole(roleName);
  if (!role) throw new UnsignedMetadataError(`${delegator.type} does not delegate to ${roleName}`);
  const { signedBy, threshold } = countSignatures(role, delegator.keys, delegate);
  if (signedBy.length < threshold) {
    throw new UnsignedMetadataError(
      `${roleName} was signed by ${signedBy.length}/${threshold} required keys trusted by ${delegator.type}`,
    );
  }
}
