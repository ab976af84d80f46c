// The policy pack's entry point (package.json "main"): the pack compiled to JavaScript, so
// that @pulumi/pulumi's runner does not type-check TypeScript with ts-node on every run.
// Types are checked by `tsc --noEmit` (the tests); a policy/bin that does not match the
// sources as they are is refused, never run.
"use strict";
if (!require("./build.js").isCurrent()) {
    throw new Error("policy/bin is missing or was compiled from other sources than policy/ has now: run `npm run build:policy` (scripts/bootstrap does)");
}
require("./bin/policy/index.js");
