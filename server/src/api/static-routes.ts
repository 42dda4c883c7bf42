/**
 * The published trees, read only and without a token, for clients (embedded mode): metadata/
 * and targets/ of each repository under `/repositories/<name>/`. Paths are resolved with the
 * publisher's `resolveFile` (one segment at a time, no dot segments, symlinks kept inside), with
 * the publisher's Cache-Control (versioned and hash-named files immutable, timestamp revalidated).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorCode } from 'electron-tuf/node-io';
import { cacheControlFor, resolveFile } from 'electron-tuf/publisher';
import type { Api, ApiDeps } from './app.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function registerStaticRoutes(app: Api, deps: ApiDeps): void {
  app.get('/repositories/*', { schema: { hide: true } }, async (request, reply) => {
    const raw = request.raw.url ?? '';
    const m = /^\/repositories\/([^/?#]+)(\/.*)$/.exec(raw);
    if (!m || !NAME.test(m[1])) return reply.code(404).send({ error: 'not found' });
    const base = join(deps.repositories.dataDir, 'repositories', m[1]);
    const file = await resolveFile({ metadata: join(base, 'metadata'), targets: join(base, 'targets') }, m[2]);
    // Gone since it was resolved: a 404; any other failure is the disk's (a 500, logged).
    const info = file
      ? await stat(file).catch((error: unknown) => {
          if (errorCode(error) === 'ENOENT') return undefined;
          throw error;
        })
      : undefined;
    if (!file || !info?.isFile()) return reply.code(404).send({ error: 'not found' });
    reply
      .header('content-length', info.size)
      .header('content-type', 'application/octet-stream')
      .header('cache-control', cacheControlFor(basename(file)));
    return reply.send(createReadStream(file));
  });
}
