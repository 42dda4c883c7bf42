/**
 * The waits of one guarded request (download.ts): each bounded by a read timeout (slow
 * retrieval attack), all of them ended by the caller's signal, plus the signal handed to the
 * fetcher, aborted when the request is over so an abandoned body is torn down at once even if
 * the fetcher's iterator ignores `return()`.
 *
 * One timer and at most one listener serve the whole request: a download of 64 MiB waits about
 * a thousand times, and a new timer, promise chain and abort listener per wait cost more CPU
 * than hashing the data. The timer is re-armed (`refresh()`) at the start of each wait.
 *
 * Once the body starts (`bodyStarted`), a second timer samples the transfer rate: a body that
 * trickles in below the floor fails too, though no single wait ever times out (transfer-rate.ts).
 */
import { CancelledError, DownloadError, SlowRetrievalError, TufError } from '../core/errors.js';
import { describeShortfall, TransferRateFloor, type TransferRateOptions } from './transfer-rate.js';

interface PendingWait {
  reject(error: Error): void;
  waitingFor: string;
}

export class RequestScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private pending: PendingWait | undefined;
  private cancelled: CancelledError | undefined;
  private ended = false;
  private fetcherDone = false;
  private rateFloor: TransferRateFloor | undefined;
  private rateTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly readTimeoutMs: number,
    private readonly outer: AbortSignal | undefined,
    private readonly rate: Required<TransferRateOptions>,
  ) {
    this.timer = setTimeout(this.onTimeout, readTimeoutMs);
    if (outer?.aborted) this.cancel();
    else outer?.addEventListener('abort', this.cancel, { once: true });
  }

  /** For the fetcher: aborted when the caller cancels and when this request is over. */
  get fetcherSignal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Settles with `work`, or rejects with SlowRetrievalError when it takes longer than the read
   * timeout, or CancelledError when the caller cancels. A late rejection of `work` is
   * swallowed. Errors that are not ours become DownloadError: the fetcher may be anything.
   * One wait at a time (a body is read one chunk after the other).
   */
  wait<T>(work: Promise<T>, waitingFor: string): Promise<T> {
    if (this.cancelled) {
      work.catch(() => undefined);
      return Promise.reject(this.cancelled);
    }
    this.timer.refresh(); // the deadline is readTimeoutMs from now
    return new Promise<T>((resolve, reject) => {
      const entry: PendingWait = { reject, waitingFor };
      this.pending = entry;
      work.then(
        (value) => {
          if (this.pending === entry) this.pending = undefined;
          resolve(value);
        },
        (err: unknown) => {
          if (this.pending === entry) this.pending = undefined;
          reject(
            err instanceof TufError
              ? err
              : new DownloadError(`${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }),
          );
        },
      );
    });
  }

  /**
   * The response head has arrived: from now on the body must keep up the minimum rate. The
   * head itself is bounded by the read timeout (one wait), the body by both.
   */
  bodyStarted(): void {
    if (this.ended || this.rateFloor) return;
    const floor = new TransferRateFloor(this.rate, performance.now());
    this.rateFloor = floor;
    this.rateTimer = setInterval(this.onRateTick, floor.tickMs);
    this.rateTimer.unref(); // end() clears it; it must not keep a process alive meanwhile
  }

  /** `count` more body bytes arrived. */
  received(count: number): void {
    this.rateFloor?.add(count);
  }

  /**
   * The fetcher finished on its own: its fetch() failed, or its body ran to the end. Nothing of
   * it is left to tear down, so end() need not abort its signal (an abort event costs about as
   * much CPU as the rest of a small request, twice per no-change refresh).
   */
  fetcherFinished(): void {
    this.fetcherDone = true;
  }

  /** Ends the request: stops the timer, unhooks from the caller's signal, aborts the fetcher's unless it finished. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    clearInterval(this.rateTimer);
    this.outer?.removeEventListener('abort', this.cancel);
    if (!this.fetcherDone) this.controller.abort();
  }

  private readonly onTimeout = (): void => {
    const pending = this.pending;
    if (!pending) return; // fired between waits: the next wait re-arms it
    this.pending = undefined;
    pending.reject(new SlowRetrievalError(`${this.url}: ${pending.waitingFor} for ${this.readTimeoutMs} ms`));
  };

  /**
   * Judges the last window, and fails the request only while it waits on the fetcher: a
   * consumer busy writing to disk is not kept waiting by the server (the next tick judges again).
   */
  private readonly onRateTick = (): void => {
    const shortfall = this.rateFloor?.check(performance.now());
    const pending = this.pending;
    if (!shortfall || !pending) return;
    this.pending = undefined;
    pending.reject(new SlowRetrievalError(`${this.url}: too slow: ${describeShortfall(shortfall)}`));
  };

  private readonly cancel = (): void => {
    this.cancelled ??= new CancelledError(`download of ${this.url} cancelled`);
    this.controller.abort(this.outer?.reason);
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(this.cancelled);
  };
}
