// `node --require preload.cjs`: require('electron') (the library's lazy createRequire) gets the
// stand-in, the same module instance an `import ... from 'electron'` of the app gets.
const Module = require('node:module');
const path = require('node:path');

const standin = path.join(__dirname, 'node_modules', 'electron', 'index.cjs');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return load.call(this, request === 'electron' ? standin : request, parent, isMain);
};
