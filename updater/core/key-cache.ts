/**
 * Parsed keys by content. A client checks many signatures with the same few keys, and parsing
 * (PEM, DER, curve point decoding) costs far more than an Ed25519 verify. Keyed by content, not
 * object identity, so a key object mutated after use cannot hit a stale entry. Bounded (least
 * recently used goes first) because key objects come from the network. Unusable keys are
 * cached too (as null), so a hostile key is not re-parsed for every signature.
 */
import { parsePublicKey, type KeyVerifier } from './key-schemes.js';

const MAX_CACHED_KEYS = 1024;
const verifierCache = new Map<string, KeyVerifier | null>();

/** The verifier for `key`, parsed at most once while it stays in the cache. */
export function cachedVerifier(key: unknown): KeyVerifier | undefined {
  let cacheKey: string | undefined;
  try {
    cacheKey = verifierCacheKey(key);
  } catch {
    return undefined; // a getter or proxy that throws: not a key from JSON.parse
  }
  if (cacheKey === undefined) return undefined;
  const hit = verifierCache.get(cacheKey);
  if (hit !== undefined) {
    // Re-insert: Map iteration order is insertion order, so the oldest entry is least recently used.
    verifierCache.delete(cacheKey);
    verifierCache.set(cacheKey, hit);
    return hit ?? undefined;
  }
  const parsed = parsePublicKey(key) ?? null;
  if (verifierCache.size >= MAX_CACHED_KEYS) {
    const oldest = verifierCache.keys().next();
    if (!oldest.done) verifierCache.delete(oldest.value);
  }
  verifierCache.set(cacheKey, parsed);
  return parsed ?? undefined;
}

/** The fields a verifier depends on, or undefined when they are not all strings. */
function verifierCacheKey(key: unknown): string | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  const { keytype, scheme, keyval } = key as Record<string, unknown>;
  if (typeof keyval !== 'object' || keyval === null) return undefined;
  const publicText = (keyval as Record<string, unknown>).public;
  if (typeof keytype !== 'string' || typeof scheme !== 'string' || typeof publicText !== 'string') return undefined;
  // A JSON array is unambiguous whatever characters the fields hold.
  return JSON.stringify([keytype, scheme, publicText]);
}

/** Tests only. */
export const __verifierCache = {
  size: (): number => verifierCache.size,
  capacity: MAX_CACHED_KEYS,
  clear: (): void => verifierCache.clear(),
};
