/**
 * TUF signature schemes (spec §4.2, "KEYTYPE" and "SCHEME"; securesystemslib's names) and the
 * parsing of a public key object from metadata into something that verifies. Parsing is strict
 * and total: for any input it returns a verifier or undefined, it never throws, because every
 * key object arrives from the network.
 */
import { constants, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { canonicalize } from './canonical.js';
import { Ed25519PublicKey } from './ed25519.js';
import { digest } from './hashes.js';
import { pemToDer } from './pem.js';

/** A TUF key object as it appears in root and targets metadata. */
export interface PublicKey {
  keytype: string;
  scheme: string;
  keyval: { public: string; [k: string]: unknown };
  /** Unknown fields (e.g. `x-tuf-on-ci-keyowner`) are kept as they are. */
  [unrecognized: string]: unknown;
}

type DigestName = 'sha224' | 'sha256' | 'sha384' | 'sha512';
/** Curve names as node:crypto reports them in `asymmetricKeyDetails.namedCurve`. */
export type NamedCurve = 'prime256v1' | 'secp384r1';

export type SchemeSpec =
  | { family: 'ed25519'; keytypes: readonly string[] }
  | { family: 'ecdsa'; keytypes: readonly string[]; hash: DigestName; curve: NamedCurve }
  | { family: 'rsa'; keytypes: readonly string[]; hash: DigestName; padding: 'pss' | 'pkcs1v15' };
/** The schemes whose keyval is a PEM SubjectPublicKeyInfo and which node:crypto verifies. */
export type PemSchemeSpec = Exclude<SchemeSpec, { family: 'ed25519' }>;

const ecdsa = (hash: DigestName, curve: NamedCurve, keytype: string): PemSchemeSpec => ({
  family: 'ecdsa',
  keytypes: ['ecdsa', keytype],
  hash,
  curve,
});
const rsa = (hash: DigestName, padding: 'pss' | 'pkcs1v15'): PemSchemeSpec => ({
  family: 'rsa',
  keytypes: ['rsa'],
  hash,
  padding,
});

/**
 * Every scheme we verify, by scheme name. The sha224 RSA variants are here because python-tuf's
 * CryptoSigner can produce them (see the vectors README); P-521 is not, as no TUF signer we
 * interoperate with makes it.
 */
export const SCHEMES: ReadonlyMap<string, SchemeSpec> = new Map<string, SchemeSpec>([
  ['ed25519', { family: 'ed25519', keytypes: ['ed25519'] }],
  ['ecdsa-sha2-nistp256', ecdsa('sha256', 'prime256v1', 'ecdsa-sha2-nistp256')],
  ['ecdsa-sha2-nistp384', ecdsa('sha384', 'secp384r1', 'ecdsa-sha2-nistp384')],
  ['rsassa-pss-sha224', rsa('sha224', 'pss')],
  ['rsassa-pss-sha256', rsa('sha256', 'pss')],
  ['rsassa-pss-sha384', rsa('sha384', 'pss')],
  ['rsassa-pss-sha512', rsa('sha512', 'pss')],
  ['rsa-pkcs1v15-sha224', rsa('sha224', 'pkcs1v15')],
  ['rsa-pkcs1v15-sha256', rsa('sha256', 'pkcs1v15')],
  ['rsa-pkcs1v15-sha384', rsa('sha384', 'pkcs1v15')],
  ['rsa-pkcs1v15-sha512', rsa('sha512', 'pkcs1v15')],
]);

/** A PEM RSA-16384 public key is about 2.9 KB; anything much longer is not a key we want to parse. */
export const MAX_PUBLIC_KEY_CHARS = 8192;
/** RSA keys below 2048 bits are refused (NIST SP 800-131A); above 16384 only cost CPU. */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 16384;

const ED25519_HEX = /^[0-9a-fA-F]{64}$/;

/** A parsed public key, ready to check signatures under its scheme. */
export interface KeyVerifier {
  readonly scheme: SchemeSpec;
  /**
   * Hex of the raw Ed25519 key or of the normalised SPKI DER (uncompressed EC point, minimal
   * RSA integers): two keys are the same key iff these match.
   */
  readonly keyMaterialHex: string;
  verify(signature: Uint8Array, data: Uint8Array): boolean;
}

/** Verifier for `key`, or undefined when the key is malformed or its type/scheme/curve disagree. */
export function parsePublicKey(key: unknown): KeyVerifier | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  const { keytype, scheme: schemeName, keyval } = key as Record<string, unknown>;
  if (typeof keytype !== 'string' || typeof schemeName !== 'string') return undefined;
  if (typeof keyval !== 'object' || keyval === null) return undefined;
  const publicText = (keyval as Record<string, unknown>).public;
  if (typeof publicText !== 'string' || publicText.length > MAX_PUBLIC_KEY_CHARS) return undefined;

  const scheme = SCHEMES.get(schemeName);
  if (!scheme || !scheme.keytypes.includes(keytype)) return undefined;
  return scheme.family === 'ed25519' ? ed25519Verifier(scheme, publicText) : pemVerifier(scheme, publicText);
}

function ed25519Verifier(scheme: SchemeSpec, publicHex: string): KeyVerifier | undefined {
  if (!ED25519_HEX.test(publicHex)) return undefined;
  const key = Ed25519PublicKey.fromRaw(Buffer.from(publicHex, 'hex'));
  if (!key) return undefined;
  return {
    scheme,
    keyMaterialHex: publicHex.toLowerCase(),
    verify: (signature, data) => key.verify(signature, data),
  };
}

function pemVerifier(scheme: PemSchemeSpec, publicPem: string): KeyVerifier | undefined {
  const der = pemToDer(publicPem, 'PUBLIC KEY');
  if (!der) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined; // not a key of this scheme: no verifier, so its signatures never count
  }
  if (!keyMatchesScheme(key, scheme)) return undefined;
  const options = verifyOptions(key, scheme);
  const hash = scheme.hash;
  return {
    scheme,
    keyMaterialHex: normalisedSpkiHex(key),
    verify: (signature, data) => {
      try {
        return nodeVerify(hash, data, options, signature);
      } catch {
        return false; // a malformed signature verifies nothing (it does not count toward a threshold)
      }
    },
  };
}

/**
 * One spelling of a key's material: SPKI DER rebuilt from the key's JWK parameters (EC x and y,
 * RSA n and e). The DER as given is not one: an EC point may be compressed or uncompressed
 * (SEC 1 2.3.3), so one P-256 key has two valid SPKIs and would count twice toward a threshold.
 * Called once per parsed key (key-cache.ts), so the round trip costs nothing per signature.
 */
function normalisedSpkiHex(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }).toString('hex');
}

/** The key's algorithm and size must be what the scheme says (a P-384 key is no nistp256 key). */
export function keyMatchesScheme(key: KeyObject, scheme: PemSchemeSpec): boolean {
  const details = key.asymmetricKeyDetails ?? {};
  switch (scheme.family) {
    case 'ecdsa':
      return key.asymmetricKeyType === 'ec' && details.namedCurve === scheme.curve;
    case 'rsa': {
      // Plain rsaEncryption keys only, as python's cryptography loads them; an id-RSASSA-PSS
      // key carries its own parameters that could contradict the scheme.
      const bits = details.modulusLength ?? 0;
      return key.asymmetricKeyType === 'rsa' && bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS;
    }
  }
}

type NodeVerifyKey = Parameters<typeof nodeVerify>[2];

/** node:crypto key options to verify under a scheme. */
export function verifyOptions(key: KeyObject, scheme: PemSchemeSpec): NodeVerifyKey {
  if (scheme.family === 'ecdsa') return { key, dsaEncoding: 'der' };
  if (scheme.padding === 'pkcs1v15') return { key, padding: constants.RSA_PKCS1_PADDING };
  // MGF1 uses the signature digest (node's default). Any salt length verifies, as in
  // securesystemslib; signing.ts signs with the digest length.
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
}

/**
 * The keyid TUF assigns a key: SHA-256 of the canonical JSON of {keytype, scheme, keyval}
 * (securesystemslib's default). Only python-tuf-style keys match: sigstore's and tuf-on-ci's
 * keyids also hash their extra fields, and the spec does not require clients to recompute
 * keyids, so a client must never reject a key whose keyid differs from this.
 */
export function computeKeyId(key: PublicKey): string {
  const { keytype, scheme, keyval } = key;
  return digest(canonicalize({ keytype, scheme, keyval }), ['sha256']).sha256;
}
