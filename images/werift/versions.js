"use strict";
/** Prints the versions this image really installed, for the orchestrator to record. */

const fs = require("fs");
const path = require("path");

// werift's package "exports" hide its package.json from require(), so read the file.
const installed = (name) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules", name, "package.json"), "utf8")).version;

console.log(JSON.stringify({ werift: installed("werift"), node: process.versions.node }));
