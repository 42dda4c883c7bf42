/**
 * Child of test/bench/app-check.bench.ts: an app process checking for updates, as an app does
 * at start (a new TufAppUpdater on the userData it used before) and then again, warm. Imports
 * the compiled package (dist/, `npm run bench` builds it first), as an app imports electron-tuf.
 *
 * Only checkForUpdates() is measured: process.cpuUsage() (this whole process, main thread and
 * libuv's threads: what the Electron main process would spend), wall time, and every request
 * with its body bytes (CountingFetcher from build/demo).
 *
 * With `httpFloor`, measures instead one plain node:http GET of timestamp.json, the first of
 * the process: the part of a cold check that is Node loading its HTTP client.
 *
 * argv: <json: {metadataUrl, targetsUrl, trustedRoot, userDataPath, version, iterations, httpFloor?}>
 * prints: [{ cpuMs, wallMs, available, version, fetches: [{url, bytes, ok}] }] (one per check)
 */
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist');
const { NodeHost, TufAppUpdater } = await import(pathToFileURL(join(DIST, 'updater', 'index.js')).href);
const { CountingFetcher } = await import(pathToFileURL(join(DIST, 'build', 'demo', 'counting-fetcher.js')).href);

const options = JSON.parse(process.argv[2]);
if (options.httpFloor) {
  const url = `${options.metadataUrl}/timestamp.json`;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const bytes = await new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let received = 0;
        response.on('data', (chunk) => (received += chunk.length));
        response.on('end', () => resolve(received));
      })
      .on('error', reject);
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(
    `${JSON.stringify([{ cpuMs: (cpu.user + cpu.system) / 1000, wallMs, available: null, version: null, fetches: [{ url, bytes, ok: true }] }])}\n`,
  );
  process.exit(0);
}
const checks = [];
for (let i = 0; i < options.iterations; i++) {
  const fetcher = new CountingFetcher();
  const host = new NodeHost({
    version: options.version,
    userDataPath: options.userDataPath,
    execPath: join(options.userDataPath, '..', 'app', 'electron-tuf-demo'),
    env: {},
  });
  const updater = new TufAppUpdater({
    host,
    metadataUrl: options.metadataUrl,
    targetsUrl: options.targetsUrl,
    trustedRoot: options.trustedRoot,
    platform: 'linux',
    arch: 'x64',
    installKind: 'tar.gz',
    fetcher,
    logger: null,
  });
  updater.autoDownload = false;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await updater.checkForUpdates();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  checks.push({
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    available: result?.isUpdateAvailable ?? null,
    version: result?.updateInfo.version ?? null,
    fetches: fetcher.records,
  });
}
process.stdout.write(`${JSON.stringify(checks)}\n`);
