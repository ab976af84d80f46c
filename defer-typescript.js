// Defers @pulumi/pulumi's load of TypeScript until it is used. Required by entry.js (the program)
// and preloaded (node -r) by pulumi-resource-pulumi-nodejs (the dynamic providers' process) when
// the project that holds the SDK has this file.
//
// The SDK loads TypeScript (~9 MB of JavaScript) as soon as it is imported, for its closure
// serializer's parser (index -> runtime/index -> closure/serializeClosure -> parseFunction ->
// typescript-shim). That parser runs only when a dynamic provider is serialized: never in the
// providers' process, and with the provider cache (components/dynamicResource.ts) not on most
// program runs. Measured here: the providers' process answers 206-284 ms -> 138-179 ms after it
// starts, a no-op dev preview 1.40-1.58 s -> 1.31-1.44 s.
"use strict";
const Module = require("node:module");
const path = require("node:path");

/**
 * Puts a stand-in for the SDK's typescript-shim module (the SDK in root's node_modules) in the
 * module cache, which loads TypeScript (what the shim loads: the project's, else the SDK's vendored
 * copy) at its first use. Call it before the SDK is imported.
 */
function deferTypeScript(root) {
    let shim;
    try {
        shim = require.resolve("@pulumi/pulumi/typescript-shim", { paths: [root] });
    } catch {
        return; // No SDK here (or another layout): nothing to defer.
    }
    if (require.cache[shim]) {
        return;
    }
    let ts;
    const real = () => {
        if (!ts) {
            try {
                ts = require(require.resolve("typescript", { paths: [path.dirname(shim)] }));
            } catch {
                ts = require(path.join(path.dirname(shim), "vendor", "typescript@3.8.3", "typescript.js"));
            }
        }
        return ts;
    };
    const stand = new Module(shim);
    stand.filename = shim;
    stand.loaded = true;
    stand.exports = new Proxy(
        {},
        {
            get: (_, key) => real()[key],
            has: (_, key) => key in real(),
            ownKeys: () => Reflect.ownKeys(real()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Object.getOwnPropertyDescriptor(real(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
    require.cache[shim] = stand;
}

module.exports = { deferTypeScript };
// Preloaded (node -r), before any main module: defer for this project's SDK.
if (require.main === undefined) {
    deferTypeScript(__dirname);
}
