/**
 * Cleanup that never hides what an operation did: see updater/node-io/cleanup.ts, where it lives
 * so the client and the app updater report their cleanup failures the same way.
 */
export { cleanupAfter, cleanupAfterFailure } from '../updater/node-io/cleanup.js';
