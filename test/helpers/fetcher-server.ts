/**
 * Serves any Fetcher (typically the RepositorySimulator) over real HTTP on 127.0.0.1, so
 * clients that do their own networking (our CLI, tuf-js) can run against it:
 * GET <origin>/<path> answers with fetcher.fetch(<base>/<path>).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownloadHTTPError } from '../../updater/core/errors.js';
import type { Fetcher } from '../../updater/client/fetcher.js';

export interface FetcherServer {
  origin: string;
  close(): Promise<void>;
}

export async function serveFetcher(fetcher: Fetcher, base: string): Promise<FetcherServer> {
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the handler answers every error itself
  const server = http.createServer(async (req, res) => {
    try {
      const response = await fetcher.fetch(base + (req.url ?? '/'));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for await (const chunk of response.body) res.write(chunk);
      res.end();
    } catch (e) {
      const status = e instanceof DownloadHTTPError ? e.status : 500;
      if (!res.headersSent) res.writeHead(status).end();
      else res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
