/**
 * Queue triggers coalesced per repository, in one API process. A caller has just committed a
 * change and must not answer before a publish job exists that a worker will start after that
 * commit (a job already running may have read the pending changes before it). So each call
 * resolves when a send that began after the call has finished: while a send is under way,
 * every call shares the one next send, started when the current one ends. Under a burst this
 * turns one queue job per accepted change into about one per queue round trip (the jobs behind
 * a drain each took the repository lock only to find nothing pending).
 */
export function coalescing(send: (repository: string) => Promise<void>): (repository: string) => Promise<void> {
  /** The send under way, per repository. */
  const running = new Map<string, Promise<void>>();
  /** The next send, not started yet: every caller until it starts shares it. */
  const next = new Map<string, Promise<void>>();
  return (repository) => {
    const queued = next.get(repository);
    if (queued) return queued;
    const before = running.get(repository) ?? Promise.resolve();
    const mine: Promise<void> = before
      .catch(() => undefined) // the previous send's failure went to its own callers
      .then(() => {
        // Starting now: later callers need a later send.
        if (next.get(repository) === mine) next.delete(repository);
        running.set(repository, mine);
        return send(repository);
      })
      .finally(() => {
        if (running.get(repository) === mine) running.delete(repository);
      });
    next.set(repository, mine);
    return mine;
  };
}
