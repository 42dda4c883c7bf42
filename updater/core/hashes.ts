import { createHash, type Hash } from 'node:crypto';
import { LengthOrHashMismatchError } from './errors.js';

/** Hash algorithms a client can check. TUF metadata may list others; we skip those we do not know. */
export const SUPPORTED_HASH_ALGORITHMS = ['sha256', 'sha512', 'sha384'] as const;
export type HashAlgorithm = (typeof SUPPORTED_HASH_ALGORITHMS)[number];

export type Hashes = Record<string, string>;

function isSupported(alg: string): alg is HashAlgorithm {
  return (SUPPORTED_HASH_ALGORITHMS as readonly string[]).includes(alg);
}

/**
 * Incremental checker for a length and a set of hashes: feed it chunks as they stream in
 * (one pass, nothing buffered), then `verify()`. node:crypto only: see docs/architecture.md, "Crypto speed".
 */
export class LengthAndHashVerifier {
  private readonly hashers: Array<[alg: string, expected: string, hash: Hash]>;
  private received = 0;

  constructor(
    private readonly expectedLength: number | undefined,
    expectedHashes: Hashes | undefined,
    private readonly what: string,
  ) {
    this.hashers = [];
    for (const [alg, expected] of Object.entries(expectedHashes ?? {})) {
      if (isSupported(alg)) this.hashers.push([alg, expected.toLowerCase(), createHash(alg)]);
    }
    if (expectedHashes && Object.keys(expectedHashes).length > 0 && this.hashers.length === 0) {
      throw new LengthOrHashMismatchError(
        `${what}: none of the hash algorithms ${Object.keys(expectedHashes).join(', ')} is supported`,
      );
    }
  }

  get bytesSeen(): number {
    return this.received;
  }

  update(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.expectedLength !== undefined && this.received > this.expectedLength) {
      throw new LengthOrHashMismatchError(`${this.what}: more than the expected ${this.expectedLength} bytes`);
    }
    for (const [, , h] of this.hashers) h.update(chunk);
  }

  /** Throws LengthOrHashMismatchError unless every expectation holds. Call once. */
  verify(): void {
    if (this.expectedLength !== undefined && this.received !== this.expectedLength) {
      throw new LengthOrHashMismatchError(`${this.what}: expected length ${this.expectedLength}, got ${this.received}`);
    }
    for (const [alg, expected, h] of this.hashers) {
      const actual = h.digest('hex');
      if (actual !== expected) {
        throw new LengthOrHashMismatchError(`${this.what}: ${alg} mismatch (expected ${expected}, got ${actual})`);
      }
    }
  }
}

/** Checks a whole buffer against a length and hashes. */
export function verifyLengthAndHashes(
  data: Uint8Array,
  length: number | undefined,
  hashes: Hashes | undefined,
  what: string,
): void {
  const v = new LengthAndHashVerifier(length, hashes, what);
  v.update(data);
  v.verify();
}

/** Computes the given digests of a buffer, hex encoded. */
export function digest(data: Uint8Array, algorithms: readonly HashAlgorithm[] = ['sha256']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const alg of algorithms) out[alg] = createHash(alg).update(data).digest('hex');
  return out;
}
