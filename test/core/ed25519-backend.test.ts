/**
 * The Ed25519 module's two promises about cost: the noble fallback is not even loaded while
 * node:crypto works, and the public-key check done without noble accepts exactly the keys
 * noble accepts (canonical encoding of a point of large order).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as noble from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isCanonicalLargeOrderPoint } from '../../updater/core/ed25519.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST_CORE = join(ROOT, 'dist', 'updater', 'core');

/** noble's verdict: decodes strictly (RFC 8032) and is not of small order. */
function nobleAccepts(raw: Uint8Array): boolean {
  try {
    return !noble.Point.fromHex(raw, false).isSmallOrder();
  } catch {
    return false;
  }
}

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function encode(y: bigint, signBit: number): Uint8Array {
  const bytes = Buffer.from(y.toString(16).padStart(64, '0'), 'hex').reverse();
  bytes[31] |= signBit << 7;
  return new Uint8Array(bytes);
}

describe('isCanonicalLargeOrderPoint agrees with noble', () => {
  it('on random bytes (about half of them decode to a point)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        expect(isCanonicalLargeOrderPoint(raw)).toBe(nobleAccepts(raw));
      }),
      { numRuns: 600 },
    );
  });

  it('on real public keys, their negations, and points with a small-order component', () => {
    const torsion = noble.Point.fromHex(
      encode(2707385501144840649318225287225658788936804267575313519463743609750303402022n, 0),
      false,
    );
    expect(torsion.isSmallOrder()).toBe(true);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: L - 1n }), (scalar) => {
        const point = noble.Point.BASE.multiply(scalar);
        for (const candidate of [point, point.negate(), point.add(torsion)]) {
          const raw = candidate.toRawBytes();
          expect(nobleAccepts(raw)).toBe(true);
          expect(isCanonicalLargeOrderPoint(raw)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('on the edges: every small-order point, y >= p, y near 0 and p, both signs of x', () => {
    const ys: bigint[] = [];
    for (let i = 0n; i < 64n; i++) ys.push(i, P - 1n - i, P + i);
    ys.push(2707385501144840649318225287225658788936804267575313519463743609750303402022n);
    ys.push(55188659117513257062467267217118295137698188065244968500265048394206261417927n);
    let smallOrder = 0;
    for (const y of ys) {
      if (y >= 1n << 255n) continue;
      for (const sign of [0, 1]) {
        const raw = encode(y, sign);
        expect(isCanonicalLargeOrderPoint(raw), `y=${y} sign=${sign}`).toBe(nobleAccepts(raw));
        try {
          if (noble.Point.fromHex(raw, false).isSmallOrder()) smallOrder++;
        } catch {
          // not a point
        }
      }
    }
    // The canonical encodings of all eight small-order points were tried (and refused above).
    expect(smallOrder).toBe(8);
    expect(isCanonicalLargeOrderPoint(new Uint8Array(31))).toBe(false);
  });
});

describe('the noble fallback is loaded only when needed', () => {
  it('in-process: verifying with node:crypto leaves noble unloaded; forcing noble loads it', async () => {
    vi.resetModules();
    const ed = await import('../../updater/core/ed25519.js');
    const { verifySignature } = await import('../../updater/core/keys.js');
    const key = {
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyval: { public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a' },
    };
    const signature =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
    try {
      expect(verifySignature(key, signature, new Uint8Array(0))).toBe(true);
      expect(ed.ed25519VerifyBackend()).toBe('node');
      expect(ed.__nobleLoaded()).toBe(false);
      ed.__setEd25519Backend('noble');
      expect(verifySignature(key, signature, new Uint8Array(0))).toBe(true);
      expect(verifySignature(key, signature, new Uint8Array(1))).toBe(false);
      expect(ed.__nobleLoaded()).toBe(true);
    } finally {
      ed.__setEd25519Backend(undefined);
      vi.resetModules();
    }
  });

  // The built package in a plain node process whose module loader refuses any @noble import:
  // a static import anywhere in the graph would fail the child; a lazy load shows in the flag.
  // dist/ is what `npm test` builds first (as test/package/exports.test.ts relies on).
  it('a node process that signs and verifies with the built package never imports noble', async () => {
    const refuseNoble = `export async function resolve(s, c, next) { if (s.startsWith('@noble/')) throw new Error('imported ' + s); return next(s, c); }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuseNoble)}));`;
    const child = `
      const core = await import(${JSON.stringify(join(ROOT, 'dist', 'updater', 'core', 'index.js'))});
      const ed = await import(${JSON.stringify(join(DIST_CORE, 'ed25519.js'))});
      await import(${JSON.stringify(join(ROOT, 'dist', 'updater', 'index.js'))});
      const { publicKey, privateKeyPem } = core.generateKey('ed25519');
      const data = new TextEncoder().encode('payload');
      const signature = await core.signerFromPrivateKeyPem(privateKeyPem).sign(data);
      const verified = core.verifySignature(publicKey, signature, data);
      const loadedBefore = ed.__nobleLoaded();
      const importRefused = await import('@noble/ed25519').then(() => false, () => true);
      ed.__setEd25519Backend('noble');
      const nobleVerified = core.verifySignature(publicKey, signature, data);
      console.log(JSON.stringify({ verified, loadedBefore, importRefused, nobleVerified, loadedAfter: ed.__nobleLoaded() }));
    `;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', child],
      { cwd: ROOT },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({
      verified: true,
      loadedBefore: false,
      importRefused: true,
      nobleVerified: true,
      loadedAfter: true,
    });
  });
});
