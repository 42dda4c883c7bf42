/**
 * Keys and signatures: the one entry point the client and the publisher use.
 *
 * `verifySignature` is total: a malformed key, an unknown scheme, a wrong-curve key, an empty or
 * non-hex signature all mean "not a valid signature" (false), never an exception, so one bad
 * key or signature in metadata cannot stop a threshold count (spec §5.3.4 counts only valid
 * signatures by distinct keys).
 */
import { cachedVerifier } from './key-cache.js';
import type { PublicKey } from './key-schemes.js';

export { computeKeyId, type PublicKey } from './key-schemes.js';
export {
  generateKey,
  publicKeyFromPrivateKeyPem,
  signerFromPrivateKeyPem,
  type KeyAlgorithm,
  type Signer,
} from './signing.js';

/** An RSA-16384 signature is 2048 bytes; nothing we verify is longer. */
const MAX_SIGNATURE_HEX_CHARS = 4096;
const HEX_BYTES = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * An identifier of the key material itself (raw Ed25519 key or SPKI DER, hex), the same for
 * every spelling of one key (hex case, PEM line ends, `ecdsa` vs `ecdsa-sha2-nistp256`);
 * undefined for a key we cannot parse. Thresholds count each key material once.
 */
export function keyMaterialId(key: PublicKey): string | undefined {
  return cachedVerifier(key)?.keyMaterialHex;
}

/** True when `key` is well formed and of a scheme this process can verify. */
export function isSupportedKey(key: PublicKey): boolean {
  return cachedVerifier(key) !== undefined;
}

/**
 * True only when `signatureHex` is a valid signature by `key` over exactly `data`. An empty
 * signature is how tuf-on-ci and sigstore record a key holder who has not signed: false.
 */
export function verifySignature(key: PublicKey, signatureHex: string, data: Uint8Array): boolean {
  try {
    if (typeof signatureHex !== 'string' || signatureHex.length > MAX_SIGNATURE_HEX_CHARS) return false;
    // node:crypto would also take a string and sign its UTF-8; only bytes are meant here.
    if (!(data instanceof Uint8Array)) return false;
    // Buffer.from(.., 'hex') stops quietly at the first bad digit; check the whole string first.
    if (!HEX_BYTES.test(signatureHex)) return false;
    const verifier = cachedVerifier(key);
    return verifier !== undefined && verifier.verify(Buffer.from(signatureHex, 'hex'), data);
  } catch {
    return false; // a malformed signature or key verifies nothing (it does not count toward a threshold)
  }
}
