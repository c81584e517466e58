'use strict';
/**
 * Build time: removes node-datachannel's prebuilt platform packages that this image
 * never loads (npm installs the musl variant next to the glibc one). The one to keep
 * is the addon the process actually loaded, so nothing names a platform here.
 */

const fs = require('fs');
const path = require('path');

require('node-datachannel');
const { loadedAddon } = require('./node-peer/versions');

const { packageName } = loadedAddon(/^node_datachannel\.node$/);
const scopeDir = path.join(__dirname, 'node_modules', '@node-datachannel');
for (const entry of fs.readdirSync(scopeDir)) {
  if (`@node-datachannel/${entry}` === packageName) continue;
  fs.rmSync(path.join(scopeDir, entry), { recursive: true, force: true });
  console.log(`removed unused @node-datachannel/${entry} (loaded: ${packageName})`);
}
