import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The checkout's root. This module runs from build/ (tests, tsx) and from dist/build/ (after
 * `npm run build`), so look one or two levels up.
 */
export const PROJECT_ROOT = basename(dirname(HERE)) === 'dist' ? resolve(HERE, '../..') : resolve(HERE, '..');
