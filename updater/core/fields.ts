/**
 * Typed reading of untrusted JSON objects. Every metadata field passes through here, so every
 * type and range check lives in one place, and whatever a reader did not consume is kept as
 * `unrecognized` (the spec lets repositories add fields; they are signed and must survive).
 */
import { DeserializationError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FieldReader {
  private readonly consumed = new Set<string>();

  private constructor(
    private readonly obj: JsonObject,
    readonly where: string,
  ) {}

  /** Starts reading `value`, which must be a JSON object. */
  static of(value: unknown, where: string): FieldReader {
    if (!isPlainObject(value)) throw new DeserializationError(`${where}: expected an object`);
    return new FieldReader(value, where);
  }

  fail(field: string, expected: string): never {
    throw new DeserializationError(`${this.where}.${field}: expected ${expected}`);
  }

  has(field: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.obj, field);
  }

  raw(field: string): unknown {
    this.consumed.add(field);
    return this.has(field) ? this.obj[field] : undefined;
  }

  string(field: string): string {
    const v = this.raw(field);
    return typeof v === 'string' ? v : this.fail(field, 'a string');
  }

  optionalString(field: string): string | undefined {
    return this.has(field) ? this.string(field) : undefined;
  }

  /** A non-negative safe integer at least `min`. */
  integer(field: string, min = 0): number {
    const v = this.raw(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.fail(field, `an integer >= ${min}`);
    }
    return v;
  }

  optionalInteger(field: string, min = 0): number | undefined {
    return this.has(field) ? this.integer(field, min) : undefined;
  }

  boolean(field: string): boolean {
    const v = this.raw(field);
    return typeof v === 'boolean' ? v : this.fail(field, 'a boolean');
  }

  optionalBoolean(field: string): boolean | undefined {
    return this.has(field) ? this.boolean(field) : undefined;
  }

  object(field: string): JsonObject {
    const v = this.raw(field);
    return isPlainObject(v) ? v : this.fail(field, 'an object');
  }

  optionalObject(field: string): JsonObject | undefined {
    return this.has(field) ? this.object(field) : undefined;
  }

  array(field: string): unknown[] {
    const v = this.raw(field);
    return Array.isArray(v) ? v : this.fail(field, 'an array');
  }

  stringArray(field: string, { unique = false } = {}): string[] {
    const arr = this.array(field);
    if (!arr.every((s) => typeof s === 'string')) this.fail(field, 'an array of strings');
    if (unique && new Set(arr).size !== arr.length) this.fail(field, 'no duplicates');
    return arr;
  }

  /** The fields no reader asked for, as they were. */
  unrecognized(): JsonObject {
    const rest: JsonObject = {};
    for (const k of Object.keys(this.obj)) {
      if (!this.consumed.has(k)) defineField(rest, k, this.obj[k]);
    }
    return rest;
  }
}

/** Sets a field even when it is named `__proto__`. */
export function defineField(target: JsonObject, key: string, value: unknown): void {
  // Assignment is several times faster (100,000 targets pass here). Only a key Object.prototype
  // also has (`__proto__`, `toString`, ...) could hit a setter or a frozen prototype that way.
  if (key in Object.prototype) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Object.entries, with each value checked to be a string. */
export function stringRecord(value: JsonObject, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (typeof v !== 'string') throw new DeserializationError(`${where}.${k}: expected a string`);
    defineField(out, k, v);
  }
  return out;
}
