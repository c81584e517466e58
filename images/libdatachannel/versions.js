'use strict';
/**
 * Prints the versions this image really installed, for /interop/versions.json.
 * libdatachannel's version is asked of the loaded native addon itself
 * (getLibraryVersion() returns the RTC_VERSION it was compiled with); the addon is
 * found among the shared objects the process loaded, whatever the platform package
 * is called; OpenSSL and libsrtp are linked into it statically, their banners read
 * from the binary.
 */

const ndc = require('node-datachannel');
const {
  banner, installedVersion, loadedAddon, printVersions,
} = require('./node-peer/versions');

const addon = loadedAddon(/^node_datachannel\.node$/);

printVersions({
  node: process.versions.node,
  'node-datachannel': installedVersion(__dirname, 'node-datachannel'),
  [`${addon.packageName} (native addon)`]: addon.packageVersion,
  libdatachannel: ndc.getLibraryVersion(),
  'openssl (bundled)': banner(addon.file, /OpenSSL (\d+\.\d+\.\d+[a-z]*) /),
  'libsrtp (bundled)': banner(addon.file, /libsrtp2? (\d+\.\d+\.\d+)/),
});
