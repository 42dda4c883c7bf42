/**
 * A ReleaseRepo's simulator served over real HTTP on 127.0.0.1 (so the app updater's default
 * fetchers run), recording each request's path and headers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownloadHTTPError } from '../../updater/core/errors.js';
import type { RepositorySimulator } from '../helpers/simulator.js';

export interface RepoServer {
  /** Base URL: `<origin>/metadata` and `<origin>/targets` serve the simulator's repository. */
  origin: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function serveRepo(sim: RepositorySimulator): Promise<RepoServer> {
  const requests: RepoServer['requests'] = [];
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler answers every error itself
  const server = http.createServer(async (req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    try {
      const response = await sim.fetch(`https://sim.example${req.url ?? '/'}`);
      const chunks: Uint8Array[] = [];
      for await (const chunk of response.body) chunks.push(chunk);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.concat(chunks));
    } catch (error) {
      res.writeHead(error instanceof DownloadHTTPError ? error.status : 500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
