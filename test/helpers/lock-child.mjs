// Child process for test/node-io/file-lock.test.ts. Plain JS, so it runs without a TypeScript
// loader; it imports the lock module compiled by the test (argv[2] is that module's file URL).
//   count <lockPath> <counterPath> <n>: n times, under the lock, read the counter and write it + 1
//   hold <lockPath>: take the lock, tell the parent 'held', then wait to be killed
import { readFile, writeFile } from 'node:fs/promises';

const [moduleUrl, command, lockPath, ...rest] = process.argv.slice(2);
const { acquireLock, withLock } = await import(moduleUrl);

if (command === 'count') {
  const [counterPath, times] = rest;
  for (let i = 0; i < Number(times); i++) {
    await withLock(
      lockPath,
      async () => {
        const value = Number(await readFile(counterPath, 'utf8'));
        // Yield between read and write, so an unlocked increment would lose updates.
        await new Promise((resolve) => setImmediate(resolve));
        await writeFile(counterPath, String(value + 1));
      },
      { timeoutMs: 20_000 },
    );
  }
} else if (command === 'hold') {
  await acquireLock(lockPath, { timeoutMs: 5_000 });
  process.send?.('held');
  setInterval(() => undefined, 1_000); // stay alive until killed
} else {
  throw new Error(`unknown command ${command}`);
}
