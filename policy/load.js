// The policy pack's entry point (package.json "main"): its TypeScript (index.ts, rules.ts and the
// components they import) runs as JavaScript compiled once per source text by ../loader.js, as the
// program does, so an edited rule or component is the one that runs, with no build step. Types are
// checked by `tsc --noEmit` (the tests). PulumiPolicy.yaml's `typescript: false` has the language
// host run the pack without ts-node (tools/language-nodejs/policyrunner.js); under a host that
// registers ts-node anyway, the loader's .ts hook replaces ts-node's, which would type-check on
// every run.
"use strict";
require("../loader.js").register(require("node:path").join(__dirname, ".."));
require("./index.ts");
// The engine kills the pack when it is done, before Node would write the modules it compiled to
// the code cache (NODE_COMPILE_CACHE): write them now.
require("node:module").flushCompileCache?.();
