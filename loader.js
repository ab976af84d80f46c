// Runs the project's TypeScript as JavaScript compiled once per source text, never stale code.
//
// register(root) makes `require` load root's .ts files (outside node_modules) through a cache of
// their JavaScript: each file's entry is named by a hash of its own text, its path, tsconfig.json,
// the TypeScript version and this file's text, so an edited file (whatever its mtime or size)
// has no entry yet and is compiled again when it is loaded; the other files are read from the
// cache. TypeScript itself is loaded only then. The JavaScript is what ts-node's transpile-only
// mode ran before (typescript's transpileModule, tsconfig.json's compilerOptions); types are
// checked by `tsc --noEmit` (the tests, CI), not here.
//
// The cache is node_modules/.cache/delivery-ts (project copies link node_modules, so they share
// it), or DELIVERY_TS_CACHE. Entries are written to a temporary file and renamed, so concurrent
// runs never read half an entry; two runs that compile the same text write the same bytes.
// Each entry carries an inline source map: NODE_OPTIONS=--enable-source-maps shows .ts positions.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

// This file's own text is part of every key: a change to how it compiles compiles everything again.
const LOADER_TEXT = fs.readFileSync(__filename);

/** What a run loaded: files read from the cache and files compiled (DELIVERY_TS_LOADER_REPORT=path appends them, and whether TypeScript was loaded). */
const stats = { hits: 0, compiled: [] };
/** Each .ts file loaded, by absolute path, with its key: what names its exact text (components/dynamicResource.ts keys on them). */
const loaded = new Map();

function register(root) {
    root = fs.realpathSync(root);
    const cacheDir = process.env.DELIVERY_TS_CACHE || path.join(root, "node_modules", ".cache", "delivery-ts");
    module.exports.registered = { root, cacheDir };
    const tsPackage = require.resolve("typescript/package.json", { paths: [root] });
    const tsVersion = JSON.parse(fs.readFileSync(tsPackage, "utf8")).version;
    let tsconfig = "";
    try {
        tsconfig = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
    } catch {
        // No tsconfig.json: TypeScript's defaults, plus what compile() sets.
    }
    const base = createHash("sha256").update(LOADER_TEXT).update(`\0${tsVersion}\0${tsconfig}\0`);
    let compilerOptions;

    function compile(rel, source) {
        const ts = require(require.resolve("typescript", { paths: [root] }));
        if (!compilerOptions) {
            const parsed = tsconfig ? ts.parseConfigFileTextToJson("tsconfig.json", tsconfig) : { config: {} };
            if (parsed.error) {
                throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(parsed.error.messageText, "\n")}`);
            }
            const { options } = ts.convertCompilerOptionsFromJson(parsed.config.compilerOptions ?? {}, root);
            compilerOptions = {
                ...options,
                module: ts.ModuleKind.CommonJS,
                noEmit: false,
                declaration: false,
                declarationMap: false,
                sourceMap: false,
                inlineSourceMap: true,
                inlineSources: false,
            };
            delete compilerOptions.outDir;
        }
        return ts.transpileModule(source, { fileName: rel, compilerOptions, reportDiagnostics: false }).outputText;
    }

    function load(module, filename) {
        const rel = path.relative(root, filename);
        if (rel.startsWith("..") || path.isAbsolute(rel) || rel.split(path.sep).includes("node_modules")) {
            throw new Error(`${filename}: only the project's own TypeScript (under ${root}, outside node_modules) is loaded as TypeScript`);
        }
        const source = fs.readFileSync(filename, "utf8");
        const key = base.copy().update(`${rel}\0`).update(source).digest("hex");
        loaded.set(filename, key);
        const entry = path.join(cacheDir, key.slice(0, 2), `${key}.js`);
        let js;
        try {
            js = fs.readFileSync(entry, "utf8");
            if (!js) {
                throw new Error("an empty entry (a write cut short by a crash): compile again");
            }
            stats.hits++;
        } catch {
            js = compile(rel, source);
            stats.compiled.push(rel);
            writeEntry(entry, js);
        }
        module._compile(js, filename);
    }

    Module._extensions[".ts"] = load;
    // V8's code cache (scripts/env.sh sets NODE_COMPILE_CACHE; this covers runs without it).
    if (!process.env.NODE_COMPILE_CACHE && typeof Module.enableCompileCache === "function") {
        Module.enableCompileCache(path.join(root, "node_modules", ".cache", "node-compile-cache"));
    }
    if (process.env.DELIVERY_TS_LOADER_REPORT) {
        process.on("exit", () => {
            // typescript: whether TypeScript itself was loaded (a compile, or the SDK's closure serializer).
            const typescript = Object.keys(require.cache).some((k) => /[\\/]node_modules[\\/]typescript[\\/]lib[\\/]typescript\.js$/.test(k));
            const report = { pid: process.pid, hits: stats.hits, compiled: stats.compiled, typescript };
            fs.appendFileSync(process.env.DELIVERY_TS_LOADER_REPORT, `${JSON.stringify(report)}\n`);
        });
    }
}

/**
 * Writes a cache entry (this loader's, or components/dynamicResource.ts's) to a temporary file and
 * renames it, so a concurrent run never reads half an entry. A cache that cannot be written costs
 * the work again next time, nothing else.
 */
function writeEntry(entry, text) {
    try {
        fs.mkdirSync(path.dirname(entry), { recursive: true });
        const tmp = `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, entry);
    } catch {
        // Not written: see above.
    }
}

module.exports = { register, stats, loaded, registered: undefined, writeEntry };
