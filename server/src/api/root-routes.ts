/**
 * Root changes with offline root keys (distributed signing): an admin stages a change (a key
 * rotation, or a root renewal), each root key holder fetches the staged root, signs it on their
 * own machine (`electron-tuf repo sign ... --out sig.json`) and uploads the detached signature.
 * Both go through the worker like every publish; the root is published once the thresholds of
 * the current and the staged root are met (TUF 5.3.4).
 */
import { enqueueChange } from '../changes.js';
import { NotFoundError } from '../errors.js';
import { requireAdmin, requirePublish } from '../tokens.js';
import { tokenOf, type Api, type ApiDeps } from './app.js';
import { RepoParams, RootSignature, RootVersionParams, RotateRoot } from './schemas.js';

/** The publisher's own bound for root metadata is far below this; a larger file is not a root. */
const MAX_ROOT_BYTES = 1024 * 1024;

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

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

  api.get('/repositories/:repo/root/staged', { schema: { params: RepoParams, tags: ['root'] } }, async (request) => {
    requirePublish(await tokenOf(request, db), request.params.repo);
    await repositories.get(request.params.repo);
    // Wherever the repository's staged root is kept (its directory, or the database with S3 storage).
    const staged = await (await repositories.stagedRootOf(request.params.repo)).load();
    if (staged === undefined) throw new NotFoundError('no root change is staged');
    return { staged: text(staged.bytes) };
  });

  // The published roots, one version at a time, so a holder can walk the chain from a root they
  // trust to the current one (TUF 5.3) before signing the staged root.
  api.get(
    '/repositories/:repo/root/versions/:version',
    { schema: { params: RootVersionParams, tags: ['root'] } },
    async (request) => {
      const { repo, version } = request.params;
      requirePublish(await tokenOf(request, db), repo);
      await repositories.get(repo);
      const storage = await repositories.storageOf(repo);
      const root = await storage.readMetadata(`${version}.root.json`, MAX_ROOT_BYTES);
      if (root === undefined) throw new NotFoundError(`no root version ${version} is published`);
      return { root: text(root) };
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
