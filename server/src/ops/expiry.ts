/**
 * When each repository's published timestamp.json expires: the one date that, once past, stops
 * every app from updating (the scheduler's refresh must keep it ahead). Read from the storage
 * clients read, by name (no listing). The file is parsed, not verified: this is a gauge for
 * alerting, and the publisher verifies everything before it builds on it.
 */
import { Metadata } from 'electron-tuf/core';
import type { Repositories } from '../repositories.js';
import type { Logger } from './log.js';

/** timestamp.json is a few hundred bytes; anything larger is not ours to parse. */
const MAX_TIMESTAMP_BYTES = 64 * 1024;

export async function timestampExpiries(
  repositories: Repositories,
  log: Logger,
): Promise<Array<{ repository: string; expiresAt: number }>> {
  const out: Array<{ repository: string; expiresAt: number }> = [];
  for (const repository of await repositories.list()) {
    try {
      const bytes = await (
        await repositories.storageOf(repository)
      ).readMetadata('timestamp.json', MAX_TIMESTAMP_BYTES);
      if (!bytes) continue;
      out.push({ repository, expiresAt: Metadata.fromBytes(bytes, 'timestamp').signed.expiresAt });
    } catch (e) {
      // One unreadable repository must not hide the others' expiry (their series stay).
      log.warn({ err: e, repository }, 'cannot read timestamp.json for the expiry gauge');
    }
  }
  return out;
}
