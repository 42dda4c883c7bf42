/**
 * TypeScript to JavaScript for the builds made from the checkout (the demo app, the test app
 * installs): only the files an entry point needs, without a type check.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ValueError } from '../updater/core/errors.js';
import { PROJECT_ROOT } from './paths.js';

/**
 * Emits `files` and everything they import from the checkout (only that) into `outDir`, laid
 * out as `npm run build` lays them out in dist/ (`<outDir>/publisher/...`), one output file per
 * source file. esbuild finds the files and strips the types: well under a second where a
 * type-checking tsc run takes 15-25 s. tsconfig.json sets `isolatedModules`, so
 * `npm run typecheck` refuses code that file-by-file transpiling would get wrong.
 * Syntax errors fail with a ValueError naming `what`.
 */
export async function transpileClosure(files: string[], outDir: string, what: string): Promise<void> {
  const esbuild = await import('esbuild');
  const common = {
    platform: 'node',
    format: 'esm',
    target: 'es2022',
    logLevel: 'silent',
    tsconfigRaw: await projectCompilerOptions(),
  } as const;
  try {
    // Pass 1 only resolves the imports (nothing written); pass 2 emits each file on its own.
    const found = await esbuild.build({
      ...common,
      entryPoints: files,
      bundle: true,
      packages: 'external',
      write: false,
      metafile: true,
      outdir: outDir,
    });
    const sources = Object.keys(found.metafile.inputs).map((input) => resolve(PROJECT_ROOT, input));
    const outside = sources.find((source) => relative(PROJECT_ROOT, source).startsWith('..'));
    if (outside !== undefined) throw new ValueError(`${what} imports ${outside}, outside the checkout`);
    await esbuild.build({ ...common, entryPoints: sources, bundle: false, outbase: PROJECT_ROOT, outdir: outDir });
  } catch (error) {
    if (error instanceof ValueError) throw error;
    const errors =
      (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors ?? [];
    const report =
      errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join('\n') ||
      String(error);
    throw new ValueError(`${what} does not compile:\n${report.slice(0, 4000)}`, { cause: error });
  }
}

/** tsconfig.json's compilerOptions (esbuild reads the ones that change emitted code). */
async function projectCompilerOptions(): Promise<{ compilerOptions: Record<string, unknown> }> {
  const config = JSON.parse(await readFile(join(PROJECT_ROOT, 'tsconfig.json'), 'utf8')) as {
    compilerOptions?: Record<string, unknown>;
  };
  return { compilerOptions: config.compilerOptions ?? {} };
}
