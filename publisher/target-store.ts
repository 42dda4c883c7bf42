/**
 * Target files on disk. An installer is hashed (sha256 and sha512) and copied in one streaming
 * pass into `<repo>/.incoming/` (it may be 200 MiB: never held in memory), outside the
 * repository lock; under the lock it is renamed to `targets/<dir>/<sha256>.<name>` and hard-linked
 * (or copied) as `<sha512>.<name>`, before any metadata names it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { StorageError, ValueError } from '../updater/core/errors.js';
import { errorCode, fsyncDirectory, tempPathBeside } from '../updater/node-io/index.js';
import { cleanupAfterFailure, removeIfPresent, warnCleanupFailure } from '../updater/node-io/cleanup.js';
import { targetFilePath, type RepositoryPaths } from './layout.js';

export interface TargetHashes {
  sha256: string;
  sha512: string;
}

/** Content ready to become a target: a private copy in .incoming with its length and hashes. */
export interface IncomingFile {
  tempPath: string;
  length: number;
  hashes: TargetHashes;
  /** The installer's chunk map, staged with it (chunk-maps.ts); discarded with it. */
  chunkMap?: IncomingFile;
  /**
   * Where exactly these bytes already are in the store the repository is published to, when
   * they were hashed from there: a storage may copy them inside the store instead of uploading
   * `tempPath`, but only on condition that the object there still has this ETag. Set by the
   * service (uploads on its object store); disk storage ignores it.
   */
  origin?: StoredOrigin;
}

/** An object in the repository's own store (`s3://bucket/key`) and the ETag it had when its bytes were hashed. */
export interface StoredOrigin {
  url: string;
  etag: string;
}

/** How a staged copy is written. */
export interface StageOptions {
  /**
   * false: no fsync. Only for a copy that is a scratch source for another store (the service's
   * object storage uploads it, and a crash redoes the round from its database); on disk the
   * staged copy becomes the target itself and must be durable first. Default true.
   */
  durable?: boolean;
}

const COPY_CHUNK_BYTES = 1024 * 1024;
/** Leftovers of other hosts (where we cannot ask whether the writer lives) go after a day. */
const ORPHAN_AGE_MS = 86_400_000;

function incomingName(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}.part`;
}

/**
 * Streams `source` into .incoming, hashing as it goes. The copy is what gets published, so a
 * source that changes meanwhile cannot make the hashes disagree with the stored file. `observe`
 * sees the same bytes in order (the chunker, so a chunk map describes exactly the copy).
 */
export async function hashAndCopy(
  paths: RepositoryPaths,
  source: string,
  observe?: (bytes: Buffer) => void,
  options: StageOptions = {},
): Promise<IncomingFile> {
  const info = await stat(source).catch((error: unknown) => {
    throw new ValueError(
      errorCode(error) === 'ENOENT' ? `no such file: ${source}` : `cannot read ${source}: ${(error as Error).message}`,
    );
  });
  if (!info.isFile()) throw new ValueError(`${source} is not a regular file`);
  await mkdir(paths.incoming, { recursive: true });
  const tempPath = join(paths.incoming, incomingName());
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let length = 0;
  const out = await open(tempPath, 'wx', 0o644);
  try {
    for await (const chunk of createReadStream(source, { highWaterMark: COPY_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
      sha256.update(chunk);
      sha512.update(chunk);
      observe?.(chunk);
      length += chunk.length;
      await out.write(chunk);
    }
    if (options.durable !== false) await out.sync();
  } catch (error) {
    // The copy is useless now: closed and removed, and a failure of that reported beside this one.
    await cleanupAfterFailure(error, async () => {
      try {
        await out.close();
      } finally {
        await removeIfPresent(tempPath);
      }
    });
    throw new StorageError(`cannot copy ${source}: ${(error as Error).message}`, { cause: error });
  }
  await out.close();
  return { tempPath, length, hashes: { sha256: sha256.digest('hex'), sha512: sha512.digest('hex') } };
}

/** Small generated content (a channel index) staged like a file. */
export async function stageBytes(
  paths: RepositoryPaths,
  bytes: Uint8Array,
  options: StageOptions = {},
): Promise<IncomingFile> {
  await mkdir(paths.incoming, { recursive: true });
  const tempPath = join(paths.incoming, incomingName());
  const out = await open(tempPath, 'wx', 0o644);
  try {
    await out.writeFile(bytes);
    if (options.durable !== false) await out.sync();
  } finally {
    await out.close();
  }
  return {
    tempPath,
    length: bytes.length,
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sha512: createHash('sha512').update(bytes).digest('hex'),
    },
  };
}

/**
 * A second staged copy of `file` (and of its chunk map) for another transaction (a transaction consumes or discards
 * the copies it is handed): a hard link to the same bytes, or a copy where links fail. Its
 * length and hashes are those computed when `file` was copied; nothing but us writes .incoming.
 */
export async function duplicateIncoming(paths: RepositoryPaths, file: IncomingFile): Promise<IncomingFile> {
  const tempPath = join(paths.incoming, incomingName());
  try {
    await link(file.tempPath, tempPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new StorageError(`the staged copy ${file.tempPath} is gone`);
    await copyFile(file.tempPath, tempPath).catch((e: unknown) => {
      throw new StorageError(`cannot copy ${file.tempPath}: ${(e as Error).message}`, { cause: e });
    });
  }
  // The chunk map goes with its installer into every transaction.
  const chunkMap = file.chunkMap && (await duplicateIncoming(paths, file.chunkMap));
  return { ...file, tempPath, chunkMap };
}

/**
 * Removes staged copies (each with its chunk map) that were not placed. ENOENT means already gone
 * (moved into targets/, or never made); any other failure (EISDIR, EIO, EROFS, ...) is disk
 * trouble the operator must hear of: a StorageError, thrown once every copy was tried.
 */
export async function discard(...files: IncomingFile[]): Promise<void> {
  const failures: unknown[] = [];
  const remove = async (file: IncomingFile): Promise<void> => {
    await unlink(file.tempPath).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') failures.push(error);
    });
    if (file.chunkMap) await remove(file.chunkMap);
  };
  for (const file of files) await remove(file);
  if (failures.length > 0) {
    const messages = failures.map((e) => (e as Error).message).join('; ');
    const cause = failures.length === 1 ? failures[0] : new AggregateError(failures);
    throw new StorageError(`cannot remove staged copies in .incoming: ${messages}`, { cause });
  }
}

/**
 * Moves staged content to its consistent-snapshot names. A name that already exists holds the
 * same bytes (the name is their hash), unless damaged: a size mismatch is replaced. Returns the
 * files now in place.
 */
export async function placeTarget(paths: RepositoryPaths, targetPath: string, file: IncomingFile): Promise<string[]> {
  const primary = targetFilePath(paths, targetPath, file.hashes.sha256);
  const secondary = targetFilePath(paths, targetPath, file.hashes.sha512);
  await mkdir(dirname(primary), { recursive: true });
  // Only this file's copy: a chunk map staged with it is placed (or discarded) on its own.
  if ((await sizeOf(primary)) === file.length) await removeLeftover(file.tempPath, `placing ${targetPath}`);
  else await moveInto(file.tempPath, primary);
  if ((await sizeOf(secondary)) !== file.length) await linkOrCopy(primary, secondary);
  await fsyncDirectory(dirname(primary));
  return [primary, secondary];
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : -1;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new StorageError(`cannot inspect ${path}: ${(error as Error).message}`);
  }
}

/** rename, or copy then rename where .incoming is on another file system (EXDEV). */
async function moveInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
    return;
  } catch (error) {
    if (errorCode(error) !== 'EXDEV')
      throw new StorageError(`cannot move a file into ${to}: ${(error as Error).message}`);
  }
  const temp = tempPathBeside(to);
  await copyFile(from, temp);
  await rename(temp, to);
  await removeLeftover(from, `moving it to ${to}`);
}

/**
 * Removes a staged copy that is no longer needed once its target is in place. A failure does not
 * undo the placement (the copy is a leftover that cleanIncoming retries under the next lock): a
 * warning, not an error. Already gone is fine.
 */
async function removeLeftover(path: string, doing: string): Promise<void> {
  await removeIfPresent(path).catch((error: unknown) => warnCleanupFailure(error, doing));
}

/** A second name for the same bytes: a hard link, or a copy (renamed into place) where links fail. */
async function linkOrCopy(existing: string, name: string): Promise<void> {
  const temp = tempPathBeside(name);
  try {
    await link(existing, temp);
  } catch {
    await copyFile(existing, temp); // no hard links here (EXDEV, EPERM, ...): a copy; its failure is thrown
  }
  try {
    await rename(temp, name);
  } catch (error) {
    await cleanupAfterFailure(error, () => removeIfPresent(temp));
    throw new StorageError(`cannot write ${name}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Removes what killed commands left in .incoming: files of processes on this host that no
 * longer exist, and anything older than a day.
 */
export async function cleanIncoming(paths: RepositoryPaths): Promise<number> {
  let names: string[];
  try {
    names = await readdir(paths.incoming);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 0;
    throw new StorageError(`cannot list ${paths.incoming}: ${(error as Error).message}`);
  }
  // Housekeeping before a publish: a leftover that cannot be removed is reported (a warning: the
  // operator must hear of disk trouble) and left, not a reason to refuse the publish. One already
  // gone (another cleaner, a writer finishing) is fine.
  let removed = 0;
  for (const name of names) {
    const path = join(paths.incoming, name);
    const pid = Number(/^(\d+)-[0-9a-f]{16}\.part$/.exec(name)?.[1]);
    try {
      const old = Date.now() - (await stat(path)).mtimeMs > ORPHAN_AGE_MS;
      if (!(Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid)) && !old) continue;
      await unlink(path);
      removed++;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') warnCleanupFailure(error, `removing leftovers in ${paths.incoming}`);
    }
  }
  return removed;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}
