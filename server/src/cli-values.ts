/** Checks of the server CLI's flags: a usage error (ValueError) names the flag. */
import { ValueError } from 'electron-tuf/core';
// Types only: cli.ts imports this module, and cli-gc.ts (loaded by cli.ts with import() while
// cli.ts's top-level await is pending) must not import cli.ts back, or neither finishes loading.
import type { ServerValues } from './cli.js';
import { STORAGE_ENV } from './storage/env.js';

export function portOf(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n > 65535) throw new ValueError(`--${name} must be a port number, got ${v}`);
  return n;
}

export function wholeNumber(v: string | undefined, name: string, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d{1,9}$/.test(v) || n < min) throw new ValueError(`--${name} must be a whole number >= ${min}, got ${v}`);
  return n;
}

/** `--storage` or ELECTRON_TUF_STORAGE: undefined (disk under --data) or `s3://bucket/prefix`. */
export function storageOf(values: ServerValues): string | undefined {
  const storage = values.storage ?? (process.env[STORAGE_ENV] || undefined);
  if (storage?.startsWith('s3://') && values.serve)
    throw new ValueError(
      '--serve serves repositories from disk; with --storage s3://... clients read the bucket (or a CDN)',
    );
  return storage;
}
