import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

// Each case runs its own node processes: the cases run at the same time.
describe.concurrent("defer-sdk.js: the SDK's start-up work put off", () => {
    let dir: string;
    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "delivery-defer-sdk-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs `source` (a CommonJS script in dir, `SDK` bound to the SDK's path) with or without the preload; its stdout's JSON. */
    async function run(name: string, source: string, preload: boolean): Promise<Record<string, unknown>> {
        const file = join(dir, name);
        writeFileSync(file, `"use strict";\nconst SDK = ${JSON.stringify(SDK)};\n${source}`);
        const args = [...(preload ? ["-r", join(ROOT, "defer-sdk.js")] : []), file];
        const { stdout } = await promisify(execFile)(process.execPath, args);
        return JSON.parse(stdout) as Record<string, unknown>;
    }

    it("the runners' require of source-map-support/register installs no stack-trace hook", async () => {
        const source = `
const before = Error.prepareStackTrace;
require(require.resolve("source-map-support/register", { paths: [SDK] }));
process.stdout.write(JSON.stringify({ hooked: Error.prepareStackTrace !== before }));
`;
        expect(await run("sms.js", source, false)).toEqual({ hooked: true });
        expect(await run("sms.js", source, true)).toEqual({ hooked: false });
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
        expect(await run("inspector.js", source, false)).toEqual({ atStart: 1, afterSerializing: 1, error: "Error serializing function 'handler'" });
        expect(await run("inspector.js", source, true)).toEqual({
            atStart: 0,
            afterSerializing: 1,
            error: "Error serializing function 'handler': inspector.js(9,16)",
        });
    });

    it("loads OpenTelemetry's SDK for the program runner's tracing only when tracing starts; spans are made as before, also for a tracer provider registered elsewhere", async () => {
        // What cmd/run/run.js does: newSpan at every start, start(url) only for --tracing. A span
        // made before start goes to a provider another module registered (cmd/run/instrumentation's,
        // for TRACEPARENT): the second tracer below stands for it, registered through the same API.
        const source = `
const api = require(require.resolve("@opentelemetry/api", { paths: [SDK] }));
const loaded = () => Object.keys(require.cache).some((f) => f.includes("@opentelemetry/sdk-trace-node"));
const tracing = require(SDK + "/cmd/run/tracing");
const atStart = loaded();
const before = tracing.newSpan("language-runtime.run").isRecording();
const names = [];
api.trace.setGlobalTracerProvider({ getTracer: () => ({ startSpan: (name) => (names.push(name), api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT)) }) });
tracing.newSpan("language-runtime.reading-npm-rc");
api.trace.disable();
tracing.start("http://127.0.0.1:9/api/v2/spans");
const span = tracing.newSpan("language-runtime.runProgram");
process.stdout.write(JSON.stringify({ atStart, before, names, afterStart: loaded(), recording: span.isRecording() }));
`;
        const after = { before: false, names: ["language-runtime.reading-npm-rc"], afterStart: true, recording: true };
        expect(await run("tracing.js", source, false)).toEqual({ atStart: true, ...after });
        expect(await run("tracing.js", source, true)).toEqual({ atStart: false, ...after });
    });

    it("loads normalize-package-data (for runtime.computeCodePaths) at its first call, which normalizes as before", async () => {
        const source = `
const file = require.resolve("normalize-package-data", { paths: [SDK] });
// The SDK's module that loads it (runtime/index loads it when the SDK is imported).
require(SDK + "/runtime/closure/codePaths");
const atStart = Object.keys(require.cache).some((f) => f.includes("spdx-correct"));
const data = { name: "app", version: "1.0.0", license: "apache 2.0" };
require(file)(data);
process.stdout.write(JSON.stringify({ atStart, data, fixer: typeof require(file).fixer.fixNameField }));
`;
        const normalized = { name: "app", version: "1.0.0", license: "apache 2.0", readme: "ERROR: No README data found!", _id: "app@1.0.0" };
        expect(await run("normalize.js", source, false)).toEqual({ atStart: true, data: normalized, fixer: "function" });
        expect(await run("normalize.js", source, true)).toEqual({ atStart: false, data: normalized, fixer: "function" });
    });
});
