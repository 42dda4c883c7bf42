import { TufError } from '../../updater/core/errors.js';

/**
 * The one line a CLI prints for a failure: expected errors (TufError, bad arguments, missing
 * files) as `error: <message>` without a stack; anything else the same, with the stack only
 * under --verbose.
 */
export function failureLine(e: unknown, verbose: boolean): string {
  if (e instanceof TufError) return `error: ${e.name}: ${e.message}${verbose && e.cause ? ` (cause: ${e.cause instanceof Error ? e.cause.message : JSON.stringify(e.cause)})` : ''}`;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' && err.path) return `error: no such file: ${err.path}`;
  if (err?.code === 'EACCES' && err.path) return `error: permission denied: ${err.path}`;
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) return `error: ${err.message}`;
  if (verbose && err?.stack) return `error: ${err.stack}`;
  return `error: ${err?.message ?? String(e)}`;
}
