// Plays the 'electron' module for the migration test, in plain Node: app, session (its fetch
// is Node's fetch, recorded), Notification (recorded), autoUpdater. Everything it records is
// a JSON line on stdout. STANDIN_DIR holds userData/ and resources/.
const { EventEmitter } = require('node:events');
const path = require('node:path');

const dir = process.env.STANDIN_DIR;
const log = (event, data) => process.stdout.write(`${JSON.stringify({ event, data })}\n`);
process.resourcesPath = path.join(dir, 'resources');

const app = new EventEmitter();
app.isPackaged = true;
app.getVersion = () => '1.0.0';
app.getName = () => 'MigratedApp';
app.getPath = (name) => path.join(dir, name);
app.getAppPath = () => dir;
app.whenReady = () => Promise.resolve();
app.quit = () => log('quit');
app.relaunch = () => log('relaunch');

exports.app = app;
exports.session = {
  fromPartition: (partition) => ({
    partition,
    fetch: (url, init) => {
      log('net-fetch', String(url));
      return fetch(url, init);
    },
  }),
};
exports.Notification = class Notification {
  constructor(options) {
    this.options = options;
  }
  show() {
    log('notification', this.options);
  }
};
exports.autoUpdater = new EventEmitter();
