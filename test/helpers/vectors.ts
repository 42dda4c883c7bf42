import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root of this checkout. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/vectors beside the checkout (python-tuf interoperability vectors). */
export const VECTORS = (() => {
  const candidates = [process.env.TUF_VECTORS, join(ROOT, '../shared/vectors')].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`interoperability vectors not found (looked in ${candidates.join(', ')})`);
  return found;
})();
