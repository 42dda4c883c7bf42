/** Token administration (admin tokens only). The new token is in the creation response, once. */
import type { Api, ApiDeps } from './app.js';
import { tokenOf } from './app.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { createToken, listTokens, requireAdmin, revokeToken } from '../tokens.js';
import { CreateToken, TokenParams } from './schemas.js';

const DAY_MS = 86_400_000;

export function registerTokenRoutes(api: Api, deps: ApiDeps): void {
  api.post('/tokens', { schema: { body: CreateToken, tags: ['tokens'] } }, async (request, reply) => {
    requireAdmin(await tokenOf(request, deps.db));
    const b = request.body;
    if (b.scope === 'publish' && !b.repository) throw new BadRequestError('a publish token needs a repository');
    if (b.scope === 'admin' && (b.repository || b.channel))
      throw new BadRequestError('an admin token has no repository or channel');
    if (b.repository) await deps.repositories.get(b.repository);
    const expiresAt = b.expiresInDays === undefined ? undefined : new Date(Date.now() + b.expiresInDays * DAY_MS);
    const { token, info } = await createToken(deps.db, {
      scope: b.scope,
      repository: b.repository,
      channel: b.channel,
      label: b.label,
      expiresAt,
    });
    return reply.code(201).send({ ...info, token });
  });

  api.get('/tokens', { schema: { tags: ['tokens'] } }, async (request) => {
    requireAdmin(await tokenOf(request, deps.db));
    return { tokens: await listTokens(deps.db) };
  });

  api.delete('/tokens/:id', { schema: { params: TokenParams, tags: ['tokens'] } }, async (request) => {
    requireAdmin(await tokenOf(request, deps.db));
    if (!(await revokeToken(deps.db, request.params.id)))
      throw new NotFoundError(`no active token ${request.params.id}`);
    return { id: request.params.id, revoked: true };
  });
}
