/**
 * Chunk maps in the release workflow (publisher/chunk-maps.ts, chunk-map-edits.ts): `repo add`
 * publishes a signed map beside each zip, tar.gz, AppImage and NSIS installer and names it in the
 * installer's custom (from CHUNK_MAP_MIN_BYTES on); re-adds, `--no-chunk-map`, replacing, staging changes and yanks keep the
 * two together; `repo verify` catches a map that does not describe its installer. Both our
 * client and tuf-js download the map as a target.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addRelease,
  addTargets,
  CHUNK_MAP_MIN_BYTES,
  editRepository,
  removeRelease,
  serveRepository,
  verifyRepository,
  type RepositoryServer,
} from '../../publisher/index.js';
import { readCustom } from '../../publisher/release-entries.js';
import { TargetFile } from '../../updater/core/metadata.js';
import { chunkMapTargetPath, parseChunkMap, serializeChunkMap, type ChunkMap } from '../../updater/release/index.js';
import { syntheticInstaller } from '../bench/lib/diff-fixtures.js';
import { cleanupTemp, cli, makeRepo, ourClient, repoAdd, tempDir, tufJsClient, type TestRepo } from './helpers.js';

afterAll(cleanupTemp);

const ZIP = '1.0.0/app-1.0.0-linux-x64.zip';
const DEB = '1.0.0/app-1.0.0-linux-x64.deb';
const ZIP_MAP = chunkMapTargetPath(ZIP);

/** Top-level and bin entries as a client resolves them: our own client's view of one path. */
async function targetInfo(server: RepositoryServer, r: TestRepo, path: string): Promise<TargetFile | undefined> {
  const { Updater } = await import('../../updater/client/updater.js');
  const dir = await tempDir('etuf-info-');
  const updater = new Updater({
    metadataDir: join(dir, 'metadata'),
    metadataBaseUrl: server.metadataUrl,
    targetBaseUrl: server.targetsUrl,
    bootstrapRoot: r.trustedRoot,
  });
  await updater.refresh();
  return updater.getTargetInfo(path);
}

function expectMapOf(mapBytes: Buffer, installer: Buffer): ChunkMap {
  const map = parseChunkMap(mapBytes);
  expect(map.file).toEqual({ length: installer.length, sha256: createHash('sha256').update(installer).digest('hex') });
  for (const c of map.chunks) {
    const digest = createHash('sha256')
      .update(installer.subarray(c.offset, c.offset + c.length))
      .digest();
    expect(Buffer.from(c.sha256).equals(digest)).toBe(true);
  }
  expect(map.chunks.length).toBeGreaterThan(10);
  return map;
}

for (const bins of [0, 16]) {
  describe(`chunk maps (${bins ? `${bins} hashed bins` : 'no bins'})`, () => {
    let r: TestRepo;
    let server: RepositoryServer;
    let dir: string;
    let zip: Buffer;
    let zipFile: string;
    let debFile: string;
    const base = { version: '1.0.0', platform: 'linux', arch: 'x64', env: {} };

    beforeEach(async () => {
      r = await makeRepo({ bins });
      server = await serveRepository({ repo: r.repo });
      dir = await tempDir('etuf-in-');
      zip = syntheticInstaller(CHUNK_MAP_MIN_BYTES, `zip ${bins}`); // the smallest that gets a map
      zipFile = join(dir, 'app-1.0.0-linux-x64.zip');
      debFile = join(dir, 'app-1.0.0-linux-x64.deb');
      await writeFile(zipFile, zip);
      await writeFile(debFile, syntheticInstaller(256 * 1024, 'deb'));
    });
    afterEach(async () => {
      await server.close();
    });

    const add = (extra: Partial<Parameters<typeof addRelease>[0]> = {}) =>
      addRelease({ repo: r.repo, keys: r.keys, files: [zipFile, debFile], ...base, ...extra });

    it('publishes a signed map beside the zip (not the deb), named in its custom; both clients fetch it', async () => {
      const result = await add();
      expect(result.targets.map((t) => [t.path, t.status])).toEqual([
        [ZIP, 'added'],
        [DEB, 'added'],
      ]);
      const zipInfo = await targetInfo(server, r, ZIP);
      expect(readCustom(zipInfo!)?.chunkMap).toBe(ZIP_MAP);
      expect(readCustom((await targetInfo(server, r, DEB))!)?.chunkMap).toBeUndefined();
      expect(await targetInfo(server, r, chunkMapTargetPath(DEB))).toBeUndefined();

      const ours = await ourClient(server, r.trustedRoot, [ZIP_MAP, ZIP]);
      const theirs = await tufJsClient(server, r.trustedRoot, [ZIP_MAP]);
      expect(ours.files.get(ZIP)).toEqual(zip);
      expect(theirs.files.get(ZIP_MAP)).toEqual(ours.files.get(ZIP_MAP));
      const map = expectMapOf(ours.files.get(ZIP_MAP)!, zip);
      expect(map.chunking).toMatch(/^fastcdc-gear32/);
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);

      // Same bytes again: the same map, nothing written.
      expect((await add()).changed).toBe(false);
    });

    it('--no-chunk-map drops the map with the custom field; adding again brings both back', async () => {
      await add();
      const without = await add({ chunkMap: false });
      expect(without.changed).toBe(true);
      expect(without.targets.find((t) => t.path === ZIP)?.status).toBe('updated');
      expect(readCustom((await targetInfo(server, r, ZIP))!)?.chunkMap).toBeUndefined();
      expect(await targetInfo(server, r, ZIP_MAP)).toBeUndefined();
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);

      await add();
      expect(readCustom((await targetInfo(server, r, ZIP))!)?.chunkMap).toBe(ZIP_MAP);
      const theirs = await tufJsClient(server, r.trustedRoot, [ZIP_MAP]);
      expectMapOf(theirs.files.get(ZIP_MAP)!, zip);
    });

    it('a staging change keeps the map; a replaced installer takes its map along; a yank removes both', async () => {
      await add();
      await editRepository({ repo: r.repo, keys: r.keys, env: {} }, (edit) => edit.setStaging('1.0.0', 40));
      const staged = readCustom((await targetInfo(server, r, ZIP))!);
      expect(staged).toMatchObject({ stagingPercentage: 40, chunkMap: ZIP_MAP });

      const otherFile = join(dir, 'app-1.0.0-linux-x64-b.zip');
      const other = syntheticInstaller(1200 * 1024, 'other zip');
      await writeFile(otherFile, other);
      const replaced = await addRelease({ repo: r.repo, keys: r.keys, files: [otherFile], ...base, replace: true });
      expect(replaced.replaced).toEqual([ZIP]);
      expect(await targetInfo(server, r, ZIP)).toBeUndefined();
      expect(await targetInfo(server, r, ZIP_MAP)).toBeUndefined();
      const otherMap = chunkMapTargetPath('1.0.0/app-1.0.0-linux-x64-b.zip');
      const ours = await ourClient(server, r.trustedRoot, [otherMap]);
      expectMapOf(ours.files.get(otherMap)!, other);
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);

      const removed = await removeRelease({ repo: r.repo, keys: r.keys, version: '1.0.0', env: {} });
      expect(removed.removed.map((x) => x.path).sort()).toEqual(['1.0.0/app-1.0.0-linux-x64-b.zip', DEB].sort());
      expect(await targetInfo(server, r, otherMap)).toBeUndefined();
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);
    });

    it('makes no map for a zip smaller than CHUNK_MAP_MIN_BYTES, and drops the map of one that shrank', async () => {
      await add();
      expect(readCustom((await targetInfo(server, r, ZIP))!)?.chunkMap).toBe(ZIP_MAP);
      await writeFile(zipFile, syntheticInstaller(CHUNK_MAP_MIN_BYTES - 1, `small zip ${bins}`));
      const small = await add({ force: true });
      expect(small.targets.map((t) => [t.path, t.status, t.chunkMap])).toEqual([
        [ZIP, 'replaced', undefined],
        [DEB, 'unchanged', undefined],
      ]);
      expect(readCustom((await targetInfo(server, r, ZIP))!)?.chunkMap).toBeUndefined();
      expect(await targetInfo(server, r, ZIP_MAP)).toBeUndefined();
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);
    });

    it('refuses to take over a path already published as something else, unless forced', async () => {
      const squatter = join(dir, 'squatter.json');
      await writeFile(squatter, '{"not":"a map"}');
      await addTargets({ repo: r.repo, keys: r.keys, env: {}, targets: [{ path: ZIP_MAP, file: squatter }] });
      await expect(add()).rejects.toThrow(/already published, but not as .*chunk map/);
      await add({ force: true });
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([]);
    });

    it('repo verify reports a map of another installer and a map whose chunks do not match', async () => {
      await add();
      const ours = await ourClient(server, r.trustedRoot, [ZIP_MAP]);
      const map = parseChunkMap(ours.files.get(ZIP_MAP)!);

      /** Signs `content` as the zip's map, in place of the real one. */
      const signAsMap = async (content: Uint8Array | string): Promise<void> => {
        const foreign = join(dir, 'foreign.json');
        await writeFile(foreign, content);
        const targets = [{ path: ZIP_MAP, file: foreign }];
        await addTargets({ repo: r.repo, keys: r.keys, env: {}, force: true, targets });
      };

      // A valid map of other bytes.
      const otherMap: ChunkMap = {
        ...map,
        file: { length: map.file.length, sha256: '0'.repeat(64) },
      };
      await signAsMap(serializeChunkMap(otherMap));
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([
        expect.stringMatching(/^1\.0\.0\/app-1\.0\.0-linux-x64\.zip: its chunk map describes another file/),
      ]);

      // The right file, but one chunk's hash is wrong: found when the installer is read.
      const swapped = {
        ...map,
        chunks: map.chunks.map((c, i) => (i === 3 ? { ...c, sha256: new Uint8Array(32) } : c)),
      };
      await signAsMap(serializeChunkMap(swapped));
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([
        '1.0.0/app-1.0.0-linux-x64.zip: chunk 3 of its chunk map does not match the installer',
      ]);
      expect((await verifyRepository({ repo: r.repo, checkTargetFiles: false })).problems).toEqual([]);

      // Not a map at all.
      await signAsMap('{"format":1}');
      expect((await verifyRepository({ repo: r.repo })).problems).toEqual([
        expect.stringMatching(/its chunk map does not parse/),
      ]);
    });
  });
}

describe('repo add --no-chunk-map (CLI)', () => {
  it('publishes the zip without a map', async () => {
    const dir = await tempDir();
    const { run, out } = cli(dir);
    expect(await run('repo', 'init', 'repo', '--keys', 'keys')).toBe(0);
    await writeFile(join(dir, 'app.zip'), syntheticInstaller(CHUNK_MAP_MIN_BYTES, 'cli'));
    const args = repoAdd('app.zip', '2.0.0');
    const targetsOf = async (version: number) =>
      (
        JSON.parse(await readFile(join(dir, 'repo', 'metadata', `${version}.targets.json`), 'utf8')) as {
          signed: { targets: Record<string, { custom: { chunkMap?: string } }> };
        }
      ).signed.targets;
    expect(await run(...args, '--no-chunk-map')).toBe(0);
    const first = await targetsOf(2);
    expect(Object.keys(first).filter((p) => !p.startsWith('channels/'))).toEqual(['2.0.0/app.zip']);
    expect(first['2.0.0/app.zip'].custom.chunkMap).toBeUndefined();
    out.length = 0;
    expect(await run(...args)).toBe(0);
    expect(out.join('\n')).toMatch(/chunk map +2\.0\.0\/app\.zip\.chunks\.json/);
    const second = await targetsOf(3);
    expect(second['2.0.0/app.zip'].custom.chunkMap).toBe('2.0.0/app.zip.chunks.json');
    expect(second['2.0.0/app.zip.chunks.json']).toBeDefined();
  });
});
