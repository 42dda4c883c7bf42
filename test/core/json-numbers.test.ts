/**
 * Issue 11, finding 5: a mirror re-spells a number in signed metadata (`"version": 8` becomes
 * `8.0`). JSON.parse reads both as 8, so the canonical form, and with it the signature, would
 * be unchanged; python-tuf refuses the float. Every such spelling must be a DeserializationError.
 */
import { describe, expect, it } from 'vitest';
import { DeserializationError } from '../../updater/core/errors.js';
import { findNonIntegerNumber } from '../../updater/core/json-numbers.js';
import { generateKey, signerFromPrivateKeyPem } from '../../updater/core/keys.js';
import { MetaFile, Metadata, Root, Timestamp } from '../../updater/core/metadata.js';
import { Role } from '../../updater/core/roles.js';
import { verifyDelegate } from '../../updater/core/verify.js';
import { parseDoc } from '../helpers/metadata-doc.js';

const signer = signerFromPrivateKeyPem(generateKey('ed25519').privateKeyPem);
const roles = Object.fromEntries(
  ['root', 'timestamp', 'snapshot', 'targets'].map((r) => [r, new Role([signer.keyid], 1)]),
) as Root['roles'];
const root = new Root(
  { version: 1, expires: '2099-01-01T00:00:00Z' },
  { [signer.keyid]: signer.publicKey },
  roles,
  true,
);

/** The timestamp's own version (snapshot.json's is 7). */
const VERSION_8 = /"version": 8(?=[,\n])/;

/** Timestamp version 8 (snapshot version 7), signed, as file text; with an extra field `x`. */
async function signedTimestampText(extra: Record<string, unknown> = {}): Promise<string> {
  const md = new Metadata(
    new Timestamp({ version: 8, expires: '2099-01-01T00:00:00Z', unrecognized: extra }, new MetaFile(7)),
  );
  await md.sign(signer);
  const text = md.toBytes().toString('utf8');
  expect(text).toMatch(VERSION_8);
  return text;
}

describe('numbers in signed metadata must be integers as written', () => {
  it('the genuine spelling parses and verifies', async () => {
    const md = Metadata.fromBytes(Buffer.from(await signedTimestampText()), 'timestamp');
    expect(md.signed.version).toBe(8);
    expect(() => verifyDelegate(root, 'timestamp', md)).not.toThrow();
  });

  // [how the attacker re-spells `"version": 8`, the replacement]
  const spellings: Array<[string, string]> = [
    ['a fraction', '8.0'],
    ['a long zero fraction', '8.000000000000000000000'],
    ['an exponent', '8e0'],
    ['an upper-case exponent', '8E0'],
    ['a signed exponent', '8e+0'],
    ['a negative exponent', '80e-1'],
    ['a fraction and an exponent', '0.8e1'],
    ['a number a hair above 8 that rounds to 8', '8.0000000000000001'],
  ];
  for (const [what, spelling] of spellings) {
    it(`version written with ${what} (${spelling}) is refused`, async () => {
      const text = (await signedTimestampText()).replace(VERSION_8, `"version": ${spelling}`);
      // The attack: the parsed value, and so the signed bytes, equal the genuine ones.
      expect(parseDoc(text).signed.version).toBe(8);
      expect(() => Metadata.fromBytes(Buffer.from(text), 'timestamp')).toThrow(DeserializationError);
      expect(() => Metadata.fromBytes(Buffer.from(text), 'timestamp')).toThrow(`the number "${spelling}"`);
    });
  }

  it('-0 for 0 in an unrecognized field is refused (a second spelling of 0)', async () => {
    const genuine = await signedTimestampText({ x: 0 });
    expect(() => Metadata.fromBytes(Buffer.from(genuine), 'timestamp')).not.toThrow();
    const text = genuine.replace('"x": 0', '"x": -0');
    expect(text).not.toBe(genuine);
    expect(() => Metadata.fromBytes(Buffer.from(text), 'timestamp')).toThrow(DeserializationError);
  });

  it('floats inside arrays and in the envelope are refused too', async () => {
    const genuine = await signedTimestampText({ x: [1, 2] });
    for (const text of [genuine.replace(/(\n\s*)2\n/, '$1 2.0\n'), genuine.replace('{\n', '{\n "y": 1e3,\n')]) {
      expect(text).not.toBe(genuine);
      expect(() => Metadata.fromBytes(Buffer.from(text), 'timestamp')).toThrow(DeserializationError);
    }
  });

  it('numbers inside strings, negative integers and integers beyond 2^53 are not floats', async () => {
    const text = await signedTimestampText({ x: 'a:1.5e3, [2.0, "-0"', y: -12, z: 10, big: 1 });
    const respelled = text.replace('"big": 1', '"big": 1152921504606846976');
    expect(respelled).not.toBe(text);
    expect(() => Metadata.fromBytes(Buffer.from(respelled), 'timestamp')).not.toThrow();
  });
});

describe('findNonIntegerNumber', () => {
  const table: Array<[string, string | undefined]> = [
    ['{"a":1}', undefined],
    ['{"a":-1,"b":[0,10,-20]}', undefined],
    ['{"a":"1.0","b":"\\":1.0","c":"\\\\"}', undefined],
    ['{"a":"x\\\\","b":1.5}', '1.5'],
    ['{"a" : \t\n 1.0}', '1.0'],
    ['[1,2,3e2]', '3e2'],
    ['{"a":-0}', '-0'],
    ['{"a":-0.0}', '-0.0'],
    ['{"a":[-0]}', '-0'],
    ['{"a":"-0"}', undefined],
    ['{"a":0}', undefined],
  ];
  for (const [text, literal] of table) {
    it(`${text} -> ${literal ?? 'none'}`, () => {
      expect(findNonIntegerNumber(text)?.literal).toBe(literal);
    });
  }
});
