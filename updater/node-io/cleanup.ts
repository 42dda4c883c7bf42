/**
 * Cleanup that never hides what an operation did. A `finally` that throws replaces the outcome
 * under way: a failed publish would be reported as, say, a file that could not be removed, and
 * a committed one as failed (a service worker would then mark published changes as failed).
 * Here the operation's own outcome always wins, and a cleanup failure is reported beside it as a
 * process warning (`ElectronTufCleanupWarning`) that says which outcome it followed.
 */

import { unlink } from 'node:fs/promises';
import { StorageError } from '../core/errors.js';
import { describeError, errorCode } from './error-code.js';

/** Runs `work`, then `cleanup` whatever happened; see the module comment for which error is thrown. */
export async function cleanupAfter<T>(work: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  let value: T;
  try {
    value = await work();
  } catch (error) {
    await cleanupAfterFailure(error, cleanup);
    throw error;
  }
  try {
    await cleanup();
  } catch (error) {
    warnCleanupFailure(error, 'cleaning up after the operation had completed');
  }
  return value;
}

/**
 * For code already failing with `failure` (a catch block): runs `cleanup`, and reports a failure
 * of it as a process warning (`ElectronTufCleanupWarning`: on stderr unless the process listens
 * for 'warning') instead of throwing it in the place of `failure`.
 */
export async function cleanupAfterFailure(failure: unknown, cleanup: () => Promise<void>): Promise<void> {
  try {
    await cleanup();
  } catch (error) {
    warnCleanupFailure(error, `cleaning up after: ${describeError(failure)}`);
  }
}

/** Removes a file; one that is already gone (ENOENT) is fine, any other failure is a StorageError. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT')
      throw new StorageError(`cannot remove ${path}: ${describeError(error)}`, { cause: error });
  }
}

/**
 * For housekeeping that goes on after a failed removal (leftovers of killed processes): reports
 * `error` as a process warning (`ElectronTufCleanupWarning`) saying what it was doing.
 */
export function warnCleanupFailure(error: unknown, doing: string): void {
  process.emitWarning(`${describeError(error)} (while ${doing})`, { type: 'ElectronTufCleanupWarning' });
}
