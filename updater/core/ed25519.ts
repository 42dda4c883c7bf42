/**
 * Ed25519 with two interchangeable backends: node:crypto (fast, native) and @noble/ed25519
 * (pure JS). Electron's Node links BoringSSL rather than OpenSSL, so a native scheme can be
 * missing or broken in the running process (DESIGN.md, "Electron's crypto is BoringSSL"). The
 * first Ed25519 operation checks node:crypto once against RFC 8032 §7.1 TEST 2; if it throws or
 * disagrees, every Ed25519 operation of this process goes through noble instead.
 *
 * Everything Ed25519 in electron-tuf goes through this module, so both paths are tested to agree.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as noble from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2';

// noble v2 leaves its synchronous SHA-512 unset; our API is synchronous, so wire in @noble/hashes.
noble.etc.sha512Sync = (...messages: Uint8Array[]) => sha512(noble.etc.concatBytes(...messages));

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

let backend: Ed25519Backend | undefined;

/** The backend in use; chosen on first call by checking node:crypto against RFC 8032. */
export function ed25519Backend(): Ed25519Backend {
  backend ??= nodeCryptoPassesSelfTest() ? 'node' : 'noble';
  return backend;
}

/**
 * Tests only: force a backend, or pass undefined to run the self-test again on next use.
 * Not part of the public API.
 */
export function __setEd25519Backend(choice: Ed25519Backend | undefined): void {
  backend = choice;
}

/** True when node:crypto signs, verifies and rejects exactly as RFC 8032 says it must. */
export function nodeCryptoPassesSelfTest(): boolean {
  try {
    const seed = Buffer.from(RFC8032_TEST2.seed, 'hex');
    const message = Buffer.from(RFC8032_TEST2.message, 'hex');
    const expected = Buffer.from(RFC8032_TEST2.signature, 'hex');
    const privateKey = nodePrivateKey(seed);
    const publicKey = nodePublicKey(Buffer.from(RFC8032_TEST2.publicKey, 'hex'));
    const tampered = Buffer.from(expected);
    tampered[0] ^= 1;
    return (
      nodeSign(null, message, privateKey).equals(expected) &&
      rawPublicKeyOf(createPublicKey(privateKey)).toString('hex') === RFC8032_TEST2.publicKey &&
      nodeVerify(null, message, publicKey, expected) &&
      !nodeVerify(null, message, publicKey, tampered)
    );
  } catch {
    return false;
  }
}

function nodePublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
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
    if (raw.length !== ED25519_PUBLIC_KEY_BYTES) return undefined;
    try {
      if (noble.Point.fromHex(raw, false).isSmallOrder()) return undefined;
    } catch {
      return undefined;
    }
    return new Ed25519PublicKey(Uint8Array.from(raw));
  }

  verify(signature: Uint8Array, data: Uint8Array): boolean {
    if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
    try {
      if (ed25519Backend() === 'noble') return noble.verify(signature, data, this.raw, { zip215: false });
      this.nodeKey ??= nodePublicKey(this.raw);
      return nodeVerify(null, data, this.nodeKey, signature);
    } catch {
      return false;
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
    if (ed25519Backend() === 'noble') return noble.getPublicKey(this.#seed);
    return Uint8Array.from(rawPublicKeyOf(createPublicKey(this.nativeKey())));
  }

  sign(data: Uint8Array): Uint8Array {
    if (ed25519Backend() === 'noble') return noble.sign(data, this.#seed);
    return Uint8Array.from(nodeSign(null, data, this.nativeKey()));
  }

  private nativeKey(): KeyObject {
    this.#nodeKey ??= nodePrivateKey(this.#seed);
    return this.#nodeKey;
  }
}
