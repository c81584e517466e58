'use strict';
/**
 * Print the versions this image really installed, for the orchestrator to record.
 *
 * libdatachannel: asked of the loaded native binary itself (getLibraryVersion() returns
 * the RTC_VERSION it was compiled with), so it is the C++ library that actually runs,
 * not what a manifest claims. OpenSSL and libsrtp are linked statically into that
 * prebuilt binary; their version banners are read from it.
 */
const fs = require('fs');
const path = require('path');
const ndc = require('node-datachannel');

const binary = require.resolve('@node-datachannel/linux-x64-gnu');
const text = fs.readFileSync(binary).toString('latin1');
const banner = (re) => { const m = re.exec(text); return m ? m[1] : undefined; };

const versions = {
  node: process.versions.node,
  'node-datachannel': JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/node-datachannel/package.json'), 'utf8')).version,
  libdatachannel: ndc.getLibraryVersion(),
  'openssl (bundled)': banner(/OpenSSL (\d+\.\d+\.\d+[a-z]*) /),
  'libsrtp (bundled)': banner(/libsrtp2? (\d+\.\d+\.\d+)/),
};
for (const key of Object.keys(versions)) if (!versions[key]) delete versions[key];
process.stdout.write(`${JSON.stringify(versions)}\n`);
