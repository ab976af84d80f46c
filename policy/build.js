// Compiles the policy pack (policy/index.ts and what it imports) to policy/bin with tsc
// (policy/tsconfig.build.json), and stamps the result with a hash of the sources it was compiled
// from, so that load.js can refuse a policy/bin that no longer matches them.
//   node policy/build.js              compile
//   node policy/build.js --if-stale   compile only when the stamp does not match the sources
//   node policy/build.js --check      exit 1 when it does not (compiles nothing)
"use strict";
const { createHash } = require("node:crypto");
const { execFileSync } = require("node:child_process");
const { existsSync, readFileSync, rmSync, writeFileSync } = require("node:fs");
const { join, relative } = require("node:path");

const ROOT = join(__dirname, "..");
const BIN = join(__dirname, "bin");
const SOURCES = join(BIN, ".sources");
const STAMP = join(BIN, ".stamp");
const CONFIGS = ["tsconfig.json", "policy/tsconfig.build.json"];

/** The hash of the build's config and of every source file the last build read; undefined when one is gone. */
function sourcesKey() {
    if (!existsSync(SOURCES)) {
        return undefined;
    }
    const hash = createHash("sha256");
    for (const file of [...CONFIGS, ...readFileSync(SOURCES, "utf8").split("\n").filter(Boolean)]) {
        const path = join(ROOT, file);
        if (!existsSync(path)) {
            return undefined;
        }
        hash.update(`${file}\0`).update(readFileSync(path)).update("\0");
    }
    return hash.digest("hex");
}

/** Whether policy/bin was compiled from the sources as they are now. */
function isCurrent() {
    const key = sourcesKey();
    return key !== undefined && existsSync(STAMP) && readFileSync(STAMP, "utf8").trim() === key && existsSync(join(BIN, "policy", "index.js"));
}

function build() {
    rmSync(BIN, { recursive: true, force: true });
    const tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
    const listed = execFileSync(process.execPath, [tsc, "-p", join(__dirname, "tsconfig.build.json"), "--listFiles"], { cwd: ROOT, encoding: "utf8" });
    const sources = listed
        .split("\n")
        .filter((f) => f.startsWith(ROOT) && !f.includes("/node_modules/"))
        .map((f) => relative(ROOT, f))
        .sort();
    writeFileSync(SOURCES, `${sources.join("\n")}\n`);
    writeFileSync(STAMP, `${sourcesKey()}\n`);
    return sources;
}

module.exports = { isCurrent, build };

if (require.main === module) {
    if ((process.argv.includes("--if-stale") || process.argv.includes("--check")) && isCurrent()) {
        process.exit(0);
    }
    if (process.argv.includes("--check")) {
        console.error("[policy] policy/bin is missing or was compiled from other sources (run npm run build:policy)");
        process.exit(1);
    }
    try {
        const sources = build();
        console.log(`[policy] compiled ${sources.length} sources to ${relative(process.cwd(), BIN) || "."}`);
    } catch (e) {
        // tsc prints its errors on stdout.
        process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}[policy] tsc -p policy/tsconfig.build.json failed\n`);
        rmSync(BIN, { recursive: true, force: true });
        process.exit(1);
    }
}
