import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValueError } from '../../updater/core/errors.js';
import {
  __setEd25519Backend,
  ed25519Backend,
  ed25519SeedToPkcs8,
  nodeCryptoPassesSelfTest,
  type Ed25519Backend,
} from '../../updater/core/ed25519.js';
import { __verifierCache } from '../../updater/core/key-cache.js';
import {
  computeKeyId,
  generateKey,
  isSupportedKey,
  publicKeyFromPrivateKeyPem,
  signerFromPrivateKeyPem,
  verifySignature,
  type KeyAlgorithm,
  type PublicKey,
} from '../../updater/core/keys.js';
import { derToPem, pemToDer } from '../../updater/core/pem.js';

const BACKENDS: Ed25519Backend[] = ['node', 'noble'];
const data = Buffer.from('{"_type":"timestamp","version":1}');

afterEach(() => __setEd25519Backend(undefined));
afterAll(() => __setEd25519Backend(undefined));

/** RFC 8032 §7.1 TESTS 1-3. */
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

const hexText = (size: { minLength?: number; maxLength?: number }) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), ...size });
const ed25519Key = (publicHex: string): PublicKey => ({
  keytype: 'ed25519',
  scheme: 'ed25519',
  keyval: { public: publicHex },
});
const spkiPem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();
const pkcs8Pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('Ed25519 backends', () => {
  it('node:crypto passes the RFC 8032 self-test here, so it is the default', () => {
    expect(nodeCryptoPassesSelfTest()).toBe(true);
    __setEd25519Backend(undefined);
    expect(ed25519Backend()).toBe('node');
  });

  // Stand-ins for a node:crypto that lacks Ed25519 (throws) or gets it wrong (accepts anything).
  const brokenNodeCrypto = {
    throws: (real: typeof import('node:crypto')) => ({
      ...real,
      sign: (...args: Parameters<typeof real.sign>) => {
        if (args[0] === null) throw new Error('Unsupported key type');
        return real.sign(...args);
      },
    }),
    disagrees: (real: typeof import('node:crypto')) => ({ ...real, verify: () => true }),
  };
  for (const [how, makeBroken] of Object.entries(brokenNodeCrypto)) {
    it(`falls back to noble when node:crypto ${how} on the self-test`, async () => {
      vi.resetModules();
      vi.doMock('node:crypto', async (importOriginal) =>
        makeBroken(await importOriginal<typeof import('node:crypto')>()),
      );
      try {
        const fresh = await import('../../updater/core/ed25519.js');
        const freshKeys = await import('../../updater/core/keys.js');
        expect(fresh.nodeCryptoPassesSelfTest()).toBe(false);
        expect(fresh.ed25519Backend()).toBe('noble');
        const v = RFC8032[2];
        const message = Buffer.from(v.message, 'hex');
        expect(freshKeys.verifySignature(ed25519Key(v.publicKey), v.signature, message)).toBe(true);
        expect(freshKeys.verifySignature(ed25519Key(v.publicKey), RFC8032[1].signature, message)).toBe(false);
        const signer = freshKeys.signerFromPrivateKeyPem(
          derToPem(ed25519SeedToPkcs8(Buffer.from(v.seed, 'hex')), 'PRIVATE KEY'),
        );
        expect(await signer.sign(message)).toBe(v.signature);
      } finally {
        vi.doUnmock('node:crypto');
        vi.resetModules();
      }
    });
  }

  for (const backend of BACKENDS) {
    it(`${backend}: verifies and signs the RFC 8032 vectors exactly`, async () => {
      __setEd25519Backend(backend);
      for (const v of RFC8032) {
        const message = Buffer.from(v.message, 'hex');
        expect(verifySignature(ed25519Key(v.publicKey), v.signature, message)).toBe(true);
        const pem = derToPem(ed25519SeedToPkcs8(Buffer.from(v.seed, 'hex')), 'PRIVATE KEY');
        const signer = signerFromPrivateKeyPem(pem);
        expect(signer.publicKey.keyval.public).toBe(v.publicKey);
        expect(await signer.sign(message)).toBe(v.signature);
      }
    });
  }

  it('both backends agree on signatures made by the other, and on rejections', async () => {
    const { privateKeyPem, publicKey } = generateKey('ed25519');
    for (const [signWith, verifyWith] of [
      ['node', 'noble'],
      ['noble', 'node'],
    ] as const) {
      __setEd25519Backend(signWith);
      const signature = await signerFromPrivateKeyPem(privateKeyPem).sign(data);
      __setEd25519Backend(verifyWith);
      expect(verifySignature(publicKey, signature, data)).toBe(true);
      expect(verifySignature(publicKey, signature, Buffer.from('other'))).toBe(false);
    }
  });

  // The identity point has small order: under OpenSSL's cofactorless check, R = identity and
  // S = 0 "verify" any message. Such a key must be unusable on both backends.
  const identity = '01' + '00'.repeat(31);
  for (const backend of BACKENDS) {
    it(`${backend}: refuses small-order public keys and non-canonical S`, async () => {
      __setEd25519Backend(backend);
      expect(isSupportedKey(ed25519Key(identity))).toBe(false);
      expect(verifySignature(ed25519Key(identity), identity + '00'.repeat(32), data)).toBe(false);

      const v = RFC8032[1];
      const message = Buffer.from(v.message, 'hex');
      const signature = Buffer.from(v.signature, 'hex');
      // S + L is the same scalar mod L but not canonical (RFC 8032 §5.1.7 requires S < L).
      const L = (1n << 252n) + 27742317777372353535851937790883648493n;
      const s = BigInt('0x' + Buffer.from(signature.subarray(32)).reverse().toString('hex')) + L;
      const sPlusL = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
      const malleated = Buffer.concat([signature.subarray(0, 32), sPlusL]).toString('hex');
      expect(verifySignature(ed25519Key(v.publicKey), malleated, message)).toBe(false);
    });
  }

  it('refuses public keys that are not 32 bytes of hex or not a curve point', () => {
    const valid = RFC8032[0].publicKey;
    for (const bad of ['', valid.slice(2), valid + '00', 'g' + valid.slice(1), ' ' + valid.slice(1), 'ff'.repeat(32)]) {
      expect(isSupportedKey(ed25519Key(bad)), bad).toBe(false);
    }
    // Case does not matter, as for Python's bytes.fromhex.
    expect(verifySignature(ed25519Key(valid.toUpperCase()), RFC8032[0].signature, Buffer.alloc(0))).toBe(true);
  });
});

describe('sign and verify round trips', () => {
  const algorithms: KeyAlgorithm[] = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-pss'];
  const generated = new Map<KeyAlgorithm, ReturnType<typeof generateKey>>();
  beforeAll(() => {
    for (const alg of algorithms) generated.set(alg, generateKey(alg));
  });

  const expectedKinds: Record<KeyAlgorithm, [string, string]> = {
    ed25519: ['ed25519', 'ed25519'],
    'ecdsa-p256': ['ecdsa', 'ecdsa-sha2-nistp256'],
    'ecdsa-p384': ['ecdsa', 'ecdsa-sha2-nistp384'],
    'rsa-pss': ['rsa', 'rsassa-pss-sha256'],
  };

  for (const alg of algorithms) {
    it(`${alg}: keys look like python-tuf's and signatures verify only over the signed bytes`, async () => {
      const { publicKey, privateKeyPem, keyid } = generated.get(alg)!;
      expect([publicKey.keytype, publicKey.scheme]).toEqual(expectedKinds[alg]);
      expect(keyid).toBe(computeKeyId(publicKey));
      expect(privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
      if (alg === 'ed25519') expect(publicKey.keyval.public).toMatch(/^[0-9a-f]{64}$/);
      else
        expect(publicKey.keyval.public).toMatch(
          /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/,
        );
      expect(publicKeyFromPrivateKeyPem(privateKeyPem)).toEqual(publicKey);

      const signer = signerFromPrivateKeyPem(privateKeyPem);
      expect(signer.keyid).toBe(keyid);
      expect(signer.publicKey).toEqual(publicKey);
      const signature = await signer.sign(data);
      expect(signature).toMatch(/^[0-9a-f]+$/);
      expect(verifySignature(publicKey, signature, data)).toBe(true);

      const tamperedData = Buffer.from(data);
      tamperedData[5] ^= 0x20;
      expect(verifySignature(publicKey, signature, tamperedData)).toBe(false);
      const flipped = signature[10] === '0' ? '1' : '0';
      expect(verifySignature(publicKey, signature.slice(0, 10) + flipped + signature.slice(11), data)).toBe(false);
      expect(verifySignature(publicKey, signature.slice(0, -2), data)).toBe(false);
      expect(verifySignature(publicKey, signature + '00', data)).toBe(false);
      expect(verifySignature(publicKey, '', data)).toBe(false);
    });
  }

  it('ed25519 round trip on the noble backend', async () => {
    __setEd25519Backend('noble');
    const { publicKey, privateKeyPem } = generateKey('ed25519');
    const signature = await signerFromPrivateKeyPem(privateKeyPem).sign(data);
    expect(verifySignature(publicKey, signature, data)).toBe(true);
    __setEd25519Backend('node');
    expect(verifySignature(publicKey, signature, data)).toBe(true);
  });

  it('rsa signs under the scheme of a given public key, with digest-length PSS salt', async () => {
    const { publicKey, privateKeyPem } = generated.get('rsa-pss')!;
    const publicKeyObject = createPublicKey(publicKey.keyval.public);
    for (const scheme of [
      'rsassa-pss-sha256',
      'rsassa-pss-sha384',
      'rsassa-pss-sha512',
      'rsa-pkcs1v15-sha256',
      'rsa-pkcs1v15-sha384',
      'rsa-pkcs1v15-sha512',
    ]) {
      const key = { ...publicKey, scheme };
      const signer = signerFromPrivateKeyPem(privateKeyPem, key);
      expect(signer.publicKey.scheme).toBe(scheme);
      expect(signer.keyid).toBe(computeKeyId(key));
      const signature = Buffer.from(await signer.sign(data), 'hex');
      expect(verifySignature(key, signature.toString('hex'), data), scheme).toBe(true);
      const hash = scheme.split('-').pop()!;
      const viaNode = scheme.startsWith('rsassa-pss')
        ? { key: publicKeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(hash.slice(3)) / 8 }
        : { key: publicKeyObject, padding: constants.RSA_PKCS1_PADDING };
      expect(nodeVerify(hash, data, viaNode, signature), scheme).toBe(true);
      // A PSS signature is no PKCS#1 v1.5 signature, and vice versa; nor valid under another hash.
      const other = scheme.startsWith('rsassa-pss')
        ? scheme.replace('rsassa-pss', 'rsa-pkcs1v15')
        : scheme.replace('rsa-pkcs1v15', 'rsassa-pss');
      expect(verifySignature({ ...publicKey, scheme: other }, signature.toString('hex'), data)).toBe(false);
      const otherHash = hash === 'sha256' ? 'sha512' : 'sha256';
      expect(
        verifySignature({ ...publicKey, scheme: scheme.replace(hash, otherHash) }, signature.toString('hex'), data),
      ).toBe(false);
    }
  });

  it('rsassa-pss verification accepts any salt length, as securesystemslib does', () => {
    const { publicKey, privateKeyPem } = generated.get('rsa-pss')!;
    const privateKey = createPrivateKey(privateKeyPem);
    for (const saltLength of [0, 20, 32, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const signature = nodeSign('sha256', data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });
      expect(verifySignature(publicKey, signature.toString('hex'), data), `salt ${saltLength}`).toBe(true);
    }
  });

  it('ecdsa accepts only DER signatures, not raw r||s', () => {
    const { publicKey, privateKeyPem } = generated.get('ecdsa-p256')!;
    const privateKey = createPrivateKey(privateKeyPem);
    const raw = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(raw.length).toBe(64);
    expect(verifySignature(publicKey, raw.toString('hex'), data)).toBe(false);
    const der = nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
    expect(verifySignature(publicKey, der.toString('hex'), data)).toBe(true);
    // Trailing bytes after the DER SEQUENCE make it another (invalid) encoding.
    expect(verifySignature(publicKey, der.toString('hex') + '00', data)).toBe(false);
  });

  it('ecdsa keys may say keytype "ecdsa" or the scheme name, as securesystemslib allows', async () => {
    for (const alg of ['ecdsa-p256', 'ecdsa-p384'] as const) {
      const { publicKey, privateKeyPem } = generated.get(alg)!;
      const signature = await signerFromPrivateKeyPem(privateKeyPem).sign(data);
      expect(verifySignature({ ...publicKey, keytype: publicKey.scheme }, signature, data)).toBe(true);
      expect(verifySignature({ ...publicKey, keytype: 'ec' }, signature, data)).toBe(false);
    }
  });
});

describe('a key must be what its scheme says', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
  const ed = generateKeyPairSync('ed25519');
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ecdsaKey = (scheme: string, pem: string): PublicKey => ({ keytype: 'ecdsa', scheme, keyval: { public: pem } });

  it('a P-384 key under ecdsa-sha2-nistp256 (and the reverse) is invalid', () => {
    const signedWith384 = nodeSign('sha256', data, p384.privateKey).toString('hex');
    const signedWith256 = nodeSign('sha384', data, p256.privateKey).toString('hex');
    // The signatures are valid for the keys, as node sees it: only the scheme/curve mismatch fails.
    expect(nodeVerify('sha256', data, p384.publicKey, Buffer.from(signedWith384, 'hex'))).toBe(true);
    expect(isSupportedKey(ecdsaKey('ecdsa-sha2-nistp256', spkiPem(p384.publicKey)))).toBe(false);
    expect(verifySignature(ecdsaKey('ecdsa-sha2-nistp256', spkiPem(p384.publicKey)), signedWith384, data)).toBe(false);
    expect(verifySignature(ecdsaKey('ecdsa-sha2-nistp384', spkiPem(p256.publicKey)), signedWith256, data)).toBe(false);
    expect(
      isSupportedKey({
        keytype: 'ecdsa-sha2-nistp256',
        scheme: 'ecdsa-sha2-nistp384',
        keyval: { public: spkiPem(p384.publicKey) },
      }),
    ).toBe(false);
    expect(isSupportedKey(ecdsaKey('ecdsa-sha2-nistp384', spkiPem(p384.publicKey)))).toBe(true);
  });

  it('P-521, Ed25519-as-PEM, RSA-as-ECDSA and ECDSA-as-RSA keys are unsupported', () => {
    expect(isSupportedKey(ecdsaKey('ecdsa-sha2-nistp521', spkiPem(p521.publicKey)))).toBe(false);
    expect(isSupportedKey(ecdsaKey('ecdsa-sha2-nistp256', spkiPem(ed.publicKey)))).toBe(false);
    const rsaPem = spkiPem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(isSupportedKey(ecdsaKey('ecdsa-sha2-nistp256', rsaPem))).toBe(false);
    expect(
      isSupportedKey({ keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: spkiPem(p256.publicKey) } }),
    ).toBe(false);
    expect(isSupportedKey({ keytype: 'rsa', scheme: 'ed25519', keyval: { public: RFC8032[0].publicKey } })).toBe(false);
    expect(
      isSupportedKey({ keytype: 'ed25519', scheme: 'rsassa-pss-sha256', keyval: { public: RFC8032[0].publicKey } }),
    ).toBe(false);
  });

  it('RSA keys below 2048 bits are refused', () => {
    const key: PublicKey = {
      keytype: 'rsa',
      scheme: 'rsassa-pss-sha256',
      keyval: { public: spkiPem(rsa1024.publicKey) },
    };
    const signature = nodeSign('sha256', data, {
      key: rsa1024.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
    }).toString('hex');
    expect(verifySignature(key, signature, data)).toBe(false);
    expect(() => signerFromPrivateKeyPem(pkcs8Pem(rsa1024.privateKey))).toThrow(ValueError);
  });

  it('unknown schemes and keytypes are unsupported, never an error', () => {
    const pem = spkiPem(p256.publicKey);
    for (const [keytype, scheme] of [
      ['ecdsa', 'ecdsa-sha2-nistp256k1'],
      ['ecdsa', 'ECDSA-SHA2-NISTP256'],
      ['ed448', 'ed448'],
      ['', ''],
      ['rsa', 'rsassa-pss-md5'],
    ]) {
      const key: PublicKey = { keytype, scheme, keyval: { public: pem } };
      expect(isSupportedKey(key)).toBe(false);
      expect(verifySignature(key, 'aa'.repeat(70), data)).toBe(false);
    }
  });

  it('keyval.public must be exactly one SubjectPublicKeyInfo PEM block', () => {
    const pem = spkiPem(p256.publicKey);
    const withKey = (text: string) => ecdsaKey('ecdsa-sha2-nistp256', text);
    expect(isSupportedKey(withKey(pem))).toBe(true);
    expect(isSupportedKey(withKey(pem.replace(/\n/g, '\r\n')))).toBe(true);
    expect(isSupportedKey(withKey(pem.trimEnd()))).toBe(true);
    // OpenSSL alone would skip leading text, derive a public key from a private one, etc.
    expect(isSupportedKey(withKey('junk\n' + pem))).toBe(false);
    expect(isSupportedKey(withKey(pem + pem))).toBe(false);
    expect(isSupportedKey(withKey(pkcs8Pem(p256.privateKey)))).toBe(false);
    expect(isSupportedKey(withKey(pem.replace('PUBLIC KEY', 'EC PUBLIC KEY')))).toBe(false);
    expect(isSupportedKey(withKey(pem.replace(/\n(...)/, '\n$1*')))).toBe(false);
    expect(isSupportedKey(withKey(pem.slice(0, 60) + pem.slice(64)))).toBe(false);
    expect(isSupportedKey(withKey(Buffer.from(pemToDer(pem, 'PUBLIC KEY')!).toString('hex')))).toBe(false);
    expect(isSupportedKey(withKey(pem.replace(/\n-----END/, 'A'.repeat(9000) + '\n-----END')))).toBe(false);
  });
});

describe('verifySignature is total', () => {
  const v = RFC8032[1];
  const key = ed25519Key(v.publicKey);
  const message = Buffer.from(v.message, 'hex');

  it('malformed signatures are false', () => {
    for (const bad of [
      '',
      '0',
      v.signature.slice(1),
      v.signature + '0',
      v.signature.replace(/^../, 'zz'),
      ` ${v.signature}`,
      v.signature + '\n',
      '00'.repeat(5000),
    ]) {
      expect(verifySignature(key, bad, message), JSON.stringify(bad.slice(0, 8))).toBe(false);
    }
    for (const notAString of [null, undefined, 42, {}, [], Buffer.from(v.signature, 'hex')]) {
      expect(verifySignature(key, notAString as string, message)).toBe(false);
    }
  });

  it('malformed keys are false and unsupported', () => {
    const badKeys: unknown[] = [
      null,
      undefined,
      'ed25519',
      [],
      {},
      { keytype: 'ed25519', scheme: 'ed25519' },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: null },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: 'x' },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 42 } },
      { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: [v.publicKey] } },
      { keytype: ['ed25519'], scheme: 'ed25519', keyval: { public: v.publicKey } },
      { keytype: 'ed25519', scheme: { toString: () => 'ed25519' }, keyval: { public: v.publicKey } },
      {
        keytype: 'ed25519',
        scheme: 'ed25519',
        keyval: {
          get public() {
            throw new Error('getter');
          },
        },
      },
      Object.create({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'zz' } }),
    ];
    for (const bad of badKeys) {
      expect(isSupportedKey(bad as PublicKey)).toBe(false);
      expect(verifySignature(bad as PublicKey, v.signature, message)).toBe(false);
    }
  });

  it('data that is not bytes is false', () => {
    // 'r' is the message of RFC 8032 TEST 2 as a string: node:crypto alone would accept it.
    for (const bad of [null, undefined, 'r', 42, {}, [0x72]])
      expect(verifySignature(key, v.signature, bad as Uint8Array)).toBe(false);
  });

  it('property: random key fields and signatures never throw and never verify', () => {
    const ecdsaPem = generateKey('ecdsa-p256').publicKey.keyval.public;
    const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), hexText({ maxLength: 200 }));
    const keytype = fc.oneof(fc.constantFrom('ed25519', 'ecdsa', 'ecdsa-sha2-nistp256', 'rsa'), anyText);
    const scheme = fc.oneof(
      fc.constantFrom(
        'ed25519',
        'ecdsa-sha2-nistp256',
        'ecdsa-sha2-nistp384',
        'rsassa-pss-sha256',
        'rsa-pkcs1v15-sha512',
      ),
      anyText,
    );
    const publicText = fc.oneof(
      anyText,
      fc.constantFrom(v.publicKey, ecdsaPem),
      fc
        .tuple(fc.nat({ max: ecdsaPem.length - 1 }), fc.string({ minLength: 1, maxLength: 3 }))
        .map(([at, s]) => ecdsaPem.slice(0, at) + s + ecdsaPem.slice(at + 1)),
    );
    const signature = fc.oneof(
      anyText,
      fc.constant(''),
      hexText({ minLength: 128, maxLength: 128 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('hex')),
    );
    const keyval = fc.oneof(
      publicText.map((p) => ({ public: p })),
      fc.anything(),
    );
    fc.assert(
      fc.property(
        keytype,
        scheme,
        keyval,
        signature,
        fc.uint8Array({ maxLength: 64 }),
        fc.anything(),
        (kt, sc, kv, sig, payload, anyKey) => {
          const candidate = { keytype: kt, scheme: sc, keyval: kv } as PublicKey;
          expect(typeof isSupportedKey(candidate)).toBe('boolean');
          expect(verifySignature(candidate, sig, payload)).toBe(false);
          expect(verifySignature(anyKey as PublicKey, sig, payload)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: any change to a valid signature is false', () => {
    fc.assert(
      fc.property(fc.nat({ max: 127 }), fc.constantFrom(...'0123456789abcdef'), (at, digit) => {
        fc.pre(v.signature[at] !== digit);
        const changed = v.signature.slice(0, at) + digit + v.signature.slice(at + 1);
        expect(verifySignature(key, changed, message)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('computeKeyId', () => {
  const key: PublicKey = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: RFC8032[0].publicKey } };

  it('hashes keytype, scheme and keyval only; unknown top-level fields are kept but not hashed', () => {
    const withExtras: PublicKey = { ...key, 'x-tuf-on-ci-keyowner': '@someone', keyid_hash_algorithms: ['sha256'] };
    expect(computeKeyId(withExtras)).toBe(computeKeyId(key));
    expect(withExtras['x-tuf-on-ci-keyowner']).toBe('@someone');
    expect(verifySignature(withExtras, RFC8032[0].signature, Buffer.alloc(0))).toBe(true);
  });

  it('changes with every hashed field, including extra keyval fields', () => {
    const ids = new Set([
      computeKeyId(key),
      computeKeyId({ ...key, scheme: 'ed25519-x' }),
      computeKeyId({ ...key, keytype: 'ED25519' }),
      computeKeyId({ ...key, keyval: { public: RFC8032[1].publicKey } }),
      computeKeyId({ ...key, keyval: { ...key.keyval, private: '' } }),
    ]);
    expect(ids.size).toBe(5);
    expect(computeKeyId(key)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the parsed-key cache', () => {
  it('is keyed by content: a key object changed after use is parsed again', () => {
    const [a, b] = RFC8032;
    const key = ed25519Key(a.publicKey);
    expect(verifySignature(key, a.signature, Buffer.alloc(0))).toBe(true);
    key.keyval.public = b.publicKey;
    expect(verifySignature(key, a.signature, Buffer.alloc(0))).toBe(false);
    expect(verifySignature(key, b.signature, Buffer.from(b.message, 'hex'))).toBe(true);
    expect(verifySignature({ ...key, scheme: 'ed25519 ' }, b.signature, Buffer.from(b.message, 'hex'))).toBe(false);
  });

  it('holds one entry per distinct key and stays bounded', () => {
    __verifierCache.clear();
    for (let i = 0; i < 3; i++)
      verifySignature(ed25519Key(RFC8032[0].publicKey), RFC8032[0].signature, Buffer.alloc(0));
    expect(__verifierCache.size()).toBe(1);
    for (let i = 0; i < __verifierCache.capacity + 50; i++)
      isSupportedKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: `not-a-key-${i}` } });
    expect(__verifierCache.size()).toBe(__verifierCache.capacity);
    // Still correct after evictions.
    expect(verifySignature(ed25519Key(RFC8032[0].publicKey), RFC8032[0].signature, Buffer.alloc(0))).toBe(true);
  });
});

describe('private keys', () => {
  it('reads SEC1, PKCS#1 and PKCS#8 (plain and with attributes) PEM', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    expect(publicKeyFromPrivateKeyPem(sec1).keyval.public).toBe(spkiPem(ec.publicKey));

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    const signer = signerFromPrivateKeyPem(pkcs1);
    expect(verifySignature(signer.publicKey, await signer.sign(data), data)).toBe(true);

    const ed = generateKeyPairSync('ed25519');
    const edPublicHex = ed.publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('hex');
    expect(publicKeyFromPrivateKeyPem(pkcs8Pem(ed.privateKey)).keyval.public).toBe(edPublicHex);
    // PKCS#8 with an attribute (RFC 8410 §10.3's, whose example with a public key OpenSSL 3.0 refuses).
    const withAttribute = [
      '-----BEGIN PRIVATE KEY-----',
      'ME8CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC',
      'oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJz',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    expect(publicKeyFromPrivateKeyPem(withAttribute).keyval.public).toBe(
      '19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1',
    );
  });

  it('refuses unreadable, encrypted and unsupported keys with a ValueError that does not quote them', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const encrypted = ec.privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    const ed448 = pkcs8Pem(generateKeyPairSync('ed448').privateKey);
    const p521 = pkcs8Pem(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey);
    const truncated = pkcs8Pem(ec.privateKey).slice(0, 120);
    for (const bad of [encrypted, ed448, p521, truncated, '', 'not a key', spkiPem(ec.publicKey), 'x'.repeat(40_000)]) {
      let error: unknown;
      try {
        signerFromPrivateKeyPem(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValueError);
      const body = bad.split('\n')[1] ?? bad;
      if (body.length > 8) expect(String((error as Error).message)).not.toContain(body.slice(0, 16));
    }
  });

  it("refuses a public key that is not the private key's, or of an unsupported scheme", () => {
    const a = generateKey('ed25519');
    const b = generateKey('ed25519');
    expect(() => signerFromPrivateKeyPem(a.privateKeyPem, b.publicKey)).toThrow(/does not belong/);
    expect(() => signerFromPrivateKeyPem(a.privateKeyPem, { ...a.publicKey, scheme: 'ed448' })).toThrow(ValueError);
    const ec = generateKey('ecdsa-p256');
    expect(() => signerFromPrivateKeyPem(ec.privateKeyPem, { ...ec.publicKey, scheme: 'ecdsa-sha2-nistp384' })).toThrow(
      ValueError,
    );
    expect(() => generateKey('dsa' as KeyAlgorithm)).toThrow(ValueError);
  });

  it('a signer does not reveal its private key and its public key cannot be changed', () => {
    const { privateKeyPem, publicKey } = generateKey('ed25519');
    const seedHex = pemToDer(privateKeyPem, 'PRIVATE KEY')!.subarray(16).toString('hex');
    const signer = signerFromPrivateKeyPem(privateKeyPem, publicKey);
    const shown = JSON.stringify(signer) + inspect(signer, { depth: 10, showHidden: true });
    expect(shown).not.toContain(seedHex);
    expect(shown).not.toContain(privateKeyPem.split('\n')[1]);
    expect(() => {
      (signer.publicKey.keyval as { public: string }).public = 'x';
    }).toThrow(TypeError);
    // The caller's object is copied, not frozen.
    publicKey.keyval.public = publicKey.keyval.public.toUpperCase();
    expect(signer.publicKey.keyval.public).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('pem', () => {
  it('round-trips DER and refuses other labels', () => {
    const der = Buffer.from('3003020101', 'hex');
    const pem = derToPem(der, 'PUBLIC KEY');
    expect(pem).toBe('-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----\n');
    expect(pemToDer(pem, 'PUBLIC KEY')).toEqual(der);
    expect(pemToDer(pem, 'PRIVATE KEY')).toBeUndefined();
    expect(pemToDer('-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----', 'PUBLIC KEY')).toBeUndefined();
    expect(pemToDer('-----BEGIN PUBLIC KEY-----\nMAMC=AQE\n-----END PUBLIC KEY-----', 'PUBLIC KEY')).toBeUndefined();
  });
});
