/**
 * electron-updater's CancellationToken, in spirit: `cancel()`, `cancelled`, a 'cancel' event.
 * Underneath it is an AbortSignal, which is what the TUF client's downloads listen to.
 */
import { EventEmitter } from 'node:events';
import { CancelledError } from '../core/errors.js';

export class CancellationToken extends EventEmitter<{ cancel: [] }> {
  private readonly controller = new AbortController();

  /** Optionally follows a parent signal (e.g. one that aborts when the app quits). */
  constructor(parent?: AbortSignal) {
    super();
    if (parent?.aborted) this.cancel();
    else parent?.addEventListener('abort', () => this.cancel(), { once: true });
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
    this.controller.abort(new CancelledError('update download cancelled'));
    this.emit('cancel');
  }

  /** Removes the 'cancel' listeners (electron-updater's `dispose`). */
  dispose(): void {
    this.removeAllListeners('cancel');
  }
}
