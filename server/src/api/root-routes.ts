/**
 * Root changes with offline root keys (distributed signing): an admin stages a change (a key
 * rotation, or a root renewal), each root key holder fetches the staged root, signs it on their
 * own machine (`electron-tuf repo sign ... --out sig.json`) and uploads the detached signature.
 * Both go through the worker like every publish; the root is published once the thresholds of
 * the current and the staged root are met (TUF 5.3.4).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { enqueueChange } from '../changes.js';
import { requireAdmin, requirePublish } from '../tokens.js';
import { tokenOf, type Api, type ApiDeps } from './app.js';
import { RepoParams, RootSignature, RotateRoot } from './schemas.js';

const MAX_STAGED_ROOT_BYTES = 1024 * 1024;

export function registerRootRoutes(api: Api, deps: ApiDeps): void {
  const { db, repositories } = deps;

  api.post(
    '/repositories/:repo/root/rotations',
    { schema: { params: RepoParams, body: RotateRoot, tags: ['root'] } },
    async (request, reply) => {
      requireAdmin(await tokenOf(request, db));
      await repositories.get(request.params.repo);
      const task = await enqueueChange(db, request.params.repo, 'rotate', request.body);
      await deps.trigger(request.params.repo);
      return reply.code(202).send({ task, state: 'pending' });
    },
  );

  api.get(
    '/repositories/:repo/root/staged',
    { schema: { params: RepoParams, tags: ['root'] } },
    async (request, reply) => {
      requirePublish(await tokenOf(request, db), request.params.repo);
      await repositories.get(request.params.repo);
      const file = join(repositories.dirOf(request.params.repo), 'staged', 'root.json');
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile() || info.size > MAX_STAGED_ROOT_BYTES)
        return reply.code(404).send({ error: 'no root change is staged' });
      return { staged: await readFile(file, 'utf8') };
    },
  );

  api.post(
    '/repositories/:repo/root/signatures',
    { schema: { params: RepoParams, body: RootSignature, tags: ['root'] } },
    async (request, reply) => {
      requireAdmin(await tokenOf(request, db));
      await repositories.get(request.params.repo);
      const task = await enqueueChange(db, request.params.repo, 'sign', request.body);
      await deps.trigger(request.params.repo);
      return reply.code(202).send({ task, state: 'pending' });
    },
  );
}
