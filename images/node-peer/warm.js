'use strict';
/**
 * Run at build time: `node warm.js <adapter.js>` loads the adapter (and with it the
 * stack) and every module of node-peer/, so that Node's compile cache
 * ($NODE_COMPILE_CACHE) holds their compiled code and a peer does not compile them again
 * at each start. Loading has no side effects: server.js and client.js only export main.
 * It exits by itself: a native stack (node-datachannel) keeps threads that hold the loop.
 */

const fs = require('fs');
const path = require('path');
const { flushCompileCache, getCompileCacheDir } = require('module');

const adapter = process.argv[2];
if (!adapter) {
  process.stderr.write('usage: node warm.js <adapter.js>\n');
  process.exit(2);
}
if (!getCompileCacheDir()) {
  process.stderr.write('warm.js: NODE_COMPILE_CACHE is not set or not usable\n');
  process.exit(1);
}
require(path.resolve(adapter));
for (const file of fs.readdirSync(__dirname).sort()) {
  if (file.endsWith('.js') && file !== path.basename(__filename)) require(path.join(__dirname, file));
}
flushCompileCache();
process.exit(0);
