/**
 * Interoperability: signatures and keyids made by python-tuf / securesystemslib (and by
 * sigstore's and tuf-on-ci's real repositories) must check out exactly as they do there.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalize, parseJsonLossless, type JsonValue } from '../../updater/core/canonical.js';
import { __setEd25519Backend, type Ed25519Backend } from '../../updater/core/ed25519.js';
import { computeKeyId, isSupportedKey, verifySignature, type PublicKey } from '../../updater/core/keys.js';
import { digest } from '../../updater/core/hashes.js';
import { VECTORS } from '../helpers/vectors.js';

interface SignatureCase {
  name: string;
  keyid: string;
  key: PublicKey;
  payload_b64: string;
  sig: string;
  valid: boolean;
}

/** A vector metadata file's `signed`, for the keys it lists (root `keys`, delegations' `keys`). */
interface SignedKeys {
  keys?: Record<string, PublicKey>;
  delegations?: { keys?: Record<string, PublicKey> };
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const signatureCases = readJson<{ cases: SignatureCase[] }>(join(VECTORS, 'signatures.json')).cases;

afterAll(() => __setEd25519Backend(undefined));

describe('signatures.json', () => {
  it('covers every scheme family with valid and invalid cases', () => {
    const schemes = new Set(signatureCases.map((c) => c.key.scheme));
    expect(schemes).toEqual(
      new Set([
        'ed25519',
        'ecdsa-sha2-nistp256',
        'rsassa-pss-sha256',
        'rsassa-pss-sha384',
        'rsassa-pss-sha512',
        'rsa-pkcs1v15-sha256',
        'rsa-pkcs1v15-sha384',
        'rsa-pkcs1v15-sha512',
      ]),
    );
    expect(signatureCases.filter((c) => c.valid).length).toBe(9);
    expect(signatureCases.filter((c) => !c.valid).length).toBe(18);
  });

  for (const backend of ['node', 'noble'] as Ed25519Backend[]) {
    describe(`with the ${backend} Ed25519 backend`, () => {
      for (const c of signatureCases) {
        it(`${c.name} is ${c.valid ? 'valid' : 'invalid'}`, () => {
          __setEd25519Backend(backend);
          const payload = Buffer.from(c.payload_b64, 'base64');
          expect(isSupportedKey(c.key)).toBe(true);
          expect(verifySignature(c.key, c.sig, payload)).toBe(c.valid);
          // Upper-case hex is the same signature (Python's bytes.fromhex accepts it).
          expect(verifySignature(c.key, c.sig.toUpperCase(), payload)).toBe(c.valid);
        });
      }
    });
  }

  it('every valid case fails on a one-bit change of the payload', () => {
    for (const c of signatureCases.filter((x) => x.valid)) {
      const payload = Buffer.from(c.payload_b64, 'base64');
      payload[payload.length - 1] ^= 1;
      expect(verifySignature(c.key, c.sig, payload), c.name).toBe(false);
    }
  });

  it('keyids are computeKeyId of the key object', () => {
    for (const c of signatureCases) expect(computeKeyId(c.key), c.name).toBe(c.keyid);
  });
});

/** Every metadata file of a repository directory, parsed; canonical bytes of `signed`. */
function loadMetadata(
  metadataDir: string,
): Array<{ file: string; signed: SignedKeys; signatures: Array<{ keyid: string; sig: string }>; canonical: Buffer }> {
  return readdirSync(metadataDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const text = readFileSync(join(metadataDir, file), 'utf8');
      const doc = parseJsonLossless(text) as { signed: JsonValue; signatures: Array<{ keyid: string; sig: string }> };
      return {
        file,
        signed: doc.signed as SignedKeys,
        signatures: doc.signatures,
        canonical: canonicalize(doc.signed),
      };
    });
}

/** keyid -> key, from root `keys` and every delegation's `keys`. */
function keysIn(signed: SignedKeys): Array<[string, PublicKey]> {
  return [...Object.entries(signed.keys ?? {}), ...Object.entries(signed.delegations?.keys ?? {})];
}

const repoNames = readdirSync(join(VECTORS, 'repos'));

describe('generated repositories (python-tuf)', () => {
  it('has the repositories the README lists', () => {
    expect(repoNames).toEqual(expect.arrayContaining(['basic', 'keytypes', 'delegations', 'root-rotation']));
  });

  for (const repo of repoNames) {
    const dir = join(VECTORS, 'repos', repo);

    it(`${repo}: keyids in expected.json and in all metadata are computeKeyId of their keys`, () => {
      const metadata = loadMetadata(join(dir, 'metadata'));
      const byId = new Map<string, PublicKey>();
      for (const m of metadata) {
        for (const [keyid, key] of keysIn(m.signed)) {
          expect(computeKeyId(key), `${m.file} ${keyid}`).toBe(keyid);
          byId.set(keyid, key);
        }
      }
      const expected = readJson<{ keys: Record<string, Array<{ keyid: string; keytype: string; scheme: string }>> }>(
        join(dir, 'expected.json'),
      );
      const listed = Object.values(expected.keys).flat();
      expect(listed.length).toBeGreaterThan(0);
      for (const k of listed) {
        const key = byId.get(k.keyid);
        expect(key, k.keyid).toBeDefined();
        expect([key!.keytype, key!.scheme]).toEqual([k.keytype, k.scheme]);
      }
    });

    it(`${repo}: every signature by a known key verifies, except the one the vector corrupts`, () => {
      const metadata = loadMetadata(join(dir, 'metadata'));
      const byId = new Map(metadata.flatMap((m) => keysIn(m.signed)));
      let checked = 0;
      for (const m of metadata) {
        for (const s of m.signatures) {
          const key = byId.get(s.keyid);
          if (!key) continue;
          const corrupted = repo === 'bad-timestamp-signature' && m.file === 'timestamp.json';
          expect(verifySignature(key, s.sig, m.canonical), `${m.file} by ${s.keyid}`).toBe(!corrupted);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(4);
    });
  }

  it('keytypes: root carries one key of each kind, all supported', () => {
    const root = readJson<{ signed: { keys: Record<string, PublicKey> } }>(
      join(VECTORS, 'repos/keytypes/metadata/1.root.json'),
    ).signed;
    const kinds = Object.values(root.keys).map((k) => `${k.keytype}/${k.scheme}`);
    expect(new Set(kinds)).toEqual(new Set(['ed25519/ed25519', 'ecdsa/ecdsa-sha2-nistp256', 'rsa/rsassa-pss-sha256']));
    for (const key of Object.values(root.keys)) expect(isSupportedKey(key)).toBe(true);
  });
});

describe('real-world repositories', () => {
  const realWorld = ['sigstore-root-signing', 'tuf-on-ci-0.11'].map((name) => join(VECTORS, 'real-world', name));
  it('are present', () => {
    for (const dir of realWorld) expect(existsSync(join(dir, 'metadata'))).toBe(true);
  });

  for (const dir of realWorld) {
    const name = dir.split('/').pop();

    it(`${name}: keyids are not computeKeyId (they hash the whole key object, extra fields included)`, () => {
      // Why a client must not insist on keyid == computeKeyId: these repositories would fail.
      for (const m of loadMetadata(join(dir, 'metadata'))) {
        for (const [keyid, key] of keysIn(m.signed)) expect(computeKeyId(key), `${m.file} ${keyid}`).not.toBe(keyid);
      }
      // The bootstrap root shows the rule they follow (sigstore's v11 breaks even that; see README).
      const initialRoot = readJson<{ signed: SignedKeys }>(join(dir, 'initial_root.json')).signed;
      for (const [keyid, key] of keysIn(initialRoot)) expect(digest(canonicalize(key)).sha256).toBe(keyid);
    });

    it(`${name}: current ecdsa signatures verify; empty ones (not signed) do not`, () => {
      const metadata = loadMetadata(join(dir, 'metadata'));
      const byId = new Map(metadata.flatMap((m) => keysIn(m.signed)));
      let valid = 0;
      let empty = 0;
      for (const m of metadata) {
        for (const s of m.signatures) {
          const key = byId.get(s.keyid);
          if (!key || !isSupportedKey(key)) continue;
          if (s.sig === '') empty++;
          const ok = verifySignature(key, s.sig, m.canonical);
          if (ok) valid++;
          else expect(s.sig, `${m.file} by ${s.keyid}`).toBe('');
        }
      }
      expect(valid).toBeGreaterThanOrEqual(name === 'tuf-on-ci-0.11' ? 4 : 20);
      expect(empty).toBeGreaterThan(0);
    });
  }
});
