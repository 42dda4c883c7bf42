/**
 * Strict text and JSON from bytes read off disk or the network. Strict UTF-8 (a malformed
 * byte sequence is an error, not U+FFFD): two readers of the same bytes must never disagree
 * about what they say. TUF metadata is parsed in core (metadata.ts), with its own rules.
 */
import { DeserializationError } from '../core/errors.js';
import { describeError } from './error-code.js';

/** The error a caller wants for unreadable bytes (it decides whose fault they are). */
export type ParseErrorClass = new (message: string, options?: { cause?: unknown }) => Error;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `bytes` as UTF-8 text; `ErrorClass` (default DeserializationError) naming `what` if they are
 * not UTF-8. A leading byte order mark is skipped (as editors on Windows write one).
 */
export function decodeUtf8Strict(
  bytes: Uint8Array,
  what: string,
  ErrorClass: ParseErrorClass = DeserializationError,
): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new ErrorClass(`${what} is not UTF-8 text`, { cause: error });
  }
}

/**
 * The JSON value in `bytes` (strict UTF-8, then JSON.parse); `ErrorClass` (default
 * DeserializationError) naming `what` otherwise. The value's shape is the caller's to check.
 */
export function parseJsonBytes(
  bytes: Uint8Array,
  what: string,
  ErrorClass: ParseErrorClass = DeserializationError,
): unknown {
  const text = decodeUtf8Strict(bytes, what, ErrorClass);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ErrorClass(`${what} is not valid JSON: ${describeError(error)}`, { cause: error });
  }
}
