/**
 * OLPC canonical JSON exactly as securesystemslib's `encode_canonical` writes it, which is what
 * TUF signs: object keys sorted by Unicode code point, no whitespace, strings escape only `\`
 * and `"` (control characters are written raw), integers only, UTF-8 output.
 * The npm `canonicalize` package (RFC 8785) differs on both escaping and key order; see
 * docs/architecture.md, "Canonical JSON".
 */
import { DeserializationError } from './errors.js';

/**
 * A number written with a fraction or exponent (`1.0`, `1e2`). JSON.parse turns `1.0` into the
 * integer 1; the lossless parser keeps the literal so canonicalization refuses it as Python does.
 */
export class JsonFloat {
  constructor(readonly literal: string) {}
}

/** A JSON value as our parsers produce it: integers beyond 2^53 arrive as bigint (parseJsonLossless). */
export type JsonValue =
  null | boolean | number | bigint | string | JsonFloat | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalizationError extends DeserializationError {
  override name = 'CanonicalizationError';
}

/**
 * Compares two strings by Unicode code point. JS `<` compares UTF-16 units, which puts
 * U+10000.. (surrogates 0xD800..) before U+E000..U+FFFF; remapping the first differing unit
 * fixes that in O(1).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

function encodeString(s: string): string {
  if (!s.isWellFormed()) throw new CanonicalizationError('string contains a lone surrogate');
  // Only backslash and double quote are escaped; everything else is raw.
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

const NEEDS_CODEPOINT_SORT = /[\ud800-\uffff]/;

function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  // Plain sort is code-point order unless some key has a unit >= 0xD800.
  if (keys.some((k) => NEEDS_CODEPOINT_SORT.test(k))) return keys.sort(compareCodePoints);
  return keys.sort();
}

function encode(value: unknown, out: string[], depth: number): void {
  if (depth > 512) throw new CanonicalizationError('nesting too deep');
  if (value === null) {
    out.push('null');
  } else if (value === true) {
    out.push('true');
  } else if (value === false) {
    out.push('false');
  } else if (typeof value === 'string') {
    out.push(encodeString(value));
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new CanonicalizationError(
        Number.isInteger(value) ? `integer ${value} is beyond 2^53; parse losslessly` : `non-integer number ${value}`,
      );
    }
    out.push(Object.is(value, -0) ? '0' : String(value));
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (value instanceof JsonFloat) {
    throw new CanonicalizationError(`non-integer number ${value.literal}`);
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      encode(value[i], out, depth + 1);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    for (const k of sortedKeys(value)) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(encodeString(k), ':');
      encode(v, out, depth + 1);
    }
    out.push('}');
  } else {
    throw new CanonicalizationError(`cannot canonicalize a value of type ${typeof value}`);
  }
}

/** A key JSON.stringify would emit before all others (an array index: 0 .. 2^32 - 2). */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;
/**
 * An escape JSON.stringify writes and canonical JSON does not: control characters and lone
 * surrogates. It may also match an escaped backslash followed by one of these letters; that
 * only sends such a document down the general path.
 */
const NON_CANONICAL_ESCAPE = /\\[bfnrtu]/;

/**
 * True when JSON.stringify(value) has the canonical structure: plain objects and arrays whose
 * keys are already in order (TUF metadata is written sorted), no array-index keys
 * (JSON.stringify emits those first), safe integers only. Strings are checked on the output
 * (NON_CANONICAL_ESCAPE): besides control characters and lone surrogates, JSON.stringify
 * escapes exactly what canonical JSON escapes, `"` and `\\`.
 *
 * Key order: JS `<` compares UTF-16 units, which is code-point order unless, where two keys
 * first differ, one unit is a surrogate and the other is U+E000..U+FFFF. So the first pass
 * (`byCodePoint` false) uses native `<`, exact for a document whose JSON has no unit >= U+D800
 * (NEEDS_CODEPOINT_SORT, checked on the output); otherwise stringifyIfCanonical checks again
 * with compareCodePoints. This runs over every value of every metadata file, mostly in a cold
 * process (interpreted): it is written to do little per value (no call per key or per string).
 */
function hasStringifyStructure(value: unknown, depth: number, byCodePoint: boolean): boolean {
  if (typeof value !== 'object') return isStringifyLeaf(value);
  if (value === null) return true;
  if (depth >= 512) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'string') continue;
      if (!hasStringifyStructure(item, depth + 1, byCodePoint)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (i > 0 && !(byCodePoint ? compareCodePoints(keys[i - 1], key) < 0 : keys[i - 1] < key)) return false;
    const first = key.charCodeAt(0);
    if (first >= 0x30 && first <= 0x39 && isArrayIndex(key)) return false;
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item === 'string') continue;
    if (!hasStringifyStructure(item, depth + 1, byCodePoint)) return false;
  }
  return true;
}

/** Strings, booleans and safe integers; undefined, bigint, functions, symbols: `encode` decides. */
function isStringifyLeaf(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  );
}

/** `key` starts with a digit: is it an array index? */
function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;
}

/** JSON.stringify(value) when that is the canonical form (several times faster than `encode`). */
function stringifyIfCanonical(value: unknown): string | undefined {
  if (!hasStringifyStructure(value, 0, false)) return undefined;
  const json = JSON.stringify(value);
  // indexOf first: native and fast, where a regex's first run over a large document is
  // interpreted (~1.3 ms cold for 1,000 targets); most metadata holds no backslash at all.
  if (json.includes('\\') && NON_CANONICAL_ESCAPE.test(json)) return undefined;
  // Keys with units >= U+D800 somewhere: check their order again, by code point.
  if (NEEDS_CODEPOINT_SORT.test(json) && !hasStringifyStructure(value, 0, true)) return undefined;
  return json;
}

/** Canonical JSON of `value` as a string. */
export function canonicalString(value: unknown): string {
  return stringifyIfCanonical(value) ?? canonicalStringByEncoder(value);
}

/**
 * Canonical JSON by the general encoder alone, without the JSON.stringify fast path: the
 * reference the fast path must always agree with (tests compare the two).
 */
export function canonicalStringByEncoder(value: unknown): string {
  const out: string[] = [];
  encode(value, out, 0);
  return out.join('');
}

/** Canonical JSON of `value` as UTF-8 bytes: what TUF signatures cover. */
export function canonicalize(value: unknown): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

/**
 * A JSON parser that keeps integers beyond 2^53 exact (as bigint) and rejects duplicate keys
 * and excessive nesting. JSON.parse is used first for speed (see metadata.ts); this is the
 * fallback for the rare document that holds such integers.
 */
export function parseJsonLossless(text: string, maxDepth = 512): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new DeserializationError(`invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    // Delegate escapes to JSON.parse on the exact literal: same semantics, no reimplementation.
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i += 2;
      else if (c === 0x22) break;
      else i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('bad string literal');
    }
  };
  const num = (): number | bigint | JsonFloat => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('bad number');
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return new JsonFloat(m[0]);
  };
  const value = (depth: number): JsonValue => {
    if (depth > maxDepth) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      // defineProperty, not assignment: a "__proto__" key must stay an own data property.
      const obj: Record<string, JsonValue> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) fail(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i++] !== ':') fail('expected ":"');
        Object.defineProperty(obj, k, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        const d = text[i++];
        if (d === '}') break;
        if (d !== ',') fail('expected "," or "}"');
      }
      return obj;
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === ']') break;
        if (d !== ',') fail('expected "," or "]"');
      }
      return arr;
    }
    if (c === '"') return str();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    return fail('unexpected character');
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing data');
  return result;
}
