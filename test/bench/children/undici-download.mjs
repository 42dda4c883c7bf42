/**
 * The floor for a target download: undici's request() streamed to a file, no hashing, no
 * verification, no fsync (timed apart afterwards, as `fsyncMs`).
 *
 * argv: <url> <destPath> (the server must answer /__stats, as lib/static-server.ts does)
 * prints: { downloadMs, fsyncMs, bytes, maxRssKib }
 */
import { createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { finish, maxRssKib } from './clients.mjs';

const [url, destPath] = process.argv.slice(2);
// Warm up like the TUF clients are (they refreshed first): connection open, parser loaded.
await (await request(new URL('/__stats', url))).body.dump();
const started = performance.now();
const { statusCode, body } = await request(url);
if (statusCode !== 200) throw new Error(`${url}: HTTP ${statusCode}`);
await pipeline(body, createWriteStream(destPath));
const downloadMs = performance.now() - started;
// Not part of the floor, but our client fsyncs before the atomic rename: report what that costs.
const syncStarted = performance.now();
const handle = await open(destPath, 'r+');
await handle.sync();
await handle.close();
const fsyncMs = performance.now() - syncStarted;
finish({ downloadMs, fsyncMs, bytes: (await stat(destPath)).size, maxRssKib: maxRssKib() });
