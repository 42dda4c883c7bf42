/**
 * A small streaming reader for .tar.gz archives (POSIX ustar, with GNU long names and pax
 * path/size records), extracting into a fresh directory and nowhere else.
 *
 * The archive has passed TUF verification, so it is what the publisher signed; extraction is
 * still strict, as defence in depth against a signing mistake or a compromised build:
 * - names that are absolute, contain `..` or a backslash are refused;
 * - nothing is written through a symlink: an entry below a symlink the archive made is refused,
 *   and files are opened with O_EXCL | O_NOFOLLOW;
 * - symlinks must be relative and, once the whole tree exists, resolve inside it;
 * - hard links may only point at a regular file extracted earlier;
 * - devices, FIFOs and unknown entry types are refused; setuid/setgid bits are dropped;
 * - entry count (directories created for an entry's path count too), expanded size, path depth
 *   and path length are bounded, and what is kept per entry is one name segment, so memory and
 *   work grow linearly with the archive's names, never with the square of a path's depth.
 * Any refusal is a DeserializationError; the caller deletes the half-extracted directory.
 */
import { constants, createReadStream } from 'node:fs';
import { link, mkdir, open, realpath, symlink } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DeserializationError, StorageError, TufError } from '../../core/errors.js';
import { ByteReader } from './byte-reader.js';
import { readEntries, type Header } from './tar-format.js';

export interface ExtractLimits {
  /** Entries, counting the parent directories an entry's path implies and the archive omits. */
  maxEntries: number;
  /** Sum of the sizes of extracted files. */
  maxTotalBytes: number;
  /** Segments of one entry's path: its directories and its own name (default 64). */
  maxDepth?: number;
  /** UTF-8 bytes of one entry's path (default 1024). */
  maxPathBytes?: number;
}

/**
 * An Electron app's deepest files (resources/app.asar.unpacked/node_modules/...) are about 20
 * segments and 250 bytes down; 64 segments and 1,024 bytes leave room for that several times
 * over and keep the install prefix plus the path well under Linux's PATH_MAX (4,096).
 */
export const DEFAULT_EXTRACT_LIMITS: Readonly<Required<ExtractLimits>> = Object.freeze({
  maxEntries: 200_000,
  maxTotalBytes: 8 * 1024 ** 3,
  maxDepth: 64,
  maxPathBytes: 1024,
});

export interface ExtractSummary {
  entries: number;
  bytes: number;
}

const MAX_NAME_BYTES = 4096;

type EntryKind = 'file' | 'dir' | 'symlink';

/** One extracted path segment; directories hold their children by segment name. */
interface TreeNode {
  kind: EntryKind;
  children?: Map<string, TreeNode>;
}

/** Extracts `archive` (gzip-compressed tar) into `destDir`, which must exist and be empty. */
export async function extractTarGz(
  archive: string,
  destDir: string,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<ExtractSummary> {
  const source = createReadStream(archive);
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  const reader = new ByteReader(gunzip[Symbol.asyncIterator]());
  try {
    const tree = new ExtractedTree(destDir, limits);
    await readEntries(reader, (entry) => tree.add(entry, reader));
    await tree.checkSymlinks();
    return tree.summary();
  } catch (error) {
    if (error instanceof TufError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('Z_'))
      throw new DeserializationError(`${archive} is not a valid gzip file: ${(error as Error).message}`);
    throw new StorageError(`cannot extract ${archive}: ${(error as Error).message}`, { cause: error });
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/**
 * The files made so far, as a tree of path segments: what lets us refuse writing through
 * links. A tree, not a map of full paths: 50 entries 2,000 levels deep would otherwise keep
 * 100,000 paths of up to 4 KB each.
 */
class ExtractedTree {
  private readonly top: TreeNode = { kind: 'dir', children: new Map() };
  private readonly symlinks: string[] = [];
  private readonly limits: Required<ExtractLimits>;
  private entries = 0;
  private bytes = 0;

  constructor(
    private readonly root: string,
    limits: ExtractLimits,
  ) {
    const d = DEFAULT_EXTRACT_LIMITS;
    // `??` per field, not a spread: an explicit `undefined` must not lift a bound.
    this.limits = {
      maxEntries: limits.maxEntries ?? d.maxEntries,
      maxTotalBytes: limits.maxTotalBytes ?? d.maxTotalBytes,
      maxDepth: limits.maxDepth ?? d.maxDepth,
      maxPathBytes: limits.maxPathBytes ?? d.maxPathBytes,
    };
  }

  summary(): ExtractSummary {
    return { entries: this.entries, bytes: this.bytes };
  }

  /** Creates one entry; true when it read the entry's data from `reader`. */
  async add(entry: Header, reader: ByteReader): Promise<boolean> {
    this.countEntry();
    const rel = safeRelativePath(entry.name);
    if (rel === '') {
      if (entry.type === '5') return false; // "./": the root itself
      throw new DeserializationError(`tar entry ${JSON.stringify(entry.name)} has no name`);
    }
    const parts = this.checkedSegments(rel);
    const parent = await this.ensureParents(rel, parts);
    const name = parts[parts.length - 1];
    if (entry.type === '5') {
      await this.addDirectory(rel, parent, name, entry.mode);
      return false;
    }
    if (parent.has(name)) throw new DeserializationError(`tar entry ${rel} appears twice`);
    switch (entry.type) {
      case '0':
      case '7': // contiguous file: a regular file everywhere but on a few old systems
        await this.addFile(rel, entry, reader);
        break;
      case '2':
        await this.addSymlink(rel, entry.linkname);
        break;
      case '1':
        await this.addHardLink(rel, entry.linkname);
        break;
      default:
        throw new DeserializationError(
          `tar entry ${rel} has unsupported type ${JSON.stringify(entry.type)} (devices, FIFOs and the like are refused)`,
        );
    }
    parent.set(name, { kind: entry.type === '2' ? 'symlink' : 'file' });
    return entry.type === '0' || entry.type === '7';
  }

  /** Every entry and every directory made for one counts toward maxEntries. */
  private countEntry(): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new DeserializationError(
        `archive has more than ${this.limits.maxEntries} entries (counting the directories their paths imply)`,
      );
    }
  }

  /** The path's segments, once its depth and length are within bounds (checked before anything is made). */
  private checkedSegments(rel: string): string[] {
    if (Buffer.byteLength(rel) > this.limits.maxPathBytes) {
      throw new DeserializationError(
        `tar entry ${rel.slice(0, 80)}... is longer than ${this.limits.maxPathBytes} bytes`,
      );
    }
    const parts = rel.split('/');
    if (parts.length > this.limits.maxDepth) {
      throw new DeserializationError(
        `tar entry ${rel.slice(0, 80)}... is more than ${this.limits.maxDepth} levels deep`,
      );
    }
    return parts;
  }

  private async addDirectory(rel: string, parent: Map<string, TreeNode>, name: string, mode: number): Promise<void> {
    const kind = parent.get(name)?.kind;
    if (kind === 'dir') return;
    if (kind) throw new DeserializationError(`tar entry ${rel} is both a ${kind} and a directory`);
    await mkdir(this.abs(rel), { mode: (mode & 0o777) | 0o700 });
    parent.set(name, { kind: 'dir', children: new Map() });
  }

  /**
   * Creates missing parent directories (each counts as an entry) and returns the children of
   * the last one; a parent that is a file or a symlink is refused.
   */
  private async ensureParents(rel: string, parts: string[]): Promise<Map<string, TreeNode>> {
    let children = this.top.children!;
    for (let i = 0; i < parts.length - 1; i++) {
      let node = children.get(parts[i]);
      if (!node) {
        this.countEntry();
        await mkdir(this.abs(parts.slice(0, i + 1).join('/')), { mode: 0o755 });
        node = { kind: 'dir', children: new Map() };
        children.set(parts[i], node);
      }
      if (node.kind !== 'dir')
        throw new DeserializationError(
          `tar entry ${rel} lies below the ${node.kind} ${parts.slice(0, i + 1).join('/')}`,
        );
      children = node.children!;
    }
    return children;
  }

  /** What was extracted at `rel`, if anything. */
  private lookup(rel: string): TreeNode | undefined {
    let node: TreeNode | undefined = this.top;
    for (const part of rel.split('/')) node = node?.children?.get(part);
    return node;
  }

  private async addFile(rel: string, entry: Header, reader: ByteReader): Promise<void> {
    this.bytes += entry.size;
    if (this.bytes > this.limits.maxTotalBytes)
      throw new DeserializationError(`archive expands to more than ${this.limits.maxTotalBytes} bytes`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
    // Permission bits only: setuid/setgid/sticky from an archive are never honoured.
    const handle = await open(this.abs(rel), flags, entry.mode & 0o777);
    try {
      for (let left = entry.size; left > 0;) {
        const chunk = await reader.pull(left);
        if (!chunk) throw new DeserializationError(`tar archive ends inside ${rel}`);
        for (let written = 0; written < chunk.length;) {
          written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten;
        }
        left -= chunk.length;
      }
    } finally {
      await handle.close();
    }
  }

  private async addSymlink(rel: string, target: string): Promise<void> {
    if (target === '' || target.startsWith('/') || target.includes('\\') || target.includes('\0')) {
      throw new DeserializationError(`symlink ${rel} -> ${JSON.stringify(target)} is not a relative link`);
    }
    const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
    if (resolved === '..' || resolved.startsWith('../'))
      throw new DeserializationError(`symlink ${rel} -> ${target} points outside the archive`);
    await symlink(target, this.abs(rel));
    this.symlinks.push(rel);
  }

  private async addHardLink(rel: string, target: string): Promise<void> {
    const targetRel = safeRelativePath(target);
    if (this.lookup(targetRel)?.kind !== 'file')
      throw new DeserializationError(`hard link ${rel} -> ${target} does not name a file extracted before it`);
    await link(this.abs(targetRel), this.abs(rel));
  }

  /**
   * Lexical checks cannot see chains (`a -> .` then `a/b -> ..`): resolve every symlink in the
   * finished tree and require it to land inside it. Dangling links are refused too.
   */
  async checkSymlinks(): Promise<void> {
    if (this.symlinks.length === 0) return;
    const realRoot = await realpath(this.root);
    for (const rel of this.symlinks) {
      const real = await realpath(this.abs(rel)).catch(() => undefined); // dangling or looping: refused below
      if (!real || (real !== realRoot && !real.startsWith(realRoot + sep))) {
        throw new DeserializationError(`symlink ${rel} does not resolve to a file inside the archive`);
      }
    }
  }

  private abs(rel: string): string {
    return join(this.root, ...rel.split('/'));
  }
}

/** `./a//b/` -> `a/b`; refuses absolute paths, `..`, backslashes and overlong names. */
export function safeRelativePath(name: string): string {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    throw new DeserializationError(`tar entry name longer than ${MAX_NAME_BYTES} bytes`);
  if (name.startsWith('/') || name.includes('\\') || name.includes('\0')) {
    throw new DeserializationError(`tar entry ${JSON.stringify(name)} is not a relative path`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new DeserializationError(`tar entry ${JSON.stringify(name)} contains '..'`);
  return parts.join('/');
}
