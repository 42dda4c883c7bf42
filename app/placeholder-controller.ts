/**
 * PLACEHOLDER until the real updater (updater/electron) is wired into app/main.ts: an
 * UpdateController that always reports status 'idle' and whose actions do nothing. It exists
 * so the window, preload and IPC can be built and shipped before the updater is.
 */
import { EventEmitter } from 'node:events';
import type { UpdateController, UpdateState } from './ipc-contract.js';

export class PlaceholderUpdateController extends EventEmitter implements UpdateController {
  constructor(private readonly currentVersion: string) {
    super();
  }

  getState(): UpdateState {
    return { currentVersion: this.currentVersion, status: 'idle' };
  }

  async check(): Promise<void> {
    // Nothing to check yet; tell the window the (unchanged) state so it re-enables its buttons.
    this.emit('state', this.getState());
  }

  async download(): Promise<void> {}

  async install(): Promise<void> {}
}
