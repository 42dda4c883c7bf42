/**
 * One client run as an app does it: load the client, refresh, look a target up, and (with
 * `download`) download and verify it. Times each phase in-process; the parent times the whole
 * process and counts what the server sent.
 *
 * argv: <JSON { client, metadataDir, metadataBaseUrl, targetBaseUrl?, targetDir?, targetPath, download? }>
 * prints: { loadMs, refreshMs, lookupMs, downloadMs?, found, length?, sinceStartMs, maxRssKib }
 */
import { join } from 'node:path';
import { finish, loadUpdaterClass, maxRssKib } from './clients.mjs';

const job = JSON.parse(process.argv[2]);
let mark = performance.now();
const lap = () => {
  const now = performance.now();
  const ms = now - mark;
  mark = now;
  return ms;
};

const Updater = await loadUpdaterClass(job.client);
const loadMs = lap();
const updater = new Updater({
  metadataDir: job.metadataDir,
  metadataBaseUrl: job.metadataBaseUrl,
  targetDir: job.targetDir,
  targetBaseUrl: job.targetBaseUrl,
});
await updater.refresh();
const refreshMs = lap();
const info = await updater.getTargetInfo(job.targetPath);
const lookupMs = lap();
let downloadMs;
if (job.download) {
  if (!info) throw new Error(`${job.targetPath} not found`);
  await updater.downloadTarget(info, join(job.targetDir, 'download.bin'));
  downloadMs = lap();
}
finish({
  loadMs,
  refreshMs,
  lookupMs,
  downloadMs,
  found: info !== undefined,
  length: info?.length,
  sinceStartMs: performance.now(),
  maxRssKib: maxRssKib(),
});
