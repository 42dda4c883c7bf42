/**
 * The clients under test behind one shape, loaded lazily so a process pays only for the one it
 * runs: `ours` is the built Updater in dist/ (run `npm run build` first), `tufjs` is tuf-js 6.
 * Both take { metadataDir, metadataBaseUrl, targetDir, targetBaseUrl } and offer refresh(),
 * getTargetInfo(path) and downloadTarget(info, filePath).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const DIST = new URL('../../../dist/', import.meta.url);

export async function loadUpdaterClass(client) {
  switch (client) {
    case 'ours':
      return (await import(new URL('updater/client/updater.js', DIST).href)).Updater;
    case 'tufjs':
      return require('tuf-js').Updater;
    default:
      throw new Error(`unknown client ${client}`);
  }
}

/** Peak resident set size of this process so far, in KiB. */
export function maxRssKib() {
  return process.resourceUsage().maxRSS;
}

/** Prints the result line the parent reads, then exits (idle keep-alive sockets must not hold us). */
export function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
