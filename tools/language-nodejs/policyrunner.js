// A policy pack's runner for a pack whose PulumiPolicy.yaml sets runtime.options.typescript: false
// (its rules are JavaScript, or TypeScript it compiles itself). It is @pulumi/pulumi's
// cmd/run-policy-pack/index.js (3.276.0) except that it registers no ts-node: that runner passes
// `typeScript: !process.versions.bun` to run.js, which loads TypeScript and ts-node for every pack
// (~90 ms of each start here, with TypeScript's load deferred). The uncaught-error handling and exit
// codes are that file's. Embedded in the language host (plugin.go) and run with `node -e`, so
// process.argv is [node, <@pulumi/pulumi dir>, <engine address>, <pack dir>].
"use strict";
const path = require("node:path");
const sdk = process.argv[1];
const fromSdk = (id) => require(require.resolve(id, { paths: [sdk] }));
fromSdk("source-map-support/register");
const uncaughtErrors = new Set();
const loggedErrors = new Set();
let programRunning = false;
const uncaughtHandler = (err) => {
    uncaughtErrors.add(err);
    if (!programRunning) {
        console.error(err.stack || err.message || "" + err);
    }
};
// The exit code the SDK's runner uses for an error it already showed to the user.
const nodeJSProcessExitedAfterLoggingUserActionableMessage = 32;
process.on("uncaughtException", uncaughtHandler);
process.on("unhandledRejection", uncaughtHandler);
process.on("exit", (code) => {
    // Exit non-zero on any uncaught error, so that the engine never takes a half-run pack for a clean one.
    if (code === 0 && uncaughtErrors.size > 0) {
        for (const err of uncaughtErrors) {
            if (!loggedErrors.has(err)) {
                process.exitCode = 1;
                return;
            }
        }
        process.exitCode = nodeJSProcessExitedAfterLoggingUserActionableMessage;
    }
});
const argv = fromSdk("minimist")(process.argv.slice(2), {});
if (argv._.length < 2) {
    console.error("usage: RUN <engine-address> <program>");
    process.exit(-1);
}
// Remove <engine-address>: run.js takes the pack as its first argument.
argv._.shift();
require(path.join(sdk, "runtime", "closure", "v8Hooks"))
    .isInitializedAsync()
    .then(() => {
        const promise = require(path.join(sdk, "cmd", "run-policy-pack", "run")).run({
            argv,
            programStarted: () => {
                programRunning = true;
            },
            reportLoggedError: (err) => loggedErrors.add(err),
            typeScript: false,
        });
        promise.then(() => {
            programRunning = false;
        });
    });
