/**
 * `repo remove`: yank a release. Its installer targets leave the metadata (their files stay on
 * disk for clients in the middle of a download), and each affected channel index is rebuilt
 * from the installers that remain, so it falls back to the newest remaining release. One
 * transaction (transaction.ts).
 */
import { validateChannel, validateVersion } from '../updater/release/index.js';
import { editRepository, type PublishReport, type TransactionOptions } from './transaction.js';

export interface RemoveReleaseOptions extends TransactionOptions {
  version: string;
  /** Only the release's installers in this channel; default every channel. */
  channel?: string;
}

export interface RemoveReleaseResult {
  version: string;
  removed: Array<{ path: string; role: string }>;
  /** Channel indexes rewritten, with the version each now offers first (undefined: none left). */
  indexes: Array<{ path: string; newest?: string }>;
  publish: PublishReport;
}

export async function removeRelease(options: RemoveReleaseOptions): Promise<RemoveReleaseResult> {
  const version = validateVersion(options.version);
  const channel = options.channel === undefined ? undefined : validateChannel(options.channel);
  const { value, publish } = await editRepository(options, (edit) => edit.removeRelease(version, channel));
  return { version, ...value, publish: publish! };
}
