// What @pulumi/pulumi's runners (cmd/run, cmd/run-policy-pack, cmd/dynamic-provider) set up at
// every start for work this project's processes seldom or never do, put off until that work is
// done or left out. Preloaded (node -r) into the program (the language host's Run), the policy
// pack and the dynamic providers' process when the project that holds the SDK has this file; the
// program's entry.js defers TypeScript too (for a language host that preloads nothing).
//
// - TypeScript (~9 MB of JavaScript): the SDK loads it as soon as it is imported, for its closure
//   serializer's parser (index -> runtime/index -> closure/serializeClosure -> parseFunction ->
//   typescript-shim). That parser runs only when a dynamic provider is serialized: never in the
//   providers' process, and with the provider cache (components/dynamicResource.ts) not on most
//   program runs. Measured here: the providers' process answers 206-284 ms -> 138-179 ms after it
//   starts, a no-op dev preview 1.40-1.58 s -> 1.31-1.44 s.
// - The inspector session: cmd/run and the policy runner open one and enable V8's debugger before
//   the program loads, so that the closure serializer can look functions up; with the debugger on,
//   V8 reports every script it compiles. Here it opens at the serializer's first use.
// - source-map-support: installed at start, it maps the SDK's own stack frames to its TypeScript
//   by loading and parsing each frame's .js.map, on every resource's `new Error().stack` (the
//   source position the SDK sends the engine). The project's frames are not mapped by it (the
//   loader's inline maps are for Node's own support: NODE_OPTIONS=--enable-source-maps maps both).
// Measured on a no-op dev preview with the pack, before and after interleaved (CPU of every process):
// 2.03-2.16 -> 1.62-1.72 CPU-s, 1.67-1.78 -> 1.32-1.42 s of wall time.
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
    const lazy = new Proxy(
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
    standIn(shim, lazy);
}

/**
 * Makes the SDK's v8Hooks (runtime/closure/v8Hooks, the SDK in root's node_modules) open its
 * inspector session at the first getSessionAsync, not at isInitializedAsync (which the runners
 * await before the program starts). The session hears of every script compiled so far as it
 * enables the debugger (V8 reports them all then), so function locations are still found; the
 * listener is added before the debugger is enabled for that. Call it before a runner starts.
 */
function deferInspector(root) {
    let hooksPath;
    try {
        hooksPath = require.resolve("@pulumi/pulumi/runtime/closure/v8Hooks", { paths: [root] });
    } catch {
        return;
    }
    const hooks = require(hooksPath);
    if (hooks.deferred) {
        return;
    }
    const urls = new Map();
    let session;
    const open = async () => {
        const inspector = require("node:inspector");
        const s = new inspector.Session();
        s.connect();
        s.on("Debugger.scriptParsed", ({ params }) => urls.set(params.scriptId, params.url));
        await new Promise((resolve, reject) => s.post("Debugger.enable", (err, res) => (err ? reject(err) : resolve(res))));
        return s;
    };
    // v8.js and the runners call these through the module's exports object, so replacing them here is seen.
    hooks.getSessionAsync = () => (session ??= open());
    hooks.isInitializedAsync = async () => {};
    hooks.getScriptUrl = (id) => urls.get(id);
    hooks.deferred = true;
}

/**
 * Puts an empty stand-in for source-map-support/register (the copy the SDK in root's node_modules
 * loads) in the module cache: the runners' `require("source-map-support/register")` installs
 * nothing. Call it before a runner starts.
 */
function skipSourceMapSupport(root) {
    let register;
    try {
        const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [root] }));
        register = require.resolve("source-map-support/register", { paths: [sdk] });
    } catch {
        return;
    }
    if (require.cache[register]) {
        return;
    }
    standIn(register, {});
}

/** Puts a loaded module with these exports in the module cache under file: a later require of file returns them. */
function standIn(file, exports) {
    const stand = new Module(file);
    stand.filename = file;
    stand.loaded = true;
    stand.exports = exports;
    require.cache[file] = stand;
}

module.exports = { deferTypeScript, deferInspector, skipSourceMapSupport };
// Preloaded (node -r), before any main module: all three for this project's SDK.
if (require.main === undefined) {
    deferTypeScript(__dirname);
    deferInspector(__dirname);
    skipSourceMapSupport(__dirname);
}
