import { TufError } from '../../updater/core/errors.js';

/**
 * The one line a CLI prints for a failure: expected errors (TufError, bad arguments, missing
 * files) as `error: <message>` without a stack; anything else the same, with the stack only
 * under --verbose.
 */
export function failureLine(e: unknown, verbose: boolean): string {
  return `error: ${failureMessage(e, verbose)}`;
}

/** With --json: the failure as one JSON line, `{"error":{"name":...,"message":...}}`. */
export function failureJson(e: unknown): string {
  const name = e instanceof Error ? e.name : 'Error';
  return JSON.stringify({ error: { name, message: failureMessage(e, false) } });
}

function failureMessage(e: unknown, verbose: boolean): string {
  // The class name is for programs (--json); a person reads the message.
  if (e instanceof TufError)
    return `${e.message}${verbose && e.cause ? ` (cause: ${e.cause instanceof Error ? e.cause.message : JSON.stringify(e.cause)})` : ''}`;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' && err.path) return `no such file: ${err.path}`;
  if (err?.code === 'EACCES' && err.path) return `permission denied: ${err.path}`;
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) return err.message;
  if (verbose && err?.stack) return err.stack;
  return err?.message ?? String(e);
}
