/**
 * Ed25519 with two interchangeable backends: node:crypto (fast, native) and @noble/ed25519
 * (pure JS). Electron's Node links BoringSSL rather than OpenSSL, so a native scheme can be
 * missing or broken in the running process (docs/architecture.md, "Electron's crypto is BoringSSL").
 *
 * Each capability is checked once, right before its first use, against RFC 8032 §7.1 TEST 2:
 * verification (the vector verifies, a tampered copy does not) before the first verify, and
 * signing plus key derivation before the first signature. A capability that throws or
 * disagrees goes through noble for the rest of the process. An app only ever verifies, so it
 * pays for the verify check alone; the noble packages are loaded only when a check fails
 * (they cost ~20 ms to load, at every start, for a fallback that is almost never taken).
 *
 * Everything Ed25519 in electron-tuf goes through this module, so both paths are tested to agree.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

export type Ed25519Backend = 'node' | 'noble';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** DER prefixes (RFC 8410) that wrap a raw 32-byte key as SubjectPublicKeyInfo / PKCS#8. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** RFC 8032 §7.1 TEST 2: seed, public key, message, signature. */
const RFC8032_TEST2 = {
  seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  message: '72',
  signature:
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
    '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
} as const;

// ---------------------------------------------------------------------------------------------
// Backend choice

let verifyBackend: Ed25519Backend | undefined;
let signBackend: Ed25519Backend | undefined;

/** The backend for verification; chosen on first use by checking node:crypto's verify against RFC 8032. */
export function ed25519VerifyBackend(): Ed25519Backend {
  verifyBackend ??= nodeVerifyPassesSelfTest() ? 'node' : 'noble';
  return verifyBackend;
}

/**
 * The backend for signing and key derivation (the publisher's): node only when node:crypto
 * passes the whole RFC 8032 check, signing and derivation as well as verification.
 */
export function ed25519Backend(): Ed25519Backend {
  signBackend ??= nodeCryptoPassesSelfTest() ? 'node' : 'noble';
  return signBackend;
}

/**
 * Tests only: force a backend for every operation, or pass undefined to run the self-tests
 * again on next use. Not part of the public API.
 */
export function __setEd25519Backend(choice: Ed25519Backend | undefined): void {
  verifyBackend = choice;
  signBackend = choice;
}

/** True when node:crypto verifies RFC 8032 TEST 2 and rejects it with one bit flipped. */
export function nodeVerifyPassesSelfTest(): boolean {
  try {
    const message = Buffer.from(RFC8032_TEST2.message, 'hex');
    const expected = Buffer.from(RFC8032_TEST2.signature, 'hex');
    const publicKey = nodePublicKey(Buffer.from(RFC8032_TEST2.publicKey, 'hex'));
    const tampered = Buffer.from(expected);
    tampered[0] ^= 1;
    return nodeVerify(null, message, publicKey, expected) && !nodeVerify(null, message, publicKey, tampered);
  } catch {
    return false; // a self-test that throws failed: the pure-JS backend is used instead
  }
}

/** True when node:crypto signs, derives, verifies and rejects exactly as RFC 8032 says it must. */
export function nodeCryptoPassesSelfTest(): boolean {
  try {
    const seed = Buffer.from(RFC8032_TEST2.seed, 'hex');
    const message = Buffer.from(RFC8032_TEST2.message, 'hex');
    const privateKey = nodePrivateKey(seed);
    return (
      nodeSign(null, message, privateKey).toString('hex') === RFC8032_TEST2.signature &&
      rawPublicKeyOf(createPublicKey(privateKey)).toString('hex') === RFC8032_TEST2.publicKey &&
      nodeVerifyPassesSelfTest()
    );
  } catch {
    return false; // a self-test that throws failed: the pure-JS backend is used instead
  }
}

// ---------------------------------------------------------------------------------------------
// The noble fallback, loaded on first use only

type Noble = typeof import('@noble/ed25519');
let nobleModule: Noble | undefined;

/**
 * @noble/ed25519 with @noble/hashes' SHA-512, loaded synchronously on first call (require of
 * an ES module: Node >= 20.19, and Electron's Node). Our API is synchronous, and noble v2
 * leaves its synchronous SHA-512 unset, so it is wired in here.
 */
function noble(): Noble {
  if (!nobleModule) {
    const require = createRequire(import.meta.url);
    const ed = require('@noble/ed25519') as Noble;
    const { sha512 } = require('@noble/hashes/sha2') as typeof import('@noble/hashes/sha2');
    ed.etc.sha512Sync = (...messages: Uint8Array[]) => sha512(ed.etc.concatBytes(...messages));
    nobleModule = ed;
  }
  return nobleModule;
}

/** Tests only: whether the noble packages have been loaded by this module. */
export function __nobleLoaded(): boolean {
  return nobleModule !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * As a JWK rather than SPKI DER: the same raw key, but node:crypto builds it directly
 * (EVP_PKEY_new_raw_public_key) instead of running OpenSSL 3's DER decoders, 2-5 times
 * faster. The self-test goes through here too, so a backend that cannot do it falls back.
 */
function nodePublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

function nodePrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKeyOf(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** The 32-byte seed inside an Ed25519 PKCS#8 DER private key, or undefined if it is not one. */
export function ed25519SeedFromPkcs8(der: Uint8Array): Uint8Array | undefined {
  if (der.length !== PKCS8_PREFIX.length + ED25519_SEED_BYTES) return undefined;
  if (!Buffer.from(der.subarray(0, PKCS8_PREFIX.length)).equals(PKCS8_PREFIX)) return undefined;
  return Uint8Array.from(der.subarray(PKCS8_PREFIX.length));
}

/** PKCS#8 DER for a 32-byte seed (the form `openssl genpkey -algorithm ed25519` writes). */
export function ed25519SeedToPkcs8(seed: Uint8Array): Buffer {
  return Buffer.concat([PKCS8_PREFIX, seed]);
}

/** The field prime 2^255 - 19 and the curve constant d = -121665/121666 (RFC 8032 §5.1). */
const P = (1n << 255n) - 19n;
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/**
 * y-coordinates of the eight points of small order (the torsion subgroup): the identity (1),
 * order 2 (p - 1), order 4 (0, x = ±√-1) and order 8 (two values, each with both signs of x).
 * libsodium's `has_small_order` refuses the same encodings.
 */
const SMALL_ORDER_Y = new Set([
  0n,
  1n,
  P - 1n,
  2707385501144840649318225287225658788936804267575313519463743609750303402022n,
  55188659117513257062467267217118295137698188065244968500265048394206261417927n,
]);

/**
 * True when `raw` (32 bytes) is the canonical encoding of a curve point of large order, as
 * RFC 8032 §5.1.3 decodes it: y < p, and x² = (y² - 1) / (d·y² + 1) has a root. Points of
 * small order are refused by their y alone (both signs of x have small order); that also
 * covers x = 0 (y = ±1), where the sign bit would matter. These are exactly the keys noble's
 * `Point.fromHex(raw, false)` decodes and `isSmallOrder()` passes (tested), without loading noble.
 */
export function isCanonicalLargeOrderPoint(raw: Uint8Array): boolean {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  let y = BigInt(raw[31] & 0x7f); // the top bit is the sign of x
  for (let i = 30; i >= 0; i--) y = (y << 8n) | BigInt(raw[i]);
  if (y >= P || SMALL_ORDER_Y.has(y)) return false;
  const yy = (y * y) % P;
  const u = (yy + P - 1n) % P; // not 0: y is not ±1
  const v = (D * yy + 1n) % P; // never 0: d is not a square
  // x² = u/v has a root iff u·v does (u/v = u·v / v²); u·v is not 0.
  return legendreIsOne((u * v) % P);
}

/**
 * True when `a` (0 < a < p) is a square mod p: its Jacobi symbol (a/p), which for the prime p
 * is the Legendre symbol, computed by quadratic reciprocity (Cohen, "A Course in Computational
 * Algebraic Number Theory", Algorithm 1.4.10). About 15 times faster than Euler's criterion
 * a^((p-1)/2) with BigInt; checked against noble's decoding in test/core/ed25519-backend.test.ts.
 */
function legendreIsOne(a: bigint): boolean {
  let n = P;
  let sign = 1;
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n; // (2/n) = -1 iff n ≡ 3, 5 (mod 8)
      if (r === 3n || r === 5n) sign = -sign;
    }
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) sign = -sign; // reciprocity
    a %= n;
  }
  return n === 1n && sign === 1;
}

/**
 * A verifying key. The public point is decoded once, strictly (canonical encoding, RFC 8032
 * §5.1.3), and small-order points are refused: OpenSSL checks the cofactorless equation, under
 * which the identity key accepts `R = identity, S = 0` for every message, so anyone could
 * "sign" for such a key. noble refuses those keys too, which keeps the two backends in step.
 */
export class Ed25519PublicKey {
  private nodeKey: KeyObject | undefined;

  private constructor(readonly raw: Uint8Array) {}

  /** Undefined unless `raw` is 32 bytes encoding a curve point of large order. */
  static fromRaw(raw: Uint8Array): Ed25519PublicKey | undefined {
    if (!isCanonicalLargeOrderPoint(raw)) return undefined;
    return new Ed25519PublicKey(Uint8Array.from(raw));
  }

  verify(signature: Uint8Array, data: Uint8Array): boolean {
    if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
    try {
      if (ed25519VerifyBackend() === 'noble') return noble().verify(signature, data, this.raw, { zip215: false });
      this.nodeKey ??= nodePublicKey(this.raw);
      return nodeVerify(null, data, this.nodeKey, signature);
    } catch {
      return false; // a malformed signature or key verifies nothing (it does not count toward a threshold)
    }
  }
}

/** A signing key held as its 32-byte seed (RFC 8032 §5.1.5). */
export class Ed25519PrivateKey {
  readonly #seed: Uint8Array;
  #nodeKey: KeyObject | undefined;

  constructor(seed: Uint8Array) {
    if (seed.length !== ED25519_SEED_BYTES) throw new RangeError('an Ed25519 seed is 32 bytes');
    this.#seed = Uint8Array.from(seed);
  }

  publicKeyRaw(): Uint8Array {
    if (ed25519Backend() === 'noble') return noble().getPublicKey(this.#seed);
    return Uint8Array.from(rawPublicKeyOf(createPublicKey(this.nativeKey())));
  }

  sign(data: Uint8Array): Uint8Array {
    if (ed25519Backend() === 'noble') return noble().sign(data, this.#seed);
    return Uint8Array.from(nodeSign(null, data, this.nativeKey()));
  }

  private nativeKey(): KeyObject {
    this.#nodeKey ??= nodePrivateKey(this.#seed);
    return this.#nodeKey;
  }
}
