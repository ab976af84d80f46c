import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/**
 * loader.js runs the program's TypeScript as JavaScript compiled once per source text (entry.js,
 * package.json's main). These run it in node processes of their own, as the language host does,
 * on a scratch project whose cache is fresh for each test.
 */
const ROOT = join(__dirname, "..", "..");

interface Report {
    hits: number;
    compiled: string[];
}

describe("loader.js: an edited .ts file is the one that runs", () => {
    let dir: string;
    let cache: string;
    let report: string;

    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "delivery-loader-"));
        cache = join(dir, ".ts-cache");
        report = join(dir, "report.jsonl");
        symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
        writeFileSync(join(dir, "tsconfig.json"), readFileSync(join(ROOT, "tsconfig.json")));
        mkdirSync(join(dir, "components"));
        writeFileSync(join(dir, "components", "value.ts"), 'export const value: string = "first";\n');
        writeFileSync(join(dir, "index.ts"), 'import { value } from "./components/value";\nexport = { value, kind: typeof value };\n');
        writeFileSync(
            join(dir, "entry.js"),
            `require(${JSON.stringify(join(ROOT, "loader.js"))}).register(__dirname);\nmodule.exports = require("./index.ts");\n`,
        );
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** Loads entry.js in a new node process; what it exported and what the loader compiled. */
    function run(): { exported: { value: string; kind: string }; report: Report } {
        rmSync(report, { force: true });
        const out = execFileSync(process.execPath, ["-e", `process.stdout.write(JSON.stringify(require(${JSON.stringify(join(dir, "entry.js"))})))`], {
            env: { ...process.env, DELIVERY_TS_CACHE: cache, DELIVERY_TS_LOADER_REPORT: report },
            // A refused load's stack goes into the thrown error's message, not the test log.
            stdio: ["ignore", "pipe", "pipe"],
        }).toString();
        const { hits, compiled } = JSON.parse(readFileSync(report, "utf8").trim()) as Report;
        return { exported: JSON.parse(out), report: { hits, compiled } };
    }

    it("compiles each file once, then reads it from the cache", () => {
        const first = run();
        expect(first.exported).toEqual({ value: "first", kind: "string" });
        expect(first.report).toEqual({ hits: 0, compiled: ["index.ts", join("components", "value.ts")] });
        const second = run();
        expect(second.exported).toEqual({ value: "first", kind: "string" });
        expect(second.report).toEqual({ hits: 2, compiled: [] });
    });

    it("runs an edited file, even one of the same size and mtime as the cached build", () => {
        const file = join(dir, "components", "value.ts");
        // Whole seconds, so that the edit below can restore exactly this mtime.
        const stamp = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
        utimesSync(file, stamp, stamp);
        run();
        writeFileSync(file, 'export const value: string = "other";\n');
        utimesSync(file, stamp, stamp);
        expect(statSync(file).mtimeMs).toBe(stamp.getTime());
        const edited = run();
        expect(edited.exported).toEqual({ value: "other", kind: "string" });
        expect(edited.report).toEqual({ hits: 1, compiled: [join("components", "value.ts")] });
        // And back: the first text's entry is still there, nothing is compiled.
        writeFileSync(file, 'export const value: string = "first";\n');
        expect(run()).toEqual({ exported: { value: "first", kind: "string" }, report: { hits: 2, compiled: [] } });
    });

    it("compiles again when tsconfig.json changes (its options are part of every entry's key)", () => {
        run();
        const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
        tsconfig.compilerOptions.target = "ES2020";
        writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
        expect(run().report).toEqual({ hits: 0, compiled: ["index.ts", join("components", "value.ts")] });
    });

    it("loads no TypeScript from outside the project", () => {
        const outside = mkdtempSync(join(tmpdir(), "delivery-loader-outside-"));
        try {
            writeFileSync(join(outside, "x.ts"), "export const x = 1;\n");
            writeFileSync(join(dir, "index.ts"), `export = require(${JSON.stringify(join(outside, "x.ts"))});\n`);
            expect(() => run()).toThrow(/only the project's own TypeScript/);
        } finally {
            rmSync(outside, { recursive: true, force: true });
        }
    });
});

describe("the project runs its program through loader.js", () => {
    it("package.json's main is entry.js, which registers the loader and exports index.ts; Pulumi.yaml loads no ts-node", () => {
        const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { main: string };
        expect(pkg.main).toBe("entry.js");
        const entry = readFileSync(join(ROOT, "entry.js"), "utf8");
        expect(entry).toContain('require("./loader.js").register(__dirname);');
        expect(entry).toContain('module.exports = require("./index.ts");');
        const project = parseYaml(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { runtime: { options: { typescript: boolean } } };
        expect(project.runtime.options.typescript).toBe(false);
    });
});
