/**
 * The staged root in PostgreSQL (server/src/storage/db-staged-root.ts), through two connection
 * pools as two processes have them: signatures stored at once by both are both kept (one row per
 * key id), replacing the staged root drops the old one's signatures, and the database refuses a
 * signature for a staged root that is no longer staged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValueError } from 'electron-tuf/core';
import { detachedBytes, type DetachedSignature } from 'electron-tuf/publisher';
import { openPostgres, type Db } from '../src/db.js';
import { migrate } from '../src/schema.js';
import { dbStagedRootStore } from '../src/storage/db-staged-root.js';
import { freshDatabase } from './s3-helpers.js';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let a: Db;
let b: Db;

beforeAll(async () => {
  database = await freshDatabase();
  a = await openPostgres(database.url);
  b = await openPostgres(database.url);
  await migrate(a);
  await a.query(`INSERT INTO repositories (name, keys) VALUES ('app', '{}')`);
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

const digest = (c: string): string => c.repeat(64);
const sig = (keyid: string, signedSha256: string): DetachedSignature => ({
  role: 'root',
  version: 2,
  keyid,
  sig: `${keyid}00`,
  signedSha256,
});
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('the staged root in PostgreSQL', () => {
  it('keeps every holder’s signature, drops them with a replaced root, refuses one for a stale root', async () => {
    const storeA = dbStagedRootStore(a, 'app');
    const storeB = dbStagedRootStore(b, 'app');
    expect(await storeA.load()).toBeUndefined();
    const root = Buffer.from('{"signed":{"_type":"root"}}\n\u0000raw bytes kept exactly');
    await storeA.replace(root, digest('a'));

    // Ten holders through two pools at once: every signature is kept.
    const keyids = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(16));
    await Promise.all(keyids.map((k, i) => (i % 2 ? storeA : storeB).addSignature(sig(k, digest('a')))));
    const loaded = await storeB.load();
    expect(Buffer.from(loaded!.bytes).equals(root)).toBe(true);
    expect(loaded!.signatures.map((s) => text(s.bytes)).sort()).toEqual(
      keyids.map((k) => detachedBytes(sig(k, digest('a')))).sort(),
    );
    // A second signature by the same key replaces the first (one row per key id).
    await storeB.addSignature({ ...sig(keyids[0], digest('a')), sig: 'ff' });
    expect((await storeA.load())!.signatures).toHaveLength(10);

    // A new staged root: the old signatures were over other bytes and are gone.
    await storeB.replace(Buffer.from('{"other":1}'), digest('b'));
    expect((await storeA.load())!.signatures).toEqual([]);
    // A signature naming the replaced root is refused by the database itself.
    await expect(storeA.addSignature(sig(keyids[1], digest('a')))).rejects.toThrow(ValueError);
    await expect(storeA.addSignature(sig(keyids[1], digest('a')))).rejects.toThrow(/no longer staged/);
    // Key ids name rows: only plain hex.
    await expect(storeA.addSignature(sig('../x', digest('b')))).rejects.toThrow(/invalid key id/);
    expect((await storeA.load())!.signatures).toEqual([]);

    await storeA.discard();
    expect(await storeB.load()).toBeUndefined();
  }, 60_000);
});
