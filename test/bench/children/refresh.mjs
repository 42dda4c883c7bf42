/**
 * No-change refresh, as an app does at every start: a new Updater, refresh(), nothing new on
 * the server. Warms the cache (and the JIT) first, then times `iterations` refreshes and reads
 * the server's counters around them.
 *
 * argv: <client> <metadataDir> <metadataBaseUrl> <statsUrl> <iterations>
 * prints: { times: number[] (ms), requests, bytes, maxRssKib }
 */
import { finish, loadUpdaterClass, maxRssKib } from './clients.mjs';

const [client, metadataDir, metadataBaseUrl, statsUrl, iterationsArg] = process.argv.slice(2);
const iterations = Number(iterationsArg);
const Updater = await loadUpdaterClass(client);

const refreshOnce = async () => {
  const started = performance.now();
  await new Updater({ metadataDir, metadataBaseUrl }).refresh();
  return performance.now() - started;
};
const stats = async () => (await fetch(statsUrl)).json();

for (let i = 0; i < 5; i++) await refreshOnce(); // the first one fills the cache
const before = await stats();
const times = [];
for (let i = 0; i < iterations; i++) times.push(await refreshOnce());
const after = await stats();
finish({
  times,
  requests: (after.requests - before.requests) / iterations,
  bytes: (after.bytes - before.bytes) / iterations,
  maxRssKib: maxRssKib(),
});
