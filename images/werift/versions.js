'use strict';
/** Prints the versions this image really installed, for /interop/versions.json. */

const fs = require('fs');
const path = require('path');
const { installedVersion, printVersions } = require('./node-peer/versions');

const patches = fs.readdirSync(path.join(__dirname, 'patches')).filter((f) => f.endsWith('.patch')).sort();

printVersions({
  werift: installedVersion(__dirname, 'werift'),
  'werift patches': patches.map((f) => f.replace(/^werift-[^-]+-|\.patch$/g, '')).join(','),
  node: process.versions.node,
  'node openssl (werift\'s crypto)': process.versions.openssl,
});
