/**
 * The TUF metadata envelope (spec 4.2): `{signed, signatures}` around the roles of signed.ts
 * (re-exported here, so `metadata.js` stays the one import for the model). `Metadata.signedBytes`
 * is the canonical form of the `signed` object exactly as received, which is what signatures
 * are checked over (docs/architecture.md, "Verify what was received").
 */
import { canonicalize, CanonicalizationError, parseJsonLossless } from './canonical.js';
import { DeserializationError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { defineField, FieldReader, isPlainObject, type JsonObject } from './fields.js';
import { findNonIntegerNumber } from './json-numbers.js';
import type { Signer } from './keys.js';
import { SIGNED_CLASSES, type AnySigned, type SignedClass } from './signed.js';
import type { TopLevelRole } from './roles.js';

export * from './signed.js';

export interface Signature {
  keyid: string;
  sig: string;
  [unrecognized: string]: unknown;
}

function parseSignatures(value: unknown): Map<string, Signature> {
  if (!Array.isArray(value)) throw new DeserializationError('signatures: expected an array');
  const out = new Map<string, Signature>();
  value.forEach((s, i) => {
    const r = FieldReader.of(s, `signatures[${i}]`);
    const keyid = r.string('keyid');
    r.string('sig');
    if (out.has(keyid)) throw new DeserializationError(`signatures: more than one signature by key ${keyid}`);
    out.set(keyid, s as Signature);
  });
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseDocument(bytes: Uint8Array): { doc: unknown; text: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new DeserializationError('metadata is not valid UTF-8', { cause });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DeserializationError(`metadata is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  // Canonical JSON has integers only; JSON.parse would have made `8.0` the 8 that was signed.
  const float = findNonIntegerNumber(text);
  if (float) {
    const shown = JSON.stringify(float.literal.slice(0, 40));
    throw new DeserializationError(
      `metadata: the number ${shown} at offset ${float.offset} is not an integer as written; TUF metadata holds integers only`,
    );
  }
  return { doc, text };
}

/** Canonical bytes of a received `signed` object; re-parses losslessly when JSON.parse lost precision. */
function canonicalSignedBytes(signed: unknown, text: string): Buffer {
  try {
    return canonicalize(signed);
  } catch (e) {
    if (!(e instanceof CanonicalizationError)) throw e;
    const lossless = parseJsonLossless(text) as JsonObject;
    return canonicalize(lossless.signed);
  }
}

/** The signed envelope (spec 4.2): `{signed, signatures}`. */
export class Metadata<T extends AnySigned = AnySigned> {
  /**
   * @param receivedSignedBytes canonical bytes of `signed` as parsed; only `fromBytes` sets
   *   it, and then `signed` is deep-frozen (freeze.ts: its objects, arrays and Maps, whose
   *   set/delete/clear throw), so the bytes and the model cannot drift apart. `signatures` is
   *   not part of the signed bytes and stays mutable.
   */
  constructor(
    readonly signed: T,
    readonly signatures: Map<string, Signature> = new Map(),
    readonly unrecognized: JsonObject = {},
    private readonly receivedSignedBytes?: Buffer,
  ) {}

  /**
   * Parses metadata bytes from the network or disk. Checks structure and types only;
   * signatures are checked by the caller (client/trusted-metadata-set.ts, verify.ts).
   */
  static fromBytes<R extends TopLevelRole>(
    bytes: Uint8Array,
    expectedType: R,
  ): Metadata<Extract<AnySigned, { type: R }>>;
  static fromBytes(bytes: Uint8Array, expectedType?: TopLevelRole): Metadata;
  static fromBytes(bytes: Uint8Array, expectedType?: TopLevelRole): Metadata {
    const { doc, text } = parseDocument(bytes);
    const r = FieldReader.of(doc, 'metadata');
    const signedValue = r.object('signed');
    const type = signedValue._type;
    if (typeof type !== 'string' || !Object.hasOwn(SIGNED_CLASSES, type)) {
      // Describe, never echo: a hostile _type may be huge or deeply nested.
      const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : `of type ${typeof type}`;
      throw new DeserializationError(`unknown metadata _type ${shown}`);
    }
    if (expectedType && type !== expectedType) {
      throw new DeserializationError(`expected ${expectedType} metadata, got ${type}`);
    }
    const signed = SIGNED_CLASSES[type as TopLevelRole].fromJSON(signedValue);
    const signatures = parseSignatures(r.raw('signatures'));
    deepFreeze(signed);
    return new Metadata(signed, signatures, r.unrecognized(), canonicalSignedBytes(signedValue, text));
  }

  /** The bytes signatures cover: canonical JSON of `signed` as received, or of the model. */
  get signedBytes(): Buffer {
    return this.receivedSignedBytes ?? canonicalize(this.signed.toJSON());
  }

  /** A mutable deep copy without signatures, for publishing a new version. */
  editable(): Metadata<T> {
    const cls = SIGNED_CLASSES[this.signed.type] as unknown as SignedClass<T>;
    return new Metadata(cls.fromJSON(this.signed.toJSON()), new Map(), { ...this.unrecognized });
  }

  /** Adds (or, with `replace`, sets the only) signature by `signer` over the current model. */
  async sign(signer: Signer, replace = false): Promise<Signature> {
    const sig: Signature = { keyid: signer.keyid, sig: await signer.sign(this.signedBytes) };
    if (replace) this.signatures.clear();
    this.signatures.set(signer.keyid, sig);
    return sig;
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      signatures: [...this.signatures.values()],
      signed: this.signed.toJSON(),
    };
  }

  /** File bytes: JSON with sorted keys, indented like python-tuf's default serializer. */
  toBytes(indent = 1): Buffer {
    return Buffer.from(JSON.stringify(sortKeysDeep(this.toJSON()), null, indent) + (indent ? '\n' : ''), 'utf8');
  }
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const k of Object.keys(value).sort()) defineField(out, k, sortKeysDeep(value[k]));
  return out;
}
