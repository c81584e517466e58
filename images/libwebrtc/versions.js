'use strict';
/**
 * Prints the versions this image really installed, for /interop/versions.json. The
 * native addon is found among the shared objects the process loaded (whatever its
 * platform package is called); libwebrtc's own source stamp is read from that binary,
 * its milestone from the installed package's CHANGELOG ("Update libwebrtc to Mnnn").
 */

const fs = require('fs');
const path = require('path');

require('@roamhq/wrtc');
const {
  banner, installedVersion, loadedAddon, printVersions,
} = require('./node-peer/versions');

const addon = loadedAddon(/^wrtc\.node$/);
const changelog = fs.readFileSync(path.join(__dirname, 'node_modules/@roamhq/wrtc/CHANGELOG.md'), 'utf8');
const milestone = /Update libwebrtc to (M\d+)/.exec(changelog);

printVersions({
  node: process.versions.node,
  wrtc: installedVersion(__dirname, '@roamhq/wrtc'),
  [`${addon.packageName} (native addon)`]: addon.packageVersion,
  libwebrtc: milestone ? milestone[1] : undefined,
  'libwebrtc source stamp': banner(addon.file, /WebRTC source stamp ([0-9T:-]+)/),
});
