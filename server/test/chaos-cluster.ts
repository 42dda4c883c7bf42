/**
 * The processes of the chaos test (server/test/chaos.test.ts): two API processes on fixed ports,
 * three workers and a scheduler, each a child process of the built server CLI, on PostgreSQL,
 * BullMQ on Redis and S3 (radosgw). Any of the APIs and workers can be killed with SIGKILL and
 * started again in its place (an API on the same port).
 */
import type { ChildProcess } from 'node:child_process';
import { tempDir } from '../../test/publisher/helpers.js';
import { Children, freePort, killNine, REDIS_URL, SERVER_CLI } from './distributed-helpers.js';
import type { S3Fixture } from './s3-helpers.js';

interface Member {
  name: string;
  args: string[];
  ready: string;
  child?: ChildProcess;
}

export class ChaosCluster {
  readonly children = new Children();
  /** The APIs' base URLs (fixed across restarts). */
  readonly apis: string[] = [];
  private readonly killable: Member[] = [];
  private kills = 0;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    private readonly databaseUrl: string,
    private readonly storage: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.env = env;
  }

  /** Starts 2 APIs, 3 workers and 1 scheduler; each its own --data (scratch only with S3 storage). */
  static async start(o: {
    databaseUrl: string;
    redisPrefix: string;
    fx: S3Fixture;
    adminToken: string;
  }): Promise<ChaosCluster> {
    const env = { ...o.fx.env, ELECTRON_TUF_REDIS_PREFIX: o.redisPrefix, ELECTRON_TUF_ADMIN_TOKEN: o.adminToken };
    const cluster = new ChaosCluster(o.databaseUrl, o.fx.storage, env);
    const members: Member[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      cluster.apis.push(`http://127.0.0.1:${port}`);
      members.push(await cluster.member(`api${i}`, ['api', '--port', String(port)], 'listening on'));
    }
    for (let i = 0; i < 3; i++) members.push(await cluster.member(`worker${i}`, ['worker'], 'worker started'));
    cluster.killable.push(...members);
    // The scheduler's sweep (every minute) re-enqueues a change whose API died before enqueueing it.
    const scheduler = await cluster.member('scheduler', ['scheduler', '--interval-minutes', '1'], 'scheduler started');
    // One at a time: the first run migrates the database, and parallel starts would race on it.
    for (const m of [...members, scheduler]) await cluster.launch(m);
    return cluster;
  }

  private async member(name: string, command: string[], ready: string): Promise<Member> {
    const data = await tempDir(`etuf-chaos-${name}-`);
    const args = [SERVER_CLI, ...command, '--data', data, '--database-url', this.databaseUrl];
    return { name, args: [...args, '--redis-url', REDIS_URL, '--storage', this.storage], ready };
  }

  private async launch(m: Member): Promise<void> {
    m.child = await this.children.start(m.args, this.env, m.ready);
  }

  /**
   * SIGKILL an API and a worker in turn (a random one of its kind), then start it again (same
   * port, same data directory); returns its name.
   */
  async killOne(random: () => number = Math.random): Promise<string> {
    const kind = this.kills++ % 2 === 0 ? 'worker' : 'api';
    const pool = this.killable.filter((m) => m.name.startsWith(kind));
    const m = pool[Math.floor(random() * pool.length)];
    if (m.child) await killNine(m.child);
    await this.launch(m);
    return m.name;
  }

  killAll(): void {
    this.children.killAll();
  }
}
