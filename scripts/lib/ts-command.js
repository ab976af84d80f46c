// Preloaded (node -r) by the commands written in TypeScript (scripts/delivery, scripts/mr-note):
// their .ts files load through loader.js, compiled once per source text, as entry.js runs the
// program, and defer-sdk.js (its preload branch runs here too) puts off what the SDK sets up when
// it is imported. ts-node's transpile-only mode, used before, loaded TypeScript and compiled every
// file again on every run.
"use strict";
const path = require("node:path");
const root = path.join(__dirname, "..", "..");
require(path.join(root, "defer-sdk.js"));
require(path.join(root, "loader.js")).register(root);
