/** Repositories, uploads, releases and tasks. Writes answer 202 with a task id (see changes.ts). */
import { Stream, type Readable } from 'node:stream';
import { defaultChannelFor, validateVersion } from 'electron-tuf/release';
import { enqueueChange, getTask, knownRelease, pendingOf, publishedReleases } from '../changes.js';
import { BadRequestError, NotFoundError, ServiceError } from '../errors.js';
import { requireAdmin, requireChannelFor, requirePublish } from '../tokens.js';
import { queueAddOfUploads, recordUpload, type UploadCap } from '../upload-records.js';
import { BOOTSTRAP_BODY_LIMIT, publisherOf, tokenOf, type Api, type ApiDeps } from './app.js';
import {
  AddRelease,
  Bootstrap,
  ChannelQuery,
  ReleaseParams,
  RepoParams,
  StagingChange,
  TaskParams,
  UploadParams,
  UploadRequest,
} from './schemas.js';

export async function registerRepositoryRoutes(api: Api, deps: ApiDeps): Promise<void> {
  const { db, repositories } = deps;
  // Unused records within the upload grace period count against the cap; older ones are gc's.
  const uploadCap = (): UploadCap => ({
    max: deps.maxUnusedUploads,
    since: new Date(Date.now() - deps.uploadGraceDays * 86_400_000),
  });

  api.post(
    '/repositories',
    { bodyLimit: BOOTSTRAP_BODY_LIMIT, schema: { body: Bootstrap, tags: ['repositories'] } },
    async (request, reply) => {
      requireAdmin(await tokenOf(request, db));
      return reply.code(201).send(await repositories.bootstrap(request.body));
    },
  );

  api.get('/repositories', { schema: { tags: ['repositories'] } }, async (request) => {
    const token = await tokenOf(request, db);
    const all = await repositories.list();
    return { repositories: token.scope === 'admin' ? all : all.filter((r) => r === token.repository) };
  });

  // Where to upload an installer: straight to the object store (a presigned PUT of exactly this
  // length), or to the API's own upload route below (disk storage).
  api.post(
    '/repositories/:repo/uploads/:sha256',
    { schema: { params: UploadParams, body: UploadRequest, tags: ['releases'] } },
    async (request) => {
      const { repo, sha256 } = request.params;
      await publisherOf(request, db, repo);
      const { length } = request.body;
      if (length > deps.maxUploadBytes)
        throw new ServiceError(`an upload may hold at most ${deps.maxUploadBytes} bytes`, 413);
      if ('presign' in deps.blobs) {
        // Recorded before the URL is handed out: garbage collection finds an upload never used (upload-records.ts).
        await recordUpload(db, repo, sha256, length, uploadCap());
        return { direct: true, ...(await deps.blobs.presign(repo, sha256, length)) };
      }
      return { direct: false, method: 'PUT', url: `/api/v1/repositories/${repo}/uploads/${sha256}` };
    },
  );

  // Installer bytes, addressed by their SHA-256, streamed to disk within the size bound.
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify waits for a plugin's promise (or its done callback)
  await api.register(async (scope) => {
    const uploads = scope as Api;
    uploads.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    uploads.put(
      '/repositories/:repo/uploads/:sha256',
      { schema: { params: UploadParams, tags: ['releases'] } },
      async (request, reply) => {
        await publisherOf(request, db, request.params.repo);
        const blobs = deps.blobs;
        if (!('put' in blobs))
          throw new ServiceError(
            'this service takes uploads straight to its object store: POST this URL with {"length": N} for a presigned URL',
            409,
          );
        const length = Number(request.headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 1)
          throw new ServiceError('an upload needs a Content-Length', 411);
        if (length > deps.maxUploadBytes)
          throw new ServiceError(`an upload may hold at most ${deps.maxUploadBytes} bytes`, 413);
        if (!(request.body instanceof Stream))
          throw new ServiceError('send the installer bytes as application/octet-stream', 415);
        // Recorded first (refused beyond the cap before any bytes are stored); an upload that then
        // fails leaves a record that gc deletes after the grace period, like an abandoned one.
        await recordUpload(db, request.params.repo, request.params.sha256, length, uploadCap());
        await blobs.put(request.params.repo, request.params.sha256, length, request.body as Readable);
        return reply.code(201).send({ sha256: request.params.sha256, length });
      },
    );
  });

  api.post(
    '/repositories/:repo/releases',
    { schema: { params: RepoParams, body: AddRelease, tags: ['releases'] } },
    async (request, reply) => {
      const { repo } = request.params;
      const b = request.body;
      const version = validateVersion(b.version);
      const channel = b.channel ?? defaultChannelFor(version);
      await publisherOf(request, db, repo, channel);
      const names = new Set<string>();
      for (const i of b.installers) {
        if (names.has(i.name)) throw new BadRequestError(`installer ${i.name} is given twice`);
        names.add(i.name);
      }
      const missing = (i: { name: string; length: number; sha256: string }): BadRequestError =>
        new BadRequestError(`installer ${i.name}: upload its ${i.length} bytes (SHA-256 ${i.sha256}) first`);
      for (const i of b.installers) if (!(await deps.blobs.has(repo, i.sha256, i.length))) throw missing(i);
      // Then queued in one statement only if every upload's row is still there, which a gc that
      // deleted an object after the look above has deleted first: refused up front, as if the
      // look had failed; a later gc sees this add and keeps them (upload-records.ts). The worker
      // never finds an upload gone, and no connection is held while the store answers.
      const queued = await queueAddOfUploads(db, repo, { ...b, version, channel });
      if ('missing' in queued)
        throw missing(b.installers.find((i) => queued.missing.includes(i.sha256)) ?? b.installers[0]);
      const { task } = queued;
      await deps.trigger(repo);
      return reply.code(202).send({ task, state: 'pending' });
    },
  );

  api.delete(
    '/repositories/:repo/releases/:version',
    { schema: { params: ReleaseParams, querystring: ChannelQuery, tags: ['releases'] } },
    async (request, reply) => {
      const { repo } = request.params;
      const version = validateVersion(request.params.version);
      const { channel } = request.query;
      const token = await tokenOf(request, db);
      requirePublish(token, repo, channel);
      requireChannelFor(token, channel);
      await repositories.get(repo);
      if (!(await knownRelease(db, repo, version, channel)))
        throw new NotFoundError(
          `no release ${version}${channel ? ` in channel ${channel}` : ''} in repository ${repo}`,
        );
      const task = await enqueueChange(db, repo, 'remove', { version, channel });
      await deps.trigger(repo);
      return reply.code(202).send({ task, state: 'pending' });
    },
  );

  api.patch(
    '/repositories/:repo/releases/:version',
    { schema: { params: ReleaseParams, body: StagingChange, tags: ['releases'] } },
    async (request, reply) => {
      const { repo } = request.params;
      const version = validateVersion(request.params.version);
      await publisherOf(request, db, repo, request.body.channel);
      if (!(await knownRelease(db, repo, version, request.body.channel)))
        throw new NotFoundError(`no release ${version} in channel ${request.body.channel} in repository ${repo}`);
      const task = await enqueueChange(db, repo, 'staging', { version, ...request.body });
      await deps.trigger(repo);
      return reply.code(202).send({ task, state: 'pending' });
    },
  );

  api.get(
    '/repositories/:repo/releases/pending',
    { schema: { params: RepoParams, tags: ['releases'] } },
    async (request) => {
      await publisherOf(request, db, request.params.repo);
      return { pending: await pendingOf(db, request.params.repo) };
    },
  );

  api.get('/repositories/:repo/releases', { schema: { params: RepoParams, tags: ['releases'] } }, async (request) => {
    await publisherOf(request, db, request.params.repo);
    return { releases: await publishedReleases(db, request.params.repo) };
  });

  api.get('/tasks/:id', { schema: { params: TaskParams, tags: ['tasks'] } }, async (request) => {
    const token = await tokenOf(request, db);
    const task = await getTask(db, request.params.id);
    requirePublish(token, task.repository);
    return task;
  });
}
