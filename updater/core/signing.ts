/**
 * Key generation and signing with private keys held in memory (PKCS#8 PEM). Used by the
 * publisher; the updater only verifies. Keys and signatures come out exactly as python-tuf's
 * CryptoSigner writes them, so either side can check the other's metadata.
 *
 * Private key material never appears in an error message or in a Signer's enumerable fields.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  type KeyObject,
  type SignKeyObjectInput,
  type SignPrivateKeyInput,
} from 'node:crypto';
import { ValueError } from './errors.js';
import { Ed25519PrivateKey, ed25519SeedFromPkcs8, ed25519SeedToPkcs8, ED25519_SEED_BYTES } from './ed25519.js';
import { computeKeyId, parsePublicKey, SCHEMES, type PemSchemeSpec, type PublicKey } from './key-schemes.js';
import { derToPem, pemToDer } from './pem.js';

export type KeyAlgorithm = 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-pss';

export interface Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  /** Hex signature over `data` under `publicKey.scheme`. */
  sign(data: Uint8Array): Promise<string>;
}

/** RSA size for new keys: 3072 bits is NIST's 128-bit level, and what python-tuf's tests use. */
const RSA_BITS = 3072;
/** A PKCS#8 PEM of an RSA-16384 key is about 12.6 KB. */
const MAX_PRIVATE_KEY_PEM_CHARS = 32_768;

type PrivateKey = { family: 'ed25519'; key: Ed25519PrivateKey } | { family: 'ecdsa' | 'rsa'; key: KeyObject };

/** A new key pair. The private key is PKCS#8 PEM; keyval.public is hex (ed25519) or SPKI PEM. */
export function generateKey(alg: KeyAlgorithm): { publicKey: PublicKey; privateKeyPem: string; keyid: string } {
  const privateKeyPem = generatePrivateKeyPem(alg);
  const publicKey = publicKeyFromPrivateKeyPem(privateKeyPem);
  return { publicKey, privateKeyPem, keyid: computeKeyId(publicKey) };
}

function generatePrivateKeyPem(alg: KeyAlgorithm): string {
  switch (alg) {
    case 'ed25519': {
      // From a seed rather than generateKeyPairSync so it works on the noble backend too.
      const seed = randomBytes(ED25519_SEED_BYTES);
      const pem = derToPem(ed25519SeedToPkcs8(seed), 'PRIVATE KEY');
      seed.fill(0);
      return pem;
    }
    case 'ecdsa-p256':
    case 'ecdsa-p384': {
      const namedCurve = alg === 'ecdsa-p256' ? 'prime256v1' : 'secp384r1';
      return generateKeyPairSync('ec', { namedCurve }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    }
    case 'rsa-pss':
      return generateKeyPairSync('rsa', { modulusLength: RSA_BITS })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    default:
      throw new ValueError(`unknown key algorithm ${JSON.stringify(alg)}`);
  }
}

/**
 * The public key object for a private key, with the scheme python-tuf picks for its type:
 * ed25519, ecdsa-sha2-nistp256/384 (keytype "ecdsa"), rsassa-pss-sha256.
 */
export function publicKeyFromPrivateKeyPem(pem: string): PublicKey {
  return derivePublicKey(loadPrivateKey(pem));
}

function derivePublicKey(privateKey: PrivateKey): PublicKey {
  if (privateKey.family === 'ed25519') {
    const publicHex = Buffer.from(privateKey.key.publicKeyRaw()).toString('hex');
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
  }
  const publicPem = createPublicKey(privateKey.key).export({ type: 'spki', format: 'pem' }).toString();
  if (privateKey.family === 'rsa')
    return { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: publicPem } };
  const curve = privateKey.key.asymmetricKeyDetails?.namedCurve;
  const scheme = curve === 'prime256v1' ? 'ecdsa-sha2-nistp256' : 'ecdsa-sha2-nistp384';
  return { keytype: 'ecdsa', scheme, keyval: { public: publicPem } };
}

/**
 * A signer for a PKCS#8 (or SEC1/PKCS#1) PEM private key. With `publicKey`, signs under that
 * key's scheme (e.g. rsa-pkcs1v15-sha512) after checking it is the same key; without, under the
 * default scheme for the key type.
 */
export function signerFromPrivateKeyPem(pem: string, publicKey?: PublicKey): Signer {
  const privateKey = loadPrivateKey(pem);
  const derived = derivePublicKey(privateKey);
  const derivedVerifier = parsePublicKey(derived);
  // E.g. RSA below 2048 bits: refuse to make signatures that no client of ours would accept.
  if (!derivedVerifier) throw new ValueError(`unsupported private key (${derived.keytype})`);
  if (publicKey === undefined) return new InMemorySigner(privateKey, frozenCopy(derived));

  const givenVerifier = parsePublicKey(publicKey);
  if (!givenVerifier)
    throw new ValueError(`unsupported public key (${String(publicKey?.keytype)}/${String(publicKey?.scheme)})`);
  if (givenVerifier.keyMaterialHex !== derivedVerifier.keyMaterialHex) {
    throw new ValueError('the public key does not belong to the private key');
  }
  return new InMemorySigner(privateKey, frozenCopy(publicKey));
}

function frozenCopy(key: PublicKey): PublicKey {
  const copy = structuredClone(key);
  Object.freeze(copy.keyval);
  return Object.freeze(copy);
}

class InMemorySigner implements Signer {
  readonly keyid: string;
  readonly #privateKey: PrivateKey;

  constructor(
    privateKey: PrivateKey,
    readonly publicKey: PublicKey,
  ) {
    this.#privateKey = privateKey;
    this.keyid = computeKeyId(publicKey);
  }

  async sign(data: Uint8Array): Promise<string> {
    const privateKey = this.#privateKey;
    if (privateKey.family === 'ed25519') return Buffer.from(privateKey.key.sign(data)).toString('hex');
    // parsePublicKey accepted this scheme for this key type in the constructor's caller.
    const scheme = SCHEMES.get(this.publicKey.scheme) as PemSchemeSpec;
    const signature = await signInThreadPool(scheme.hash, data, signOptions(privateKey.key, scheme));
    return signature.toString('hex');
  }
}

function signOptions(key: KeyObject, scheme: PemSchemeSpec): SignKeyObjectInput {
  if (scheme.family === 'ecdsa') return { key, dsaEncoding: 'der' };
  if (scheme.padding === 'pkcs1v15') return { key, padding: constants.RSA_PKCS1_PADDING };
  // Salt length = digest length, as securesystemslib signs (MGF1 uses the same digest).
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
}

/** node:crypto's callback form runs off the event loop (an RSA-3072 signature takes ~1 ms+). */
function signInThreadPool(
  hash: string,
  data: Uint8Array,
  options: SignKeyObjectInput | SignPrivateKeyInput,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodeSign(hash, data, options, (error, signature) => {
      if (error) reject(new ValueError('signing failed', { cause: error }));
      else resolve(signature);
    });
  });
}

/** Parses a private key PEM into one we can sign with, or throws ValueError (without the key). */
function loadPrivateKey(pem: string): PrivateKey {
  if (typeof pem !== 'string' || pem.length > MAX_PRIVATE_KEY_PEM_CHARS) {
    throw new ValueError('not a private key PEM');
  }
  // Ed25519 by hand first: the raw seed is all the noble backend needs, and BoringSSL builds
  // may lack PKCS#8 Ed25519 support in createPrivateKey.
  const der = pemToDer(pem, 'PRIVATE KEY');
  const seed = der && ed25519SeedFromPkcs8(der);
  if (seed) return { family: 'ed25519', key: new Ed25519PrivateKey(seed) };

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Not the node error: some of them quote the input.
    throw new ValueError('not a readable unencrypted private key PEM');
  }
  if (key.asymmetricKeyType === 'ed25519') {
    // E.g. PKCS#8 with attributes: node re-exports it in the bare form read above.
    const v1Seed = ed25519SeedFromPkcs8(key.export({ type: 'pkcs8', format: 'der' }));
    if (v1Seed) return { family: 'ed25519', key: new Ed25519PrivateKey(v1Seed) };
  }
  if (key.asymmetricKeyType === 'rsa') return { family: 'rsa', key };
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1'))
    return { family: 'ecdsa', key };
  throw new ValueError(
    `unsupported private key type ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`,
  );
}
