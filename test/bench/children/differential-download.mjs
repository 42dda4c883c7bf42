/**
 * Child of test/bench/differential-download.bench.ts (via lib/differential-download.ts): one
 * app process that checks for updates and downloads the update found, differentially or (with
 * `full`) in full. Imports the compiled package (dist/), as an app does, and uses the default
 * fetcher, so nothing but the updater runs in this process while it is timed.
 *
 * Measured around downloadUpdate() only: wall time, this process's CPU time, the bytes the
 * download-progress events counted (bytes actually downloaded for the installer), and whether
 * the installer was built differentially (the updater's log says so).
 *
 * argv: <json: {metadataUrl, targetsUrl, trustedRoot, userDataPath, version, full}>
 * prints: { wallMs, cpuMs, bytes, total, differential, fellBack, file }
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// BENCH_DIST: another build of the package (e.g. a copy of dist/ before a change), to compare.
const DIST = process.env.BENCH_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist');
const { NodeHost, TufAppUpdater } = await import(pathToFileURL(join(DIST, 'updater', 'index.js')).href);

const options = JSON.parse(process.argv[2]);
const lines = [];
const updater = new TufAppUpdater({
  host: new NodeHost({ version: options.version, userDataPath: options.userDataPath, env: {} }),
  metadataUrl: options.metadataUrl,
  targetsUrl: options.targetsUrl,
  trustedRoot: options.trustedRoot,
  platform: 'linux',
  arch: 'x64',
  installKind: 'tar.gz',
  logger: {
    info: (m) => lines.push(String(m)),
    warn: (m) => lines.push(String(m)),
    error: (m) => lines.push(String(m)),
  },
});
updater.autoDownload = false;
updater.disableDifferentialDownload = options.full === true;
let bytes = 0;
let total = 0;
updater.on('download-progress', (p) => {
  bytes += p.delta;
  total = p.total;
});
const result = await updater.checkForUpdates();
if (!result?.isUpdateAvailable) throw new Error(`no update offered to ${options.version}`);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const [file] = await updater.downloadUpdate();
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytes,
    total,
    differential: lines.some((l) => l.startsWith('differential download of')),
    fellBack: lines.some((l) => l.startsWith('Cannot download differentially')),
    file,
  })}\n`,
);
