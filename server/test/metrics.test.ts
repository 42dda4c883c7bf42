/**
 * Prometheus metrics (server/src/ops/metrics.ts) of the embedded service, scraped over HTTP:
 * request counts, publish latency, failed tasks and the timestamp expiry gauge move with what
 * the service does; names follow Prometheus' conventions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRepo } from '../../test/publisher/helpers.js';
import {
  addRelease,
  bootstrapBody,
  call,
  installerBytes,
  settled,
  startAppServer,
  stopTestServer,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let repo: TestRepo;

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one series (`name{labels}`), or undefined when the scrape lacks it. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  ({ server, repo } = await startAppServer({ init: { bins: 4 } }));
}, 120_000);

afterAll(() => stopTestServer(server));

describe('metrics', () => {
  it('move with requests, publishes, failed tasks and the published timestamp', async () => {
    const before = await scrape();
    expect(value(before, 'electron_tuf_publish_latency_seconds_count{kind="add"}')).toBeUndefined();
    expect(before).toContain('# TYPE electron_tuf_http_requests_total counter');
    expect(before).toContain('# TYPE process_cpu_seconds_total counter');

    const boot = await call(server, 'POST', '/api/v1/repositories', {
      token: server.adminToken,
      json: await bootstrapBody('app', repo),
    });
    expect(boot.status).toBe(201);
    const added = await addRelease(server, server.adminToken, 'app', {
      version: '1.0.0',
      files: { 'App-1.0.0.zip': installerBytes('metrics-1') },
    });
    expect((await settled(server, server.adminToken, added.body.task)).body.state).toBe('succeeded');
    // A second zip installer for 1.0.0: the publisher refuses it, the task fails.
    const refused = await addRelease(server, server.adminToken, 'app', {
      version: '1.0.0',
      files: { 'App-1.0.0-other.zip': installerBytes('metrics-2') },
    });
    expect((await settled(server, server.adminToken, refused.body.task)).body.state).toBe('failed');

    const after = await scrape();
    expect(value(after, 'electron_tuf_publish_latency_seconds_count{kind="add"}')).toBe(1);
    expect(value(after, 'electron_tuf_publish_latency_seconds_sum{kind="add"}')).toBeGreaterThan(0);
    expect(value(after, 'electron_tuf_tasks_failed_total{kind="add"}')).toBe(1);
    expect(
      value(after, 'electron_tuf_http_requests_total{method="POST",route="/api/v1/repositories",status_code="201"}'),
    ).toBe(1);
    // Route patterns, never raw URLs: one series for every upload digest.
    expect(
      value(
        after,
        'electron_tuf_http_requests_total{method="PUT",route="/api/v1/repositories/:repo/uploads/:sha256",status_code="201"}',
      ),
    ).toBe(2);
    expect(after).not.toMatch(/route="\/api\/v1\/repositories\/app\//);
    // The gauge is the published timestamp.json's expiry, seen from now.
    const published = (await (await fetch(`${server.url}/repositories/app/metadata/timestamp.json`)).json()) as {
      signed: { expires: string };
    };
    const expected = (Date.parse(published.signed.expires) - Date.now()) / 1000;
    const expiresIn = value(after, 'electron_tuf_timestamp_expires_in_seconds{repository="app"}')!;
    expect(expiresIn).toBeGreaterThan(0);
    expect(Math.abs(expiresIn - expected)).toBeLessThan(120);
    expect(after).toContain('# TYPE electron_tuf_changes_pending gauge');
    // A request no route matches is counted under one label, whatever its URL. Fastify counts a
    // request after its answer is sent (onResponse), so the scrape may come first: look again.
    expect((await fetch(`${server.url}/nothing/${'x'.repeat(20)}`)).status).toBe(404);
    const unmatched = 'electron_tuf_http_requests_total{method="GET",route="unmatched",status_code="404"}';
    let counted = value(await scrape(), unmatched);
    for (let i = 0; i < 50 && counted === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      counted = value(await scrape(), unmatched);
    }
    expect(counted).toBe(1);
  }, 120_000);

  it('serves versioned files as immutable and timestamp.json and roots for revalidation', async () => {
    const head = async (path: string): Promise<string | null> =>
      (await fetch(`${server.url}/repositories/app/${path}`)).headers.get('cache-control');
    expect(await head('metadata/timestamp.json')).toBe('no-cache');
    expect(await head('metadata/1.root.json')).toBe('no-cache');
    expect(await head('metadata/1.snapshot.json')).toBe('public, max-age=31536000, immutable');
  });
});
