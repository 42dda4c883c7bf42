import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root of this checkout. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The python-tuf interoperability vectors kept in the repository (test/vectors/README.md). */
export const VECTORS = process.env.TUF_VECTORS ?? join(ROOT, 'test/vectors/python-tuf');
if (!existsSync(VECTORS)) throw new Error(`interoperability vectors not found at ${VECTORS}`);
