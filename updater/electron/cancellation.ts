/**
 * electron-updater's CancellationToken: `new CancellationToken()` or with a parent token (a
 * child is cancelled with its parent), `cancel()`, `cancelled`, a 'cancel' event, `dispose()`,
 * `createPromise()`. Underneath it is an AbortSignal, which is what the TUF client's downloads
 * listen to; a parent may also be a plain AbortSignal.
 */
import { EventEmitter } from 'node:events';
import { CancellationError } from '../core/errors.js';

export class CancellationToken extends EventEmitter<{ cancel: [] }> {
  private readonly controller = new AbortController();
  private detachParent?: () => void;

  constructor(parent?: CancellationToken | AbortSignal) {
    super();
    if (parent) this.parent = parent;
  }

  /** Follows `parent` from now on (and no earlier parent): cancelled when it is. */
  set parent(parent: CancellationToken | AbortSignal) {
    this.detachParent?.();
    const signal = parent instanceof CancellationToken ? parent.signal : parent;
    if (signal.aborted) {
      this.cancel();
      return;
    }
    const onAbort = () => this.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    this.detachParent = () => signal.removeEventListener('abort', onAbort);
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** What downloads listen to. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.detachParent?.();
    this.controller.abort(new CancellationError());
    this.emit('cancel');
  }

  /**
   * A promise that rejects with CancellationError when the token is cancelled first;
   * `onCancel` registers clean-up to run then (electron-updater's helper for custom tasks).
   */
  createPromise<R>(
    callback: (
      resolve: (value: R | PromiseLike<R>) => void,
      reject: (error: Error) => void,
      onCancel: (handler: () => void) => void,
    ) => void,
  ): Promise<R> {
    if (this.cancelled) return Promise.reject(new CancellationError());
    const handlers: Array<() => void> = [];
    return new Promise<R>((resolve, reject) => {
      const onCancel = () => {
        for (const handler of handlers) handler();
        reject(new CancellationError());
      };
      this.once('cancel', onCancel);
      const settle = () => this.removeListener('cancel', onCancel);
      callback(
        (value) => {
          settle();
          resolve(value);
        },
        (error) => {
          settle();
          reject(error);
        },
        (handler) => void handlers.push(handler),
      );
    });
  }

  /** Stops following the parent and removes the 'cancel' listeners. */
  dispose(): void {
    this.detachParent?.();
    this.detachParent = undefined;
    this.removeAllListeners('cancel');
  }
}
