/**
 * Liveness and readiness, after Kubernetes' conventions (`/livez`, `/readyz`):
 * - live: the process runs its event loop and answers; a restart would not help otherwise.
 * - ready: everything it needs answers (database, queue, storage) and it is not shutting down,
 *   so a load balancer sends it work. A shutting-down process turns unready first, then drains.
 */
export interface ReadinessCheck {
  /** Shown in the /readyz answer: database, queue, storage. */
  name: string;
  /** Resolves when the dependency answers; rejects (or exceeds the timeout) when it does not. */
  check(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  /** Per check `ok` or `failed`: the reason goes to the log, not to an unauthenticated answer. */
  checks: Record<string, 'ok' | 'failed' | 'shutting down'>;
}

/** A check that takes longer than this counts as failed: a hung dependency is not ready. */
const CHECK_TIMEOUT_MS = 5_000;

export class Health {
  private stopping = false;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    /** Told why a check failed (the process log). */
    private readonly onFailure: (check: string, reason: string) => void = () => undefined,
  ) {}

  /** From now on the process is not ready (graceful shutdown started). */
  markStopping(): void {
    this.stopping = true;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = {};
    await Promise.all(
      this.checks.map(async (c) => {
        const failure = await runCheck(c);
        if (failure !== undefined) this.onFailure(c.name, failure);
        checks[c.name] = failure === undefined ? 'ok' : 'failed';
      }),
    );
    if (this.stopping) checks.shutdown = 'shutting down';
    return { ready: !this.stopping && Object.values(checks).every((r) => r === 'ok'), checks };
  }
}

/** Undefined when the check passed, else why it failed. */
async function runCheck(c: ReadinessCheck): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      c.check().then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
