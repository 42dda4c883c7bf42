/** What Node's system errors carry, read without trusting the thrown value's shape. */

/** The `code` of a Node system error (ENOENT, EEXIST, ...), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Codes of a path that names nothing (a file gone, a component not a directory, a dangling or looping link). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/** True if `error` says the path names no file: an answer about the path, not a failure of the disk. */
export function isAbsent(error: unknown): boolean {
  return ABSENT.has(errorCode(error) ?? '');
}

/** The message of an error, or the thrown value as text. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * True if `error`, or the error it wraps, is a failed system call (EACCES, EIO, ...): the disk
 * failed us. False for refusals of the content itself (readFileBounded's "too large", "not a
 * regular file"), which carry no system error code.
 */
export function isSystemFailure(error: unknown): boolean {
  return errorCode(error) !== undefined || errorCode((error as { cause?: unknown } | null)?.cause) !== undefined;
}
