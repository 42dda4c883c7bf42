import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'server/test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Byte arrays compared in one call, not key by key (seconds per MiB): test/helpers/bytes-equality.ts.
    setupFiles: ['test/helpers/bytes-equality.ts'],
    // Builds and services first, so no fork ends the run alone on one (test/helpers/sequencer.ts).
    sequence: { sequencer: SlowFirstSequencer },
    // Sized for a 2-core machine also running another suite: a test that needs this long is hung,
    // not slow. Tests that spawn builds or the demo set their own, larger limits.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: keep worker count small so process-heavy tests do not starve.
    pool: 'forks',
    // Concurrent tests (describe.concurrent) wait on servers, not on the CPU: all of a file's at once.
    maxConcurrency: 16,
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
