// The program's entry point (package.json "main"; Pulumi.yaml has typescript: false, so the
// language host's runner loads no ts-node): index.ts and what it imports run as JavaScript
// compiled once per source text (loader.js), so an edited .ts file is always the one that runs.
"use strict";
require("./defer-sdk.js").deferTypeScript(__dirname);
require("./loader.js").register(__dirname);
module.exports = require("./index.ts");
