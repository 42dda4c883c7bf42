/**
 * The embedded server killed with SIGKILL while publishing, then restarted on the same data
 * directory: every accepted change is published after the restart, none twice, and the served
 * tree verifies. Runs the built CLI (`npm run build` first, as `npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyRepository } from 'electron-tuf/publisher';
import { cleanupTemp, makeRepo, ourClient, tempDir } from '../../test/publisher/helpers.js';
import { newToken } from '../src/tokens.js';
import { addRelease, bootstrapRepository, installerBytes, settled, sha256 } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const children: ChildProcess[] = [];

/** Starts the server as its own process; resolves with its URL from the first output line. */
function startChild(data: string, adminToken: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'start', '--data', data, '--port', '0'], {
    env: { ...process.env, ELECTRON_TUF_ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+?) /.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cleanupTemp();
});

describe('kill -9 and restart', () => {
  it('loses no accepted release', async () => {
    const data = await tempDir('etuf-crash-');
    const adminToken = newToken();
    const repo = await makeRepo();
    let server = await startChild(data, adminToken);
    await bootstrapRepository(server, adminToken, 'app', repo);

    const versions = Array.from({ length: 8 }, (_, i) => `3.${i}.0`);
    const files = versions.map((v) => installerBytes(`crash-${v}`));
    const tasks: string[] = [];
    for (const [i, v] of versions.entries()) {
      const a = await addRelease(server, adminToken, 'app', { version: v, files: { [`App-${v}.zip`]: files[i] } });
      expect(a.status).toBe(202);
      tasks.push(a.body.task);
    }
    // Killed while the worker is still working through the accepted changes.
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await exited;

    server = await startChild(data, adminToken);
    const states = await Promise.all(tasks.map(async (t) => (await settled(server, adminToken, t)).body.state));
    expect(states).toEqual(versions.map(() => 'succeeded'));
    const check = await verifyRepository({ repo: join(data, 'repositories', 'app') });
    expect(check.problems).toEqual([]);
    const paths = versions.map((v) => `${v}/App-${v}.zip`);
    const view = await ourClient(
      {
        metadataUrl: `${server.url}/repositories/app/metadata/`,
        targetsUrl: `${server.url}/repositories/app/targets/`,
      },
      repo.trustedRoot,
      paths,
    );
    expect(paths.map((p, i) => sha256(view.files.get(p)!) === sha256(files[i]))).toEqual(paths.map(() => true));
  }, 120_000);
});
