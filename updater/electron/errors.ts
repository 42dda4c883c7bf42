/**
 * Errors of the app updater that are not about TUF metadata. They belong to the one error
 * hierarchy (updater/core/errors.ts): subclasses of TufError, re-exported from the package
 * entry point, so callers branch on `instanceof TufError` or `name` as for any other.
 */
import { LengthOrHashMismatchError, TufError } from '../core/errors.js';

/** An app update could not be installed: an installer process failed, or a swap was rolled back. */
export class InstallError extends TufError {
  override name = 'InstallError';
}

/** A chunk of a differential download differs from its hash in the signed chunk map. */
export class ChunkMismatchError extends LengthOrHashMismatchError {
  override name = 'ChunkMismatchError';
}
