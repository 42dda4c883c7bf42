/**
 * Prometheus metrics of one process (prom-client, a registry per process so several in one
 * test process never mix). Names follow Prometheus' conventions: `electron_tuf_` prefix, base
 * units (`_seconds`), counters end in `_total`. Labels have bounded values only (route patterns,
 * never raw URLs; change kinds; queue names; repository names, which the service bounds).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './log.js';

/** One settled change as the database reports it (changes.ts settleChanges). */
export interface SettledChange {
  kind: string;
  ok: boolean;
  /** From the change's acceptance (API commit) to its settling, by the database's clock. */
  seconds: number;
}

export interface QueueDepthSource {
  name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Publishing takes from ~0.1 s (idle) to minutes (a backlog, a slow store). */
const PUBLISH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'electron_tuf_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'electron_tuf_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  /** Its `_count` is the number of tasks settled succeeded. */
  private readonly publishLatency = new Histogram({
    name: 'electron_tuf_publish_latency_seconds',
    help: 'From a change accepted by the API to its task settled succeeded (in the published metadata), by change kind',
    labelNames: ['kind'] as const,
    buckets: PUBLISH_BUCKETS,
    registers: [this.registry],
  });
  private readonly tasksFailed = new Counter({
    name: 'electron_tuf_tasks_failed_total',
    help: 'Tasks settled failed by this process (the change was refused; nothing was published), by change kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly jobsFailed = new Counter({
    name: 'electron_tuf_jobs_failed_total',
    help: 'Queue jobs that failed in this process (they are retried with backoff), by queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly log: Logger,
    defaults = true,
  ) {
    // Process metrics (CPU, memory, event loop lag) under their conventional unprefixed names.
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for a scrape. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : 'other';
    const r = route ?? 'unmatched';
    this.httpRequests.inc({ method: m, route: r, status_code: String(status) });
    this.httpDuration.observe({ method: m, route: r }, seconds);
  }

  observeSettled(settled: readonly SettledChange[]): void {
    for (const s of settled) {
      if (s.ok) this.publishLatency.observe({ kind: s.kind }, Math.max(0, s.seconds));
      else this.tasksFailed.inc({ kind: s.kind });
    }
  }

  jobFailed(queue: string): void {
    this.jobsFailed.inc({ queue });
  }

  /** Queue depth, read from the queue at each scrape. */
  watchQueues(queues: readonly QueueDepthSource[]): void {
    this.gaugeFromSource(
      'electron_tuf_queue_jobs',
      'Jobs in each queue by state (waiting, active, delayed, failed)',
      ['queue', 'state'],
      async () => {
        const rows: Array<[Record<string, string>, number]> = [];
        for (const q of queues) {
          const counts = await q.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) rows.push([{ queue: q.name, state }, counts[state] ?? 0]);
        }
        return rows;
      },
    );
  }

  /** Changes accepted and not yet published, per repository (the real backlog; jobs only say "R has work"). */
  watchPending(read: () => Promise<Array<{ repository: string; count: number }>>): void {
    this.gaugeFromSource(
      'electron_tuf_changes_pending',
      'Changes accepted by the API and not yet published, per repository',
      ['repository'],
      async () => (await read()).map((r) => [{ repository: r.repository }, r.count]),
    );
  }

  /** Seconds until each repository's timestamp.json expires (negative: expired; clients stop updating). */
  watchTimestampExpiry(read: () => Promise<Array<{ repository: string; expiresAt: number }>>): void {
    this.gaugeFromSource(
      'electron_tuf_timestamp_expires_in_seconds',
      "Seconds until the repository's published timestamp.json expires (negative once expired)",
      ['repository'],
      async () => (await read()).map((r) => [{ repository: r.repository }, (r.expiresAt - Date.now()) / 1000]),
    );
  }

  /**
   * A gauge filled at scrape time. A source that fails leaves its gauge empty for that scrape
   * (absent series alert as such) and logs why, instead of failing every other metric.
   */
  private gaugeFromSource<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<Array<[Partial<Record<L, string>>, number]>>,
  ): void {
    const log = this.log;
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const [labels, value] of await read()) this.set(labels, value);
        } catch (e) {
          log.warn({ err: e, metric: name }, 'could not collect a metric');
        }
      },
    });
  }
}
