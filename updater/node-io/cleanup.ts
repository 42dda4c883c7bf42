/**
 * Cleanup that never hides what an operation did. A `finally` that throws replaces the outcome
 * under way: a failed publish would be reported as, say, a file that could not be removed, and
 * a committed one as failed (a service worker would then mark published changes as failed).
 * Here the operation's own outcome always wins, and a cleanup failure is reported beside it as a
 * process warning (`ElectronTufCleanupWarning`) that says which outcome it followed.
 */

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
    process.emitWarning(`${messageOf(error)} (while cleaning up after the operation had completed)`, {
      type: 'ElectronTufCleanupWarning',
    });
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
    process.emitWarning(`${messageOf(error)} (while cleaning up after: ${messageOf(failure)})`, {
      type: 'ElectronTufCleanupWarning',
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
