/**
 * What the local S3 gateway (Ceph's radosgw, scripts/s3-dev.sh) costs per request, in CPU (not a
 * test): N small PUTs (`If-None-Match: *`, as the service creates every versioned object), then N
 * GETs and N HEADs of those keys, each kind at a fixed concurrency through @aws-sdk/client-s3 with
 * the service's own client settings. Around each kind it reads the CPU time (utime + stime,
 * /proc/<pid>/stat) of the gateway's daemons (radosgw, ceph-osd, ceph-mon: their pid files under
 * `$ETUF_S3_DIR/run`) and of this process (the client), so the figures are CPU-ms per request,
 * whatever the load of the machine does to the wall time.
 *
 * The `s3-gateway` section of `npm run bench` (test/bench/s3-gateway.bench.ts); alone, without the
 * build: `npx vite-node test/bench/run.ts s3-gateway`. BENCH_GW_REQUESTS (default 2,000; quick
 * 300), BENCH_GW_CONCURRENCY (32), BENCH_GW_SIZE (bytes, 1,024). The gateway is the one
 * test/helpers/radosgw.ts starts or reuses (ETUF_S3_DIR, ETUF_S3_PORT, ETUF_S3_MON_PORT).
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { eachConcurrently } from 'electron-tuf/publisher';
import { S3_DIR } from '../../test/helpers/radosgw.js';
import { s3Fixture } from '../test/s3-helpers.js';
import { cpuOf, cpuSpent, ownCpuMs, sum } from './proc-cpu.js';

export interface GatewayCostOptions {
  requests: number;
  concurrency: number;
  size: number;
}

export interface KindCost {
  kind: 'put' | 'get' | 'head';
  requests: number;
  wallMs: number;
  /** CPU-ms of each daemon over the kind's run (name from its pid file: client.rgw.a, osd.0, mon.a). */
  daemonMs: Record<string, number>;
  gatewayMs: number;
  clientMs: number;
}

export interface GatewayCost {
  kinds: KindCost[];
  /** The gateway's CPU when nothing is asked of it (mon ticks, heartbeats), in CPU-ms per second. */
  idleMsPerSecond: number;
}

/** The gateway's daemons: pid file name (without .pid) -> pid. */
export async function gatewayPids(): Promise<Map<string, number>> {
  const run = join(S3_DIR, 'run');
  const pids = new Map<string, number>();
  for (const f of await readdir(run)) {
    if (f.endsWith('.pid')) pids.set(basename(f, '.pid'), Number((await readFile(join(run, f), 'utf8')).trim()));
  }
  if (pids.size === 0) throw new Error(`no pid files in ${run}: is this the gateway scripts/s3-dev.sh started?`);
  return pids;
}

export async function measureGatewayCost(o: GatewayCostOptions): Promise<GatewayCost> {
  const fx = await s3Fixture();
  const pids = await gatewayPids();
  const body = randomBytes(o.size);
  const key = (i: number): string => `${fx.prefix}/cost/${i}`;
  const requests: Record<KindCost['kind'], (i: number) => Promise<void>> = {
    put: async (i) => {
      await fx.client.send(new PutObjectCommand({ Bucket: fx.bucket, Key: key(i), Body: body, IfNoneMatch: '*' }));
    },
    get: async (i) => {
      const r = await fx.client.send(new GetObjectCommand({ Bucket: fx.bucket, Key: key(i) }));
      await r.Body!.transformToByteArray();
    },
    head: async (i) => {
      await fx.client.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key(i) }));
    },
  };
  try {
    // Warm-up (connections, the bucket index's first entries), on keys the figures don't use.
    await eachConcurrently(
      Array.from({ length: 64 }, (_, i) => -1 - i),
      o.concurrency,
      async (i) => {
        await requests.put(i);
        await requests.get(i);
      },
    );
    const idleBefore = await cpuOf(pids);
    const idleStarted = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleMs = sum(cpuSpent(idleBefore, await cpuOf(pids)));
    const idleMsPerSecond = idleMs / ((performance.now() - idleStarted) / 1000);

    const kinds: KindCost[] = [];
    const indexes = Array.from({ length: o.requests }, (_, i) => i);
    for (const kind of ['put', 'get', 'head'] as const) {
      const before = await cpuOf(pids);
      const client = ownCpuMs();
      const started = performance.now();
      await eachConcurrently(indexes, o.concurrency, requests[kind]);
      const wallMs = performance.now() - started;
      const clientMs = ownCpuMs() - client;
      const daemonMs = cpuSpent(before, await cpuOf(pids));
      kinds.push({ kind, requests: o.requests, wallMs, daemonMs, gatewayMs: sum(daemonMs), clientMs });
    }
    return { kinds, idleMsPerSecond };
  } finally {
    fx.client.destroy();
  }
}
