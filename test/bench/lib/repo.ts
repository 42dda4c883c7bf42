/**
 * Builds a static TUF repository on disk for the client benchmarks, with our core: one Ed25519
 * key per role, consistent snapshots (`<version>.<role>.json`), and hash-prefixed target files
 * (`targets/<dir>/<sha256>.<name>`). Only the targets a benchmark downloads get a file; the
 * others are listed with made-up hashes, which is all a refresh or a lookup ever reads.
 *
 * Layout under `dir`:
 *   metadata/1.root.json, root.json, timestamp.json, 1.snapshot.json, 1.targets.json,
 *            1.<bin>.json (bins layout)
 *   targets/...            the files of `files`
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Delegations, SuccinctRoles } from '../../../updater/core/delegations.js';
import { generateKey, signerFromPrivateKeyPem, type Signer } from '../../../updater/core/keys.js';
import {
  Metadata,
  MetaFile,
  Root,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
  type AnySigned,
} from '../../../updater/core/metadata.js';
import { Role, TOP_LEVEL_ROLES } from '../../../updater/core/roles.js';

const EXPIRES = '2100-01-01T00:00:00Z';
/** TAP 15 with 8 bits: 256 bins, the layout python-tuf's examples and the issue use. */
const BIN_BITS = 8;
const BIN_PREFIX = 'bins';
const WRITE_CHUNK_BYTES = 4 << 20;

export interface TargetFileSpec {
  /** Target path, `/`-separated; keep it to `[A-Za-z0-9._-]` and `/` so URL and disk names agree. */
  path: string;
  /** Size in bytes; the content is random. */
  size: number;
}

export interface RepoOptions {
  /** Repository root; created. */
  dir: string;
  /** Targets listed in metadata, besides `files`. */
  fillerCount: number;
  /** `single`: every target in targets.json; `bins`: 256 succinct hash bins (TAP 15). */
  layout: 'single' | 'bins';
  /** Targets that get real content on disk. */
  files?: TargetFileSpec[];
}

export interface BenchRepo {
  dir: string;
  metadataDir: string;
  targetsDir: string;
  /** Bytes of root v1: what a client is shipped with. */
  rootBytes: Uint8Array;
  /** Target paths of the filler entries (no file behind them). */
  fillerPaths: string[];
  /** Size in bytes of every metadata file written, by file name. */
  metadataSizes: Map<string, number>;
}

/** The filler target at `index`: names spread over a few directories like a release history. */
export function fillerPath(index: number): string {
  return `releases/${Math.floor(index / 1000)}/app-${index}.bin`;
}

export async function buildRepo(options: RepoOptions): Promise<BenchRepo> {
  const metadataDir = join(options.dir, 'metadata');
  const targetsDir = join(options.dir, 'targets');
  await mkdir(metadataDir, { recursive: true });
  await mkdir(targetsDir, { recursive: true });

  const entries = new Map<string, TargetFile>();
  for (const spec of options.files ?? []) entries.set(spec.path, await writeTargetFile(targetsDir, spec));
  const fillerPaths: string[] = [];
  for (let i = 0; i < options.fillerCount; i++) {
    const path = fillerPath(i);
    fillerPaths.push(path);
    entries.set(path, fakeTargetFile(path, i));
  }

  const signers = Object.fromEntries([...TOP_LEVEL_ROLES, BIN_PREFIX].map((r) => [r, newSigner()])) as Record<
    string,
    Signer
  >;
  const writer = new MetadataWriter(metadataDir);
  const rootBytes = await writer.write('root', rootOf(signers), signers.root, { alsoUnversioned: true });

  const snapshotMeta = new Map<string, MetaFile>();
  if (options.layout === 'single') {
    const targets = new Targets({ version: 1, expires: EXPIRES }, entries);
    snapshotMeta.set('targets.json', new MetaFile(1, (await writer.write('targets', targets, signers.targets)).length));
  } else {
    const bins = new SuccinctRoles([signers[BIN_PREFIX].keyid], 1, BIN_BITS, BIN_PREFIX);
    const delegations = new Delegations(
      { [signers[BIN_PREFIX].keyid]: signers[BIN_PREFIX].publicKey },
      undefined,
      bins,
    );
    const top = new Targets({ version: 1, expires: EXPIRES }, new Map(), delegations);
    snapshotMeta.set('targets.json', new MetaFile(1, (await writer.write('targets', top, signers.targets)).length));
    for (const [binName, binEntries] of splitIntoBins(bins, entries)) {
      const bin = new Targets({ version: 1, expires: EXPIRES }, binEntries);
      snapshotMeta.set(
        `${binName}.json`,
        new MetaFile(1, (await writer.write(binName, bin, signers[BIN_PREFIX])).length),
      );
    }
  }
  const snapshot = new Snapshot({ version: 1, expires: EXPIRES }, snapshotMeta);
  const snapshotBytes = await writer.write('snapshot', snapshot, signers.snapshot);
  const timestamp = new Timestamp({ version: 1, expires: EXPIRES }, new MetaFile(1, snapshotBytes.length));
  await writer.write('timestamp', timestamp, signers.timestamp, { versioned: false });

  return { dir: options.dir, metadataDir, targetsDir, rootBytes, fillerPaths, metadataSizes: writer.sizes };
}

function newSigner(): Signer {
  return signerFromPrivateKeyPem(generateKey('ed25519').privateKeyPem);
}

function rootOf(signers: Record<string, Signer>): Root {
  const keys = Object.fromEntries(TOP_LEVEL_ROLES.map((r) => [signers[r].keyid, signers[r].publicKey]));
  const roles = Object.fromEntries(TOP_LEVEL_ROLES.map((r) => [r, new Role([signers[r].keyid], 1)])) as Root['roles'];
  return new Root({ version: 1, expires: EXPIRES }, keys, roles, true);
}

function splitIntoBins(bins: SuccinctRoles, entries: Map<string, TargetFile>): Map<string, Map<string, TargetFile>> {
  const byBin = new Map<string, Map<string, TargetFile>>();
  for (const name of bins.roleNames()) byBin.set(name, new Map());
  for (const [path, entry] of entries) byBin.get(bins.getRoleForTarget(path))!.set(path, entry);
  return byBin;
}

/** A listed target without content: deterministic length, random-looking sha256. */
function fakeTargetFile(path: string, index: number): TargetFile {
  const sha256 = createHash('sha256').update(`filler ${index}`).digest('hex');
  return new TargetFile(path, 1_000_000 + index, { sha256 });
}

/** Writes `size` random bytes at the hash-prefixed name a consistent-snapshot client asks for. */
async function writeTargetFile(targetsDir: string, spec: TargetFileSpec): Promise<TargetFile> {
  const scratch = join(targetsDir, `.${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  const handle = await open(scratch, 'w');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(WRITE_CHUNK_BYTES, Math.max(spec.size, 1)));
    for (let written = 0; written < spec.size;) {
      const part = chunk.subarray(0, Math.min(chunk.length, spec.size - written));
      randomFillSync(part);
      hash.update(part);
      await handle.write(part);
      written += part.length;
    }
  } finally {
    await handle.close();
  }
  const sha256 = hash.digest('hex');
  const { dir, base } = posix.parse(spec.path);
  const finalPath = join(targetsDir, ...dir.split('/').filter(Boolean), `${sha256}.${base}`);
  await mkdir(dirname(finalPath), { recursive: true });
  await rename(scratch, finalPath);
  return new TargetFile(spec.path, spec.size, { sha256 });
}

class MetadataWriter {
  readonly sizes = new Map<string, number>();

  constructor(private readonly dir: string) {}

  /** Signs and writes `<version>.<role>.json` (and/or `<role>.json`); returns the bytes. */
  async write(
    role: string,
    signed: AnySigned,
    signer: Signer,
    { versioned = true, alsoUnversioned = false } = {},
  ): Promise<Buffer> {
    const md = new Metadata(signed);
    await md.sign(signer);
    const bytes = md.toBytes();
    const names = [
      ...(versioned ? [`${signed.version}.${role}.json`] : []),
      ...(!versioned || alsoUnversioned ? [`${role}.json`] : []),
    ];
    for (const name of names) {
      await writeFile(join(this.dir, name), bytes);
      this.sizes.set(name, bytes.length);
    }
    return bytes;
  }
}
