import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalString,
  canonicalStringByEncoder,
  compareCodePoints,
  parseJsonLossless,
  CanonicalizationError,
  type JsonValue,
} from '../../updater/core/canonical.js';
import { DeserializationError } from '../../updater/core/errors.js';
import { VECTORS } from '../helpers/vectors.js';

interface Case {
  name: string;
  input_json: string;
  canonical_b64: string;
  exceeds_js_safe_integer?: boolean;
  canonical_sha256?: string;
}

/** A vectors file: its cases, either bare or under `cases`. */
function vectorCases<T>(file: string): T[] {
  const raw = JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as T[] | { cases: T[] };
  return Array.isArray(raw) ? raw : raw.cases;
}

const cases = vectorCases<Case>('canonical-json.json');
const invalid = vectorCases<{ name: string; input_json: string }>('canonical-json-invalid.json');

describe('canonical JSON matches securesystemslib', () => {
  it('has the reference vectors', () => {
    expect(cases.length).toBeGreaterThanOrEqual(33);
  });
  for (const c of cases) {
    it(c.name, () => {
      const expected = Buffer.from(c.canonical_b64, 'base64');
      const value = c.exceeds_js_safe_integer
        ? parseJsonLossless(c.input_json)
        : (JSON.parse(c.input_json) as JsonValue);
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

describe('the JSON.stringify fast path agrees with the general encoder', () => {
  /** Units that matter to escaping and ordering, besides ordinary letters. */
  const special = [
    '\u0000',
    '\u0001',
    '\b',
    '\t',
    '\n',
    '\f',
    '\r',
    '\u001f',
    '\u007f',
    '"',
    '\\',
    '/',
    '\u2028',
    'é',
    '中',
  ];
  const highUnits = [
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
    '\ud83d\ude00',
    '\u{10000}',
    '\u{10ffff}',
    '\ue000',
    '\uffff',
    '\ufffd',
  ];
  const text = fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...'abcyz_-./09') },
        { weight: 2, arbitrary: fc.constantFrom(...special) },
        { weight: 2, arbitrary: fc.constantFrom(...highUnits) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) },
      ),
      { maxLength: 6 },
    )
    .map((parts) => parts.join(''));
  // Keys JSON.stringify would move to the front (array indexes) and ones that only look like it.
  const indexLike = fc.constantFrom(
    '0',
    '1',
    '9',
    '10',
    '4294967294',
    '4294967295',
    '01',
    '00',
    '-1',
    '1e3',
    '0.5',
    ' 1',
  );
  // Short keys over units where UTF-16 order and code-point order part ways (U+E000..U+FFFF vs
  // surrogate pairs), so sibling keys often first differ exactly there.
  const straddling = fc
    .array(fc.constantFrom('a', '\ue000', '\uffff', '\ud83d\ude00', '\u{10000}'), { minLength: 1, maxLength: 3 })
    .map((parts) => parts.join(''));
  const key = fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 2, arbitrary: straddling },
    { weight: 1, arbitrary: indexLike },
    { weight: 1, arbitrary: fc.nat(5000).map(String) },
  );
  const number = fc.oneof(
    fc.integer(),
    fc.constantFrom(0, -0, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1e21, 0.5, -1.25, Number.MAX_SAFE_INTEGER + 2),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 5 },
      fc.constant(null),
      fc.boolean(),
      number,
      text,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => {
        const obj: Record<string, unknown> = {};
        for (const [k, v] of entries)
          Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
        return obj;
      }),
    ),
  }));

  /** The same value with every object's keys inserted in `order` (TUF metadata is written sorted). */
  function sortedCopy(v: unknown, order: (a: string, b: string) => number): unknown {
    if (Array.isArray(v)) return v.map((x) => sortedCopy(x, order));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(order)) {
      Object.defineProperty(out, k, {
        value: sortedCopy((v as Record<string, unknown>)[k], order),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  const outcome = (f: () => string): string => {
    try {
      return `ok ${f()}`;
    } catch (e) {
      expect(e).toBeInstanceOf(CanonicalizationError);
      return 'refused';
    }
  };

  it('on random JSON: control characters, surrogates, unicode and index-like keys, nesting', () => {
    let viaStringify = 0;
    const utf16 = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    fc.assert(
      fc.property(
        value,
        fc.constantFrom('as generated', 'code point order', 'UTF-16 order'),
        (generated, arrangement) => {
          const v =
            arrangement === 'as generated'
              ? generated
              : sortedCopy(generated, arrangement === 'code point order' ? compareCodePoints : utf16);
          const fast = outcome(() => canonicalString(v));
          expect(fast).toBe(outcome(() => canonicalStringByEncoder(v)));
          if (fast === `ok ${JSON.stringify(v)}`) viaStringify++;
        },
      ),
      { numRuns: 3000 },
    );
    // The property covered the fast path, not only its fallbacks.
    expect(viaStringify).toBeGreaterThan(300);
  });

  it('on the orderings UTF-16 and code points disagree about', () => {
    for (const keys of [
      ['\uffff', '\u{10000}'],
      ['\ue000', '\ud800\udc00'],
      ['a\uffff', 'a\u{10000}', 'b'],
    ]) {
      for (const order of [keys, [...keys].reverse()]) {
        const v: Record<string, unknown> = {};
        for (const k of order) v[k] = { [k]: 1 };
        expect(canonicalString(v)).toBe(canonicalStringByEncoder(v));
        expect(canonicalString({ x: [v] })).toBe(canonicalStringByEncoder({ x: [v] }));
      }
    }
  });
});
