/**
 * `npm run bench`: runs every benchmark module in test/bench (`*.bench.ts` and `*.mjs` files
 * directly in that folder; helpers live in subfolders; or the ones named on the command line), prints their figures as a table and
 * writes them to test/bench/results/<timestamp>.json. A module exports
 * `run({ record, quick })`, where `record(name, value, unit, note?)` reports one figure.
 * BENCH_QUICK=1 asks the modules for smaller sizes (a smoke run).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Figure {
  bench: string;
  name: string;
  value: number | string;
  unit: string;
  note?: string;
}

export interface BenchContext {
  record: (name: string, value: number | string, unit: string, note?: string) => void;
  quick: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = (await readdir(here))
    .filter((f) => /(\.bench\.ts|\.mjs)$/.test(f))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  const quick = process.env.BENCH_QUICK === '1';
  const figures: Figure[] = [];
  for (const file of files) {
    const bench = basename(file).replace(/(\.bench)?\.(ts|mjs)$/, '');
    console.log(`\n## ${bench}${quick ? ' (quick)' : ''}`);
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { run(ctx: BenchContext): Promise<void> };
    const started = Date.now();
    await mod.run({
      quick,
      record(name, value, unit, note) {
        figures.push({ bench, name, value, unit, note });
        const shown = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : value;
        console.log(`  ${name.padEnd(58)} ${shown.padStart(12)} ${unit}${note ? `  (${note})` : ''}`);
      },
    });
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const out = join(here, 'results');
  await mkdir(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ node: process.version, quick, figures }, null, 1));
  console.log(`\nfigures written to ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
