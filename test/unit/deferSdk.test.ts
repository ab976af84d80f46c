import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * defer-sdk.js, preloaded (node -r) as the language host and pulumi-resource-pulumi-nodejs preload
 * it, against the real @pulumi/pulumi: what the runners set up at start is put off or left out, and
 * the closure serializer still works and still names where a function is. Each case runs a script
 * in a node process of its own, with and without the preload (the SDK's own behaviour, which the
 * preload must change).
 */
const ROOT = join(__dirname, "..", "..");
const SDK = join(ROOT, "node_modules", "@pulumi", "pulumi");

describe("defer-sdk.js: the SDK's start-up work put off", () => {
    let dir: string;
    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "delivery-defer-sdk-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs `source` (a CommonJS script in dir, `SDK` bound to the SDK's path) with or without the preload; its stdout's JSON. */
    function run(name: string, source: string, preload: boolean): Record<string, unknown> {
        const file = join(dir, name);
        writeFileSync(file, `"use strict";\nconst SDK = ${JSON.stringify(SDK)};\n${source}`);
        const args = [...(preload ? ["-r", join(ROOT, "defer-sdk.js")] : []), file];
        return JSON.parse(execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] }).toString()) as Record<string, unknown>;
    }

    it("the runners' require of source-map-support/register installs no stack-trace hook", () => {
        const source = `
const before = Error.prepareStackTrace;
require(require.resolve("source-map-support/register", { paths: [SDK] }));
process.stdout.write(JSON.stringify({ hooked: Error.prepareStackTrace !== before }));
`;
        expect(run("sms.js", source, false)).toEqual({ hooked: true });
        expect(run("sms.js", source, true)).toEqual({ hooked: false });
    });

    it("opens the inspector session at the serializer's first use, not when the runners wait for it; the serializer still names a function's file and position", async () => {
        // handler captures a hash object, whose methods the serializer refuses: its error names
        // handler's place in the script (line 9: after the two lines run() adds).
        const source = `
const inspector = require("node:inspector");
let sessions = 0;
const connect = inspector.Session.prototype.connect;
inspector.Session.prototype.connect = function () { sessions++; return connect.call(this); };
const captured = { hash: require("node:crypto").createHash("sha256") };
function handler() { return captured.hash.digest(); }
(async () => {
    // What cmd/run and the policy runner await before the program loads.
    await require(SDK + "/runtime/closure/v8Hooks").isInitializedAsync();
    const atStart = sessions;
    const error = await require(SDK).runtime.serializeFunction(handler).then(() => "", (e) => e.message.split("\\n")[0]);
    process.stdout.write(JSON.stringify({ atStart, afterSerializing: sessions, error }));
})();
`;
        // The SDK alone: a session at start. Its listener is added after the debugger is enabled,
        // so it never hears of a script compiled before (this one): no position in the message.
        expect(run("inspector.js", source, false)).toEqual({ atStart: 1, afterSerializing: 1, error: "Error serializing function 'handler'" });
        expect(run("inspector.js", source, true)).toEqual({
            atStart: 0,
            afterSerializing: 1,
            error: "Error serializing function 'handler': inspector.js(9,16)",
        });
    });

    it("loads OpenTelemetry's SDK for the program runner's tracing only when tracing starts; spans are made as before", () => {
        // What cmd/run/run.js does: newSpan at every start, start(url) only for --tracing.
        const source = `
const loaded = () => Object.keys(require.cache).some((f) => f.includes("@opentelemetry/sdk-trace-node"));
const tracing = require(SDK + "/cmd/run/tracing");
const atStart = loaded();
const before = tracing.newSpan("language-runtime.run").isRecording();
tracing.start("http://127.0.0.1:9/api/v2/spans");
const span = tracing.newSpan("language-runtime.runProgram");
process.stdout.write(JSON.stringify({ atStart, before, afterStart: loaded(), recording: span.isRecording() }));
`;
        expect(run("tracing.js", source, false)).toEqual({ atStart: true, before: false, afterStart: true, recording: true });
        expect(run("tracing.js", source, true)).toEqual({ atStart: false, before: false, afterStart: true, recording: true });
    });

    it("a span made before tracing starts goes to a tracer provider registered elsewhere (cmd/run/instrumentation's, for TRACEPARENT)", () => {
        const source = `
const { NodeTracerProvider } = require(require.resolve("@opentelemetry/sdk-trace-node", { paths: [SDK] }));
new NodeTracerProvider().register();
const span = require(SDK + "/cmd/run/tracing").newSpan("language-runtime.run");
process.stdout.write(JSON.stringify({ recording: span.isRecording(), name: span.name }));
`;
        expect(run("provider.js", source, false)).toEqual({ recording: true, name: "language-runtime.run" });
        expect(run("provider.js", source, true)).toEqual({ recording: true, name: "language-runtime.run" });
    });

    it("loads normalize-package-data (for runtime.computeCodePaths) at its first call, which normalizes as before", () => {
        const source = `
const file = require.resolve("normalize-package-data", { paths: [SDK] });
require(SDK);
const atStart = Object.keys(require.cache).some((f) => f.includes("spdx-correct"));
const data = { name: "app", version: "1.0.0", license: "apache 2.0" };
require(file)(data);
process.stdout.write(JSON.stringify({ atStart, data, fixer: typeof require(file).fixer.fixNameField }));
`;
        const normalized = { name: "app", version: "1.0.0", license: "apache 2.0", readme: "ERROR: No README data found!", _id: "app@1.0.0" };
        expect(run("normalize.js", source, false)).toEqual({ atStart: true, data: normalized, fixer: "function" });
        expect(run("normalize.js", source, true)).toEqual({ atStart: false, data: normalized, fixer: "function" });
    });
});
