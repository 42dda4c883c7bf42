/**
 * The release workflow end to end: init, add, re-add, conflicts, staging, remove, refresh; after
 * every publishing step our client (keeping its metadata between steps, as an installed app
 * does) and tuf-js (from scratch) refresh against the served repository and download.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseChannelIndex } from '../../updater/release/index.js';
import {
  addRelease,
  addTargets,
  refreshRepository,
  removeRelease,
  serveRepository,
  verifyRepository,
  type RepositoryServer,
} from '../../publisher/index.js';
import {
  cleanupTemp,
  makeRepo,
  ourClient,
  publishedDigest,
  tempDir,
  tufJsClient,
  writeInstaller,
  type TestRepo,
} from './helpers.js';

afterAll(cleanupTemp);

const DAY = 86_400_000;

for (const bins of [0, 16]) {
  describe(`releases (${bins ? `${bins} hashed bins` : 'no bins'})`, () => {
    let r: TestRepo;
    let server: RepositoryServer;
    let clientDir: string;
    const base = { platform: 'linux', arch: 'x64', env: {} };

    beforeEach(async () => {
      r = await makeRepo({ bins });
      server = await serveRepository({ repo: r.repo });
      clientDir = join(await tempDir('etuf-app-'), 'metadata');
    });
    afterEach(async () => {
      await server.close();
    });

    /** Both clients see `expected` (path -> bytes, or undefined for "not found"); the repo verifies. */
    async function clientsSee(expected: Record<string, Buffer | undefined>): Promise<void> {
      const paths = Object.keys(expected);
      const ours = await ourClient(server, r.trustedRoot, paths, clientDir);
      const theirs = await tufJsClient(server, r.trustedRoot, paths);
      for (const p of paths) {
        expect(ours.files.get(p), `our client: ${p}`).toEqual(expected[p]);
        expect(theirs.files.get(p), `tuf-js: ${p}`).toEqual(expected[p]);
      }
      const verified = await verifyRepository({ repo: r.repo });
      expect(verified.problems).toEqual([]);
      expect(verified.ok).toBe(true);
    }

    async function index(channel = 'stable', platform = 'linux', arch = 'x64') {
      const path = `channels/${channel}/${platform}-${arch}.json`;
      const view = await ourClient(server, r.trustedRoot, [path]);
      const bytes = view.files.get(path);
      return bytes && parseChannelIndex(bytes);
    }

    it('publishes releases that both clients find, download and pick from the channel index', async () => {
      const tar = await writeInstaller(r.dir, 'app-1.0.0.tar.gz', 70_000);
      const appImage = await writeInstaller(r.dir, 'app-1.0.0.AppImage', 50_000);
      const first = await addRelease({
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [tar],
        version: '1.0.0',
        notes: 'First!',
      });
      expect(first.changed).toBe(true);
      expect(first.channel).toBe('stable');
      expect(first.targets.map((t) => t.status)).toEqual(['added']);
      await clientsSee({ '1.0.0/app-1.0.0.tar.gz': await readFile(tar), 'missing/x.zip': undefined });

      // A second installer of the same release joins its index entry and shares its fields.
      await addRelease({ ...base, repo: r.repo, keys: r.keys, files: [appImage], version: '1.0.0' });
      const idx1 = await index();
      expect(idx1!.releases).toHaveLength(1);
      expect(idx1!.releases[0].releaseNotes).toBe('First!');
      expect(idx1!.releases[0].installers.map((i) => i.kind).sort()).toEqual(['AppImage', 'tar.gz']);

      // A newer release goes first; a beta goes to its own channel.
      const next = await writeInstaller(r.dir, 'app-1.1.0.tar.gz', 1000);
      const beta = await writeInstaller(r.dir, 'app-1.2.0-beta.1.tar.gz', 1000);
      await addRelease({ ...base, repo: r.repo, keys: r.keys, files: [next], version: '1.1.0', stagingPercentage: 10 });
      const betaResult = await addRelease({
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [beta],
        version: '1.2.0-beta.1',
      });
      expect(betaResult.channel).toBe('beta');
      expect((await index())!.releases.map((x) => [x.version, x.stagingPercentage])).toEqual([
        ['1.1.0', 10],
        ['1.0.0', undefined],
      ]);
      expect((await index('beta'))!.releases.map((x) => x.version)).toEqual(['1.2.0-beta.1']);
      await clientsSee({
        '1.1.0/app-1.1.0.tar.gz': await readFile(next),
        '1.2.0-beta.1/app-1.2.0-beta.1.tar.gz': await readFile(beta),
        '1.0.0/app-1.0.0.AppImage': await readFile(appImage),
      });

      // Widening the rollout rewrites the custom fields of the release, not the file.
      const widened = await addRelease({
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [next],
        version: '1.1.0',
        stagingPercentage: 100,
      });
      expect(widened.targets[0].status).toBe('updated');
      expect((await index())!.releases[0].stagingPercentage).toBeUndefined();
      await clientsSee({ '1.1.0/app-1.1.0.tar.gz': await readFile(next) });
    });

    it('changes nothing when the identical release is added again', async () => {
      const tar = await writeInstaller(r.dir, 'app-2.0.0.zip', 3000);
      await addRelease({ ...base, repo: r.repo, keys: r.keys, files: [tar], version: '2.0.0', notes: 'n' });
      const before = await publishedDigest(r.repo);
      const again = await addRelease({
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [tar],
        version: '2.0.0',
        notes: 'n',
        now: new Date(Date.now() + DAY),
      });
      expect(again.changed).toBe(false);
      expect(again.targets[0].status).toBe('unchanged');
      expect(again.publish).toBeUndefined();
      expect(await publishedDigest(r.repo)).toEqual(before);
      expect(await readdir(join(r.repo, '.incoming'))).toEqual([]);
    });

    it('refuses different content under a published path unless forced', async () => {
      const dir = await tempDir();
      const v1 = await writeInstaller(dir, 'app.tar.gz', 2000, 'one');
      await addRelease({ ...base, repo: r.repo, keys: r.keys, files: [v1], version: '3.0.0' });
      const before = await publishedDigest(r.repo);
      const dir2 = await tempDir();
      const v2 = await writeInstaller(dir2, 'app.tar.gz', 2000, 'two');
      await expect(addRelease({ ...base, repo: r.repo, keys: r.keys, files: [v2], version: '3.0.0' })).rejects.toThrow(
        /already published with different content.*--force/,
      );
      expect(await publishedDigest(r.repo)).toEqual(before);

      const forced = await addRelease({
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [v2],
        version: '3.0.0',
        force: true,
      });
      expect(forced.targets[0].status).toBe('replaced');
      await clientsSee({ '3.0.0/app.tar.gz': await readFile(v2) });
    });

    it('moving an installer to another platform or arch needs --force and fixes both indexes', async () => {
      const file = await writeInstaller(r.dir, 'app-4.0.0.zip', 800);
      await addRelease({ ...base, repo: r.repo, keys: r.keys, files: [file], version: '4.0.0', platform: 'darwin' });
      const move = {
        ...base,
        repo: r.repo,
        keys: r.keys,
        files: [file],
        version: '4.0.0',
        platform: 'darwin',
        arch: 'arm64',
      };
      await expect(addRelease(move)).rejects.toThrow(/already published for stable darwin-x64; pass --force/);
      const moved = await addRelease({ ...move, force: true });
      expect(moved.targets[0].status).toBe('replaced');
      expect((await index('stable', 'darwin', 'x64'))!.releases).toEqual([]);
      expect((await index('stable', 'darwin', 'arm64'))!.releases.map((x) => x.version)).toEqual(['4.0.0']);
      await clientsSee({ '4.0.0/app-4.0.0.zip': await readFile(file) });
    });

    it('yanks a release: the index falls back to the newest remaining one', async () => {
      for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
        await addRelease({
          ...base,
          repo: r.repo,
          keys: r.keys,
          files: [await writeInstaller(r.dir, `app-${v}.tar.gz`, 500)],
          version: v,
        });
      }
      await addRelease({
        ...base,
        arch: 'arm64',
        repo: r.repo,
        keys: r.keys,
        files: [await writeInstaller(r.dir, 'app-1.2.0-arm64.tar.gz', 500)],
        version: '1.2.0',
      });
      const removed = await removeRelease({ repo: r.repo, keys: r.keys, version: '1.2.0', env: {} });
      expect(removed.removed.map((x) => x.path).sort()).toEqual([
        '1.2.0/app-1.2.0-arm64.tar.gz',
        '1.2.0/app-1.2.0.tar.gz',
      ]);
      expect(removed.indexes.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: 'channels/stable/linux-arm64.json', newest: undefined },
        { path: 'channels/stable/linux-x64.json', newest: '1.1.0' },
      ]);
      expect((await index())!.releases.map((x) => x.version)).toEqual(['1.1.0', '1.0.0']);
      expect((await index('stable', 'linux', 'arm64'))!.releases).toEqual([]);
      await clientsSee({
        '1.2.0/app-1.2.0.tar.gz': undefined,
        '1.1.0/app-1.1.0.tar.gz': await readFile(join(r.dir, 'app-1.1.0.tar.gz')),
      });
      await expect(removeRelease({ repo: r.repo, keys: r.keys, version: '9.9.9', env: {} })).rejects.toThrow(
        /no release 9\.9\.9/,
      );
    });

    it('refresh re-signs timestamp and snapshot only when under half their lifetime', async () => {
      const idle = await refreshRepository({ repo: r.repo, keys: r.keys, env: {} });
      expect(idle.changed).toBe(false);
      const before = await publishedDigest(r.repo);

      // Four days on: timestamp (7 d) is under half, snapshot (30 d) is not.
      const later = new Date(Date.now() + 4 * DAY);
      const ts = await refreshRepository({ repo: r.repo, keys: r.keys, env: {}, now: later });
      expect(ts.changed).toBe(true);
      expect(ts.publish!.files.map((f) => f.name)).toEqual(['timestamp.json']);
      expect(await publishedDigest(r.repo)).not.toEqual(before);

      // Sixteen days on: both.
      const both = await refreshRepository({
        repo: r.repo,
        keys: r.keys,
        env: {},
        now: new Date(Date.now() + 16 * DAY),
      });
      expect(both.publish!.files.map((f) => f.name)).toEqual(['2.snapshot.json', 'timestamp.json']);
      const tuf = await tufJsClient(server, r.trustedRoot, []);
      expect(tuf.files.size).toBe(0);
      // A client living 20 days later still refreshes (timestamp valid until day 23).
      const at20 = await verifyRepository({ repo: r.repo, at: new Date(Date.now() + 20 * DAY) });
      expect(at20.ok).toBe(true);
      const at24 = await verifyRepository({ repo: r.repo, at: new Date(Date.now() + 24 * DAY) });
      expect(at24.ok).toBe(false);
      expect(at24.problems.join()).toMatch(/timestamp is expired/);
    });

    it('imports many arbitrary targets in one publish', async () => {
      const dir = await tempDir();
      const file = await writeInstaller(dir, 'data.bin', 100);
      const result = await addTargets({
        repo: r.repo,
        keys: r.keys,
        env: {},
        targets: [
          { path: 'docs/readme.txt', file },
          { path: 'x/y.bin', length: 5, hashes: { sha256: 'a'.repeat(64) }, custom: { n: 1 } },
        ],
      });
      expect(result.added).toBe(2);
      await expect(
        addTargets({ repo: r.repo, keys: r.keys, env: {}, targets: [{ path: '../escape.txt', file }] }),
      ).rejects.toThrow(/'\.\.'/);
      await expect(
        addTargets({ repo: r.repo, keys: r.keys, env: {}, targets: [{ path: 'channels/stable/x.json', file }] }),
      ).rejects.toThrow(/reserved/);
      const view = await ourClient(server, r.trustedRoot, ['docs/readme.txt']);
      expect(view.files.get('docs/readme.txt')).toEqual(await readFile(file));
      // The second target has no file: verify says so.
      const v = await verifyRepository({ repo: r.repo });
      expect(v.problems.some((p) => p.startsWith('x/y.bin:') && /missing/.test(p))).toBe(true);
    });
  });
}
