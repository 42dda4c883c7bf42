/**
 * The publisher's own last trusted state: what it last published (root, timestamp and
 * snapshot: version and sha256 of the file), kept outside the served tree. The storage the
 * repository is synced from may be written by someone without keys; this record is how the
 * publisher, like a client with its local metadata (5.4.3, 5.5.5), notices a version that went
 * down or a file replaced under the same version, instead of signing on top of it.
 *
 * A publish first records what it is about to write (`pending`: the versioned file names and
 * the state once its timestamp is out), then writes, then records the new state. A publish
 * killed in between leaves files no published timestamp names; the next one may replace exactly
 * those (and only when the published timestamp is not the pending one), where any other
 * existing versioned file with other bytes is refused.
 *
 * Where it lives: `ELECTRON_TUF_STATE_FILE`, or the `stateFile` option, or
 * `<repo>/electron-tuf.state.json` (beside the settings, not under metadata/ or targets/, so
 * the documented upload commands never publish it). Without the file (a fresh checkout) the
 * publisher trusts what verifies from the root chain, as a freshly installed app does.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StorageError } from '../updater/core/errors.js';
import { FieldReader } from '../updater/core/fields.js';
import { readFileBounded, writeFileAtomic } from '../updater/node-io/index.js';
import type { RepositoryPaths } from './layout.js';

export const STATE_FILE_ENV = 'ELECTRON_TUF_STATE_FILE';
const STATE_FORMAT = 1;
/** Room for a pending list naming every one of 16,384 bins. */
export const MAX_STATE_BYTES = 4 * 1024 * 1024;

/** One published file: its version and the sha256 of its bytes. */
export interface FileRecord {
  version: number;
  sha256: string;
}

export interface PublishedState {
  root: FileRecord;
  timestamp: FileRecord;
  snapshot: FileRecord;
}

export interface TrustedState extends PublishedState {
  /** A publish under way (or killed): the files it writes and the state once it is done. */
  pending?: { files: string[]; after: PublishedState };
}

/**
 * The state to check the repository against, given the sha256 of the published timestamp.json:
 * an interrupted publish whose timestamp is out counts as done; otherwise its files are leftovers
 * nobody was shown, which the next publish may replace.
 */
export function settlePending(
  recorded: TrustedState | undefined,
  timestampSha256: string,
): { trusted?: PublishedState; replaceable: ReadonlySet<string> } {
  if (!recorded) return { replaceable: new Set() };
  const { pending, ...published } = recorded;
  if (!pending) return { trusted: published, replaceable: new Set() };
  if (pending.after.timestamp.sha256 === timestampSha256) return { trusted: pending.after, replaceable: new Set() };
  return { trusted: published, replaceable: new Set(pending.files) };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The state file for a repository: the option, else the environment, else beside the settings. */
export function stateFilePath(
  paths: RepositoryPaths,
  options: { stateFile?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const fromEnv = (options.env ?? process.env)[STATE_FILE_ENV];
  return options.stateFile ?? (fromEnv ? fromEnv : join(paths.root, 'electron-tuf.state.json'));
}

function readRecord(r: FieldReader, name: string): FileRecord {
  const sub = FieldReader.of(r.object(name), `${r.where}.${name}`);
  const sha256 = sub.string('sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256)) sub.fail('sha256', 'a sha256 hex digest');
  return { version: sub.integer('version', 1), sha256 };
}

function readPublished(r: FieldReader): PublishedState {
  return { root: readRecord(r, 'root'), timestamp: readRecord(r, 'timestamp'), snapshot: readRecord(r, 'snapshot') };
}

/**
 * Where the record is kept: a file by default (beside the settings), or, for a service whose
 * workers share no disk, a database row; either way read and written whole.
 */
export interface TrustedStateStore {
  /** For messages. */
  readonly where: string;
  /** The recorded state, or undefined when there is none yet; StorageError when it is unreadable. */
  read(): Promise<TrustedState | undefined>;
  write(state: TrustedState): Promise<void>;
}

/** The record as a file (atomic writes). */
export function fileStateStore(file: string): TrustedStateStore {
  return { where: file, read: () => readTrustedState(file), write: (state) => writeTrustedState(file, state) };
}

/** Parses a record's bytes (as written by serializeTrustedState); StorageError naming `where` when invalid. */
export function parseTrustedState(bytes: Uint8Array, where: string): TrustedState {
  try {
    const r = FieldReader.of(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)), where);
    if (r.integer('format') !== STATE_FORMAT) r.fail('format', String(STATE_FORMAT));
    const state: TrustedState = readPublished(r);
    if (r.has('pending')) {
      const p = FieldReader.of(r.object('pending'), `${where}.pending`);
      state.pending = {
        files: p.stringArray('files'),
        after: readPublished(FieldReader.of(p.object('after'), `${where}.pending.after`)),
      };
    }
    return state;
  } catch (e) {
    throw new StorageError(
      `${where}: ${(e as Error).message} (the publisher's record of what it last published; see docs/publishing.md)`,
      { cause: e },
    );
  }
}

export function serializeTrustedState(state: TrustedState): string {
  return JSON.stringify({ format: STATE_FORMAT, ...state }, null, 2) + '\n';
}

/** The recorded state, or undefined when there is none yet; StorageError when it is unreadable. */
export async function readTrustedState(file: string): Promise<TrustedState | undefined> {
  const bytes = await readFileBounded(file, MAX_STATE_BYTES);
  return bytes ? parseTrustedState(bytes, file) : undefined;
}

export async function writeTrustedState(file: string, state: TrustedState): Promise<void> {
  await writeFileAtomic(file, serializeTrustedState(state), { mode: 0o644 });
}
