import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize, compareCodePoints, parseJsonLossless, CanonicalizationError } from '../../updater/core/canonical.js';
import { DeserializationError } from '../../updater/core/errors.js';
import { VECTORS } from '../helpers/vectors.js';

interface Case {
  name: string;
  input_json: string;
  canonical_b64: string;
  exceeds_js_safe_integer?: boolean;
  canonical_sha256?: string;
}

const cases: Case[] = JSON.parse(readFileSync(join(VECTORS, 'canonical-json.json'), 'utf8')).cases ?? JSON.parse(readFileSync(join(VECTORS, 'canonical-json.json'), 'utf8'));
const invalid: Array<{ name: string; input_json: string }> = (() => {
  const raw = JSON.parse(readFileSync(join(VECTORS, 'canonical-json-invalid.json'), 'utf8'));
  return raw.cases ?? raw;
})();

describe('canonical JSON matches securesystemslib', () => {
  it('has the reference vectors', () => {
    expect(cases.length).toBeGreaterThanOrEqual(33);
  });
  for (const c of cases) {
    it(c.name, () => {
      const expected = Buffer.from(c.canonical_b64, 'base64');
      const value = c.exceeds_js_safe_integer ? parseJsonLossless(c.input_json) : JSON.parse(c.input_json);
      const actual = canonicalize(value);
      expect(actual.toString('hex')).toBe(expected.toString('hex'));
      if (c.canonical_sha256) expect(createHash('sha256').update(actual).digest('hex')).toBe(c.canonical_sha256);
      // The lossless parser agrees with JSON.parse on every case.
      expect(canonicalize(parseJsonLossless(c.input_json)).equals(expected)).toBe(true);
    });
  }
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      const value = parseJsonLossless(c.input_json);
      expect(() => canonicalize(value)).toThrow(CanonicalizationError);
    });
  }
});

describe('compareCodePoints', () => {
  it('orders astral characters after U+FFFF', () => {
    expect(compareCodePoints('\uffff', '\u{10000}')).toBeLessThan(0);
    expect(compareCodePoints('\u{10000}', '\uffff')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('b', 'b')).toBe(0);
  });
});

describe('parseJsonLossless', () => {
  it('keeps huge integers exact', () => {
    expect(parseJsonLossless('{"a":123456789012345678901234567890}')).toEqual({ a: 123456789012345678901234567890n });
  });
  it('refuses duplicate keys, trailing data and deep nesting', () => {
    expect(() => parseJsonLossless('{"a":1,"a":2}')).toThrow(DeserializationError);
    expect(() => parseJsonLossless('{} x')).toThrow(DeserializationError);
    expect(() => parseJsonLossless('['.repeat(600) + ']'.repeat(600))).toThrow(DeserializationError);
  });
  it('keeps a __proto__ key as data', () => {
    const v = parseJsonLossless('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});
