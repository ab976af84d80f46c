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
// - The program runner's Zipkin tracing (cmd/run/tracing): it loads OpenTelemetry's SDK, exporter
//   and gRPC instrumentation at start (~30 ms of CPU here) for a --tracing URL the engine gives only
//   when tracing is on. Here they load when tracing starts.
// - normalize-package-data (and the license and git-host parsers it loads, ~17 ms): the SDK loads
//   it for runtime.computeCodePaths, which packages code for serverless functions and which this
//   project never calls. Here it loads at its first call.
// Measured on a no-op dev preview with the pack, before and after interleaved (CPU of every process):
// 2.03-2.16 -> 1.62-1.72 CPU-s, 1.67-1.78 -> 1.32-1.42 s of wall time (the first three); the last
// two, 5 runs each: 1.59-1.81 -> 1.52-1.64 CPU-s (medians 1.70 -> 1.55), 1.31-1.49 -> 1.24-1.33 s.
"use strict";
const Module = require("node:module");
const path = require("node:path");

/**
 * Puts a stand-in for the SDK's typescript-shim module (the SDK in root's node_modules) in the
 * module cache, which loads TypeScript (what the shim loads: the project's, else the SDK's vendored
 * copy) at its first use. Call it before the SDK is imported.
 */
function deferTypeScript(root) {
    const shim = unloaded(() => require.resolve("@pulumi/pulumi/typescript-shim", { paths: [root] }));
    if (!shim) {
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
    const register = unloaded(() => fromSdk(root, "source-map-support/register"));
    if (register) {
        standIn(register, {});
    }
}

/**
 * Puts a stand-in for the program runner's tracing module (cmd/run/tracing, the SDK in root's
 * node_modules) in the module cache. start() loads the real module and starts it; until then
 * newSpan() makes its span the way the real one does with no root span (through
 * @opentelemetry/api, so a tracer provider another module registered, as cmd/run/instrumentation
 * does for TRACEPARENT, still gets the spans) and stop() has nothing to end.
 */
function deferTracing(root) {
    const file = unloaded(() => require.resolve("@pulumi/pulumi/cmd/run/tracing", { paths: [root] }));
    if (!file) {
        return;
    }
    let real;
    let api;
    const stand = {
        start: (url) => {
            real ??= loadPast(file, stand);
            return real.start(url);
        },
        stop: () => real?.stop(),
        newSpan: (name) => {
            if (real) {
                return real.newSpan(name);
            }
            // The SDK's own copy of the API, loaded at the first span (as the real module loads it).
            api ??= require(require.resolve("@opentelemetry/api", { paths: [path.dirname(file)] }));
            const ctx = api.trace.setSpan(api.context.active(), api.trace.getActiveSpan());
            return api.trace.getTracer("nodejs-runtime").startSpan(name, undefined, ctx);
        },
    };
    standIn(file, stand);
}

/**
 * Puts a stand-in for normalize-package-data (the copy the SDK in root's node_modules loads) in
 * the module cache: a function that loads the real one at its first call.
 */
function deferPackageNormalizer(root) {
    const file = unloaded(() => fromSdk(root, "normalize-package-data"));
    if (!file) {
        return;
    }
    let real;
    const stand = function normalize(...args) {
        real ??= loadPast(file, stand);
        return real.apply(this, args);
    };
    Object.defineProperty(stand, "fixer", { get: () => (real ??= loadPast(file, stand)).fixer });
    standIn(file, stand);
}

/**
 * The file resolve() names, when there is one and it is not loaded yet; otherwise nothing to stand
 * in for (no SDK here, another layout, or a module already loaded).
 */
function unloaded(resolve) {
    let file;
    try {
        file = resolve();
    } catch {
        return undefined;
    }
    return require.cache[file] ? undefined : file;
}

/** The file that request names for the SDK in root's node_modules (its own dependencies). */
function fromSdk(root, request) {
    const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [root] }));
    return require.resolve(request, { paths: [sdk] });
}

/** Loads the real module of file past its stand-in (which stays in the module cache for later requires). */
function loadPast(file, stand) {
    delete require.cache[file];
    try {
        return require(file);
    } finally {
        standIn(file, stand);
    }
}

/** Puts a loaded module with these exports in the module cache under file: a later require of file returns them. */
function standIn(file, exports) {
    const stand = new Module(file);
    stand.filename = file;
    stand.loaded = true;
    stand.exports = exports;
    require.cache[file] = stand;
}

module.exports = { deferTypeScript, deferInspector, skipSourceMapSupport, deferTracing, deferPackageNormalizer };
// Preloaded (node -r), before any main module: all of them for this project's SDK.
if (require.main === undefined) {
    deferTypeScript(__dirname);
    deferInspector(__dirname);
    skipSourceMapSupport(__dirname);
    deferTracing(__dirname);
    deferPackageNormalizer(__dirname);
}
