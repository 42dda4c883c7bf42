/** The readiness checks of the service's dependencies (health.ts). */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Db } from '../db.js';
import type { ReadinessCheck } from './health.js';

export function databaseCheck(db: Db): ReadinessCheck {
  return { name: 'database', check: async () => void (await db.query('SELECT 1')) };
}

/** A BullMQ queue answers a read (its Redis connection works and holds the queue). */
export function queueCheck(queue: { getJobCounts(...states: string[]): Promise<unknown> }): ReadinessCheck {
  return { name: 'queue', check: async () => void (await queue.getJobCounts('waiting')) };
}

/** The data directory (repositories and uploads on disk) can be read and written. */
export function diskStorageCheck(dataDir: string): ReadinessCheck {
  return { name: 'storage', check: () => access(dataDir, constants.R_OK | constants.W_OK) };
}

/** The service's storage answers: its data directory, or its bucket. */
export function storageCheck(storage: { check(): Promise<void> }): ReadinessCheck {
  return { name: 'storage', check: () => storage.check() };
}
