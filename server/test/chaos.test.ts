/**
 * Chaos (issue 14): 2 API processes, 3 workers and a scheduler of the built server CLI on
 * PostgreSQL, BullMQ on Redis and S3 (radosgw); concurrent publishers; a random API or worker
 * killed with SIGKILL and restarted every few seconds; a client refreshing from the bucket all
 * along. Afterwards every acknowledged release is published exactly once with the right bytes,
 * the bucket's tree verifies, every versioned object was written once, and both clients (ours
 * and tuf-js) read it. Scale: ETUF_CHAOS_PUBLISHERS x ETUF_CHAOS_RELEASES (5 x 4 here, to keep `npm test` short; the
 * issue's 20 x 10 is `npm run bench -- chaos`), ETUF_CHAOS_KILL_MS between kills.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRepository } from '../../publisher/verify.js';
import { cleanupTemp, ourClient, tempDir, tufJsClient } from '../../test/publisher/helpers.js';
import { chaosOptions, runChaos, type ChaosRun } from './chaos-scenario.js';
import { sha256 } from './helpers.js';

const options = chaosOptions({ publishers: 5, releases: 4, killEveryMs: 1000 });
let run: ChaosRun | undefined;

afterAll(async () => {
  await run?.close();
  await cleanupTemp();
}, 60_000);

interface TargetEntry {
  length: number;
  hashes: Record<string, string>;
}

async function json(file: string): Promise<{ signed: Record<string, unknown> }> {
  return JSON.parse(await readFile(file, 'utf8')) as { signed: Record<string, unknown> };
}

/**
 * Follows the bucket copy's chain, timestamp -> N.snapshot.json -> each N.role.json it names
 * (every one must exist), and returns every target entry with the role listing it.
 */
async function targetsByChain(copy: string): Promise<Array<[string, TargetEntry, string]>> {
  const meta = join(copy, 'metadata');
  const ts = (await json(join(meta, 'timestamp.json'))).signed.meta as Record<string, { version: number }>;
  const snapshot = await json(join(meta, `${ts['snapshot.json'].version}.snapshot.json`));
  const out: Array<[string, TargetEntry, string]> = [];
  for (const [file, { version }] of Object.entries(snapshot.signed.meta as Record<string, { version: number }>)) {
    const role = await json(join(meta, `${version}.${file}`));
    for (const [path, entry] of Object.entries(role.signed.targets as Record<string, TargetEntry>))
      out.push([path, entry, file]);
  }
  return out;
}

describe('chaos: many processes, kill -9, S3, a client watching', () => {
  it('loses no acknowledged release, and the client never sees a bad tree or a rollback', async () => {
    run = await runChaos(options);
    const { fx, repo, added, kills, watch } = run;
    const acknowledged = added.filter((a) => a.state === 'succeeded');
    const copy = await tempDir('etuf-chaos-copy-');
    await fx.download('app', copy);
    const entries = await targetsByChain(copy);
    const published = acknowledged.filter((a) => entries.some(([p]) => p === a.path));
    console.info(
      `chaos ${options.publishers} x ${options.releases}: ${acknowledged.length}/${added.length} releases acknowledged, ` +
        `${published.length} published, ${added.filter((a) => a.attempts > 1).length} resubmitted, ${kills.length} kills (${kills.join(' ')}), ` +
        `${watch.refreshes} client refreshes (${watch.unavailable} unavailable), max versions ` +
        `timestamp ${watch.max.timestamp} snapshot ${watch.max.snapshot} targets ${watch.max.targets}, ` +
        `${run.seconds.toFixed(1)} s`,
    );

    // Every release was acknowledged (a publisher retries on the other API), nothing left pending.
    expect(added.filter((a) => a.state !== 'succeeded').map((a) => `${a.version}: ${a.state} ${a.error}`)).toEqual([]);
    expect(run.pending).toBe(0);
    expect(kills.length).toBeGreaterThan(0);
    // The watching client: never a failed verification, a missing file or a version going back.
    expect(watch.failures).toEqual([]);
    expect(watch.refreshes).toBeGreaterThan(0);

    // Exactly once in the targets metadata, with the right length and hash; in the bucket under
    // its hash-prefixed names only, with those bytes.
    for (const a of acknowledged) {
      const listed = entries.filter(([p]) => p === a.path);
      expect(listed.length, a.path).toBe(1);
      const [, entry] = listed[0];
      expect(entry.length, a.path).toBe(a.bytes.length);
      expect(entry.hashes.sha256, a.path).toBe(sha256(a.bytes));
      const name = a.path.split('/')[1];
      const stored = (await readdir(join(copy, 'targets', a.version))).filter((f) => f.endsWith(`.${name}`)).sort();
      expect(stored, a.path).toEqual(
        Object.values(entry.hashes)
          .map((h) => `${h}.${name}`)
          .sort(),
      );
      for (const f of stored) {
        const bytes = await readFile(join(copy, 'targets', a.version, f));
        expect(createHash('sha256').update(bytes).digest('hex'), f).toBe(entry.hashes.sha256);
      }
    }
    // No installer of ours published twice, under another path; none has a chunk map (each is
    // smaller than CHUNK_MAP_MIN_BYTES: differential updates would not pay for two more objects).
    const installers = entries.filter(([p]) => /^1\.\d+\.\d+\/App-/.test(p));
    expect(installers.length).toBe(acknowledged.length);
    expect(entries.filter(([p]) => p.endsWith('.chunks.json'))).toEqual([]);

    // `repo verify` on the bucket's content.
    const check = await verifyRepository({ repo: copy });
    expect(check.problems).toEqual([]);
    // No two objects for one metadata version: every versioned key was written once (If-None-Match).
    const tree = `${fx.prefix}/repositories/app/`;
    const puts = [...(await fx.puts())].filter(([k]) => k.startsWith(tree) && !k.endsWith('/timestamp.json'));
    expect(puts.filter(([, n]) => n !== 1)).toEqual([]);

    // Both clients, fresh, read every acknowledged release from the bucket at the end.
    const paths = acknowledged.map((a) => a.path);
    const want = acknowledged.map((a) => sha256(a.bytes));
    for (const view of [
      await ourClient(fx.tree('app'), repo.trustedRoot, paths),
      await tufJsClient(fx.tree('app'), repo.trustedRoot, paths),
    ])
      expect(paths.map((p) => view.files.get(p) && sha256(view.files.get(p)!))).toEqual(want);
  }, 240_000);
});
