/**
 * `import { autoUpdater } from 'electron-tuf'`: electron-updater's singleton. The TufAppUpdater
 * behind it is created on first use (not at import, so importing the library in plain Node or
 * before `app` is ready costs nothing) and configured from what the build embedded (the trusted
 * root and settings.json in the app's resources; feed.ts for the other sources).
 *
 * The export is a Proxy: reading, writing, calling and `instanceof TufAppUpdater` all reach the
 * one instance. Apps that want their own instance (other options, tests) use the class.
 */
import { TufAppUpdater } from './app-updater.js';

let instance: TufAppUpdater | undefined;

function theUpdater(): TufAppUpdater {
  instance ??= new TufAppUpdater();
  return instance;
}

export const autoUpdater: TufAppUpdater = new Proxy(Object.create(TufAppUpdater.prototype) as TufAppUpdater, {
  get: (_target, property) => {
    const updater = theUpdater();
    const value: unknown = Reflect.get(updater, property, updater);
    // Methods run on the instance itself (EventEmitter keeps its listeners there).
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(updater) : value;
  },
  set: (_target, property, value) => Reflect.set(theUpdater(), property, value, theUpdater()),
  has: (_target, property) => Reflect.has(theUpdater(), property),
  getPrototypeOf: () => TufAppUpdater.prototype,
});
