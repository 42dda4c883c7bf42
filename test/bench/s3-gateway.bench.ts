/**
 * The local S3 gateway's own cost (radosgw, ceph-osd, ceph-mon from scripts/s3-dev.sh): CPU-ms per
 * small PUT (`If-None-Match: *`), GET and HEAD, and requests per second at a fixed concurrency
 * (server/bench/gateway-cost.ts). Tells how much of a run on S3 storage the gateway itself costs
 * on this machine: the 2,500-artifact burst needs about 7 requests per add.
 */
import { measureGatewayCost } from '../../server/bench/gateway-cost.js';
import type { BenchContext } from './run.js';

export async function run({ record, quick }: BenchContext): Promise<void> {
  const requests = Number(process.env.BENCH_GW_REQUESTS ?? (quick ? 300 : 2000));
  const concurrency = Number(process.env.BENCH_GW_CONCURRENCY ?? 32);
  const size = Number(process.env.BENCH_GW_SIZE ?? 1024);
  const cost = await measureGatewayCost({ requests, concurrency, size });
  record('gateway CPU when idle', Number(cost.idleMsPerSecond.toFixed(1)), 'CPU-ms/s', 'radosgw + osd + mon');
  for (const k of cost.kinds) {
    const daemons = Object.entries(k.daemonMs)
      .map(([name, ms]) => `${name} ${(ms / k.requests).toFixed(2)}`)
      .join(', ');
    const what = `${k.kind.toUpperCase()} ${size} B x ${k.requests} at ${concurrency}`;
    record(`${what}: gateway CPU per request`, Number((k.gatewayMs / k.requests).toFixed(2)), 'ms', daemons);
    record(`${what}: client CPU per request`, Number((k.clientMs / k.requests).toFixed(2)), 'ms', '@aws-sdk/client-s3');
    record(`${what}: requests per second`, Math.round(k.requests / (k.wallMs / 1000)), '/s');
  }
}
