'use strict';
/**
 * Helpers for each image's versions.js, run at build time to write
 * /interop/versions.json from what is really installed: package versions from their
 * installed package.json, native addons found among the shared objects the process
 * has actually loaded (no platform-specific package path), and version banners read
 * from those binaries.
 */

const fs = require('fs');
const path = require('path');

/** The version in node_modules/<name>/package.json next to `appDir`. */
function installedVersion(appDir, name) {
  const file = path.join(appDir, 'node_modules', name, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

/**
 * The loaded native addon whose file name matches `pattern`, with the package that
 * holds it: {file, packageName, packageVersion}. Call after require()-ing the binding.
 */
function loadedAddon(pattern) {
  const file = process.report.getReport().sharedObjects.find((f) => pattern.test(path.basename(f)));
  if (!file) throw new Error(`no loaded shared object matches ${pattern}`);
  let dir = path.dirname(file);
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return { file };
    dir = parent;
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return { file, packageName: manifest.name, packageVersion: manifest.version };
}

/** The first capture group of `pattern` in the binary's bytes, or undefined. */
function banner(file, pattern) {
  const match = pattern.exec(fs.readFileSync(file).toString('latin1'));
  return match ? match[1] : undefined;
}

/** Prints the versions as one JSON object, leaving out what could not be found. */
function printVersions(versions) {
  const known = Object.fromEntries(Object.entries(versions).filter(([, v]) => v));
  process.stdout.write(`${JSON.stringify(known)}\n`);
}

module.exports = {
  installedVersion, loadedAddon, banner, printVersions,
};
