/**
 * The read-only server: only metadata/ and targets/, on 127.0.0.1, no way out of them
 * (dot segments, encoded separators, symlinks), GET/HEAD only, byte ranges for resumes.
 */
import { request } from 'node:http';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serveRepository, type RepositoryServer } from '../../publisher/index.js';
import { cleanupTemp, makeRepo, type TestRepo } from './helpers.js';
import { parseDoc } from '../helpers/metadata-doc.js';

let r: TestRepo;
let server: RepositoryServer;

beforeAll(async () => {
  r = await makeRepo();
  await mkdir(join(r.repo, 'targets', 'docs'), { recursive: true });
  await writeFile(join(r.repo, 'targets', 'docs', 'a b.txt'), '0123456789');
  await writeFile(join(r.repo, 'targets', 'docs', '.hidden'), 'secret');
  await writeFile(join(r.dir, 'outside.txt'), 'outside');
  await symlink(join(r.dir, 'outside.txt'), join(r.repo, 'targets', 'docs', 'link.txt'));
  server = await serveRepository({ repo: r.repo });
});
afterAll(async () => {
  await server.close();
  await cleanupTemp();
});

/** A raw request (no URL normalisation by a client library). */
function get(
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

it('listens on 127.0.0.1 and serves metadata and targets', async () => {
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const root = await get('/metadata/1.root.json');
  expect(root.status).toBe(200);
  expect(root.headers['content-type']).toBe('application/json');
  expect(parseDoc(root.body).signed._type).toBe('root');
  expect((await get('/metadata/timestamp.json')).headers['cache-control']).toBe('no-cache');
  expect((await get('/targets/docs/a%20b.txt')).body).toBe('0123456789');
});

it('serves nothing outside metadata/ and targets/', async () => {
  for (const path of [
    '/electron-tuf.json',
    '/.publish.lock',
    '/metadata/../electron-tuf.json',
    '/metadata/%2e%2e/electron-tuf.json',
    '/targets/..%2F..%2Foutside.txt',
    '/targets/docs%2F..%2F..%2Felectron-tuf.json',
    '/targets/docs/.hidden',
    '/targets/docs/link.txt',
    '/targets/docs/%00',
    '/targets/docs/%E0%A4%A',
    '/targets/',
    '/targets',
    '/staged/root.json',
    '/metadata/..\\electron-tuf.json',
  ]) {
    const res = await get(path);
    expect([res.status, path]).toEqual([404, path]);
  }
});

it('answers GET and HEAD only, and honours byte ranges', async () => {
  expect((await get('/targets/docs/a%20b.txt', { method: 'PUT' })).status).toBe(405);
  expect((await get('/targets/docs/a%20b.txt', { method: 'DELETE' })).status).toBe(405);
  const head = await get('/targets/docs/a%20b.txt', { method: 'HEAD' });
  expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '10', '']);
  const tail = await get('/targets/docs/a%20b.txt', { headers: { Range: 'bytes=4-' } });
  expect([tail.status, tail.body, tail.headers['content-range']]).toEqual([206, '456789', 'bytes 4-9/10']);
  const middle = await get('/targets/docs/a%20b.txt', { headers: { Range: 'bytes=2-3' } });
  expect(middle.body).toBe('23');
  const suffix = await get('/targets/docs/a%20b.txt', { headers: { Range: 'bytes=-3' } });
  expect(suffix.body).toBe('789');
  expect((await get('/targets/docs/a%20b.txt', { headers: { Range: 'bytes=50-' } })).status).toBe(416);
});
