// Child process for test/client/concurrent-download.test.ts: one `Updater.downloadTarget` run,
// as a separate app instance or `client download` would do it, importing the built dist/.
//   argv: <dist client module URL> <metadataDir> <metadataUrl> <targetDir> <targetsUrl> <target path>
// Prints one JSON line: { path, sha256 } read back from the returned path at once, or { error }.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const [moduleUrl, metadataDir, metadataBaseUrl, targetDir, targetBaseUrl, targetPath] = process.argv.slice(2);
const { Updater, HttpFetcher } = await import(moduleUrl);

try {
  const updater = new Updater({
    metadataDir,
    metadataBaseUrl,
    targetDir,
    targetBaseUrl,
    fetcher: new HttpFetcher({ proxy: {} }),
  });
  const info = await updater.getTargetInfo(targetPath);
  const path = await updater.downloadTarget(info);
  const sha256 = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  process.stdout.write(JSON.stringify({ path, sha256 }) + '\n');
} catch (error) {
  process.stdout.write(JSON.stringify({ error: `${error?.name}: ${error?.message}` }) + '\n');
  process.exitCode = 1;
}
