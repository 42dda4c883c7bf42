/**
 * Work on a list of steps started in order, up to `depth` steps ahead of the consumer, which
 * takes the results in the same order: a differential build's ranged requests and local reads
 * (differential-build.ts, local-reads.ts) run ahead of its writer this way.
 */
export class Ahead<S> {
  private readonly started: Array<Promise<Buffer>> = [];
  private consumed = 0;

  constructor(
    private readonly steps: readonly S[],
    private readonly depth: number,
    private readonly work: (step: S, index: number) => Promise<Buffer>,
  ) {
    this.topUp();
  }

  /** The next step's bytes. */
  async next(): Promise<Buffer> {
    const bytes = await this.started[this.consumed];
    this.consumed++;
    this.topUp();
    return bytes;
  }

  /** Waits for everything started (aborted first by the caller). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.started);
  }

  private topUp(): void {
    while (this.started.length < this.steps.length && this.started.length < this.consumed + this.depth) {
      const index = this.started.length;
      const working = this.work(this.steps[index], index);
      working.catch(() => undefined); // awaited in order by next(); never unhandled meanwhile
      this.started.push(working);
    }
  }
}
