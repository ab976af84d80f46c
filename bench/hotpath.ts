/**
 * The hot path every pipeline runs, against its floor, measured side by side in one run on this
 * machine (real engine, file backend): an empty JavaScript Pulumi program in a temp dir (the
 * floor: the same engine, language host and backend kind, nothing of ours), then a dev-like
 * Docker-target stack of a project copy and a downstream stack promoting from it. Three runs
 * each, with the flags the CI jobs use (scripts/ci/preview.sh, deploy.sh, promote.sh):
 *
 * - no-op `pulumi preview --diff` without and with `--policy-pack policy`;
 * - no-op `pulumi up --diff --refresh --policy-pack policy`, with its preview pass (as CI runs
 *   it today) and with `--skip-preview` (the policy pack still runs on the update itself: a
 *   mandatory violation stops `up --skip-preview` on this engine), and without `--refresh`;
 * - a promotion `up` of the downstream stack (delivery:promoteFrom) with a new promotion tag
 *   per run, as a tag pipeline does: the registry gets a manifest, never a blob.
 *
 * Also: program start (node process start to the program's first resource registration, read
 * by a --require probe from performance.now()), the unit level's wall time (and the process
 * level's, without a goal), and the promotion's
 * registry traffic (read from the local registry's access log).
 * Prints a Markdown table; exits non-zero when a ratio or time misses its goal.
 * Run: npm run bench:hotpath
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { PASSPHRASE, Project, ROOT, ensureEnvironment, envValue, localConfig } from "../test/support/project";
import { PORTS } from "../test/support/ports";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GOALS = { preview: 3, up: 4, startSeconds: 1, unitSeconds: 8 };
const run = promisify(execFile);

interface Timed {
    seconds: number;
    stdout: string;
}

/** `pulumi <args>` in dir; its wall time. */
async function pulumi(dir: string, backend: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Timed> {
    const started = process.hrtime.bigint();
    const { stdout } = await run("pulumi", [...args, "--non-interactive"], {
        cwd: dir,
        env: { ...process.env, PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, ...extraEnv },
        maxBuffer: 64 * 1024 * 1024,
    });
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout };
}

/** The floor: an empty JS program, its own backend, the same engine. */
function floorProject(): { dir: string; backend: string } {
    const dir = mkdtempSync(join(tmpdir(), "delivery-floor-"));
    writeFileSync(join(dir, "Pulumi.yaml"), "name: floor\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "floor", main: "index.js" }));
    writeFileSync(join(dir, "index.js"), "module.exports = {};\n");
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    mkdirSync(join(dir, ".state"));
    return { dir, backend: `file://${join(dir, ".state")}` };
}

/**
 * A --require probe for program start: in the process that registers the program's first
 * resource (any type but the root Stack), writes performance.now() (ms since that node process
 * started) to PROBE_OUT. Other node processes (policy pack, dynamic providers) register nothing.
 */
function startProbe(dir: string): string {
    const probe = join(dir, "start-probe.js");
    writeFileSync(
        probe,
        `const Module = require("module");
const fs = require("fs");
const load = Module._load;
let done = false;
Module._load = function (request, parent, isMain) {
    const exports = load.apply(this, arguments);
    if (!done && request.endsWith("resource_grpc_pb") && exports.ResourceMonitorClient) {
        done = true;
        Module._load = load;
        const proto = exports.ResourceMonitorClient.prototype;
        const register = proto.registerResource;
        let seen = false;
        proto.registerResource = function (req) {
            if (!seen && req.getType() !== "pulumi:pulumi:Stack") {
                seen = true;
                fs.appendFileSync(process.env.PROBE_OUT, performance.now().toFixed(0) + "\\n");
            }
            return register.apply(this, arguments);
        };
    }
    return exports;
};
`,
    );
    return probe;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)} / ${median(xs).toFixed(2)} / ${Math.max(...xs).toFixed(2)}`;

/** Registry requests for one repository since `from` (byte offset in the registry log). */
function registryTraffic(log: string, from: number, repository: string): { manifestPuts: string[]; blobWrites: number } {
    const text = readFileSync(log).subarray(from).toString();
    const manifestPuts: string[] = [];
    let blobWrites = 0;
    for (const line of text.split("\n")) {
        const m = /^\S+ - - \[[^\]]+\] "(\w+) (\S+) /.exec(line);
        if (!m || !m[2].startsWith(`/v2/${repository}/`)) {
            continue;
        }
        const [, method, uri] = m;
        if (method === "PUT" && uri.includes("/manifests/")) {
            manifestPuts.push(uri);
        } else if (["POST", "PATCH", "PUT"].includes(method) && uri.includes("/blobs/")) {
            blobWrites++;
        }
    }
    return { manifestPuts, blobWrites };
}

async function manifestBytes(uri: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:5000${uri}`, {
        method: "HEAD",
        headers: {
            Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        },
    });
    return Number(res.headers.get("content-length") ?? 0);
}

/** A test level's wall time (`npm run <script>`), and whether it passed (a failing level is reported, not thrown). */
async function testLevel(script: string): Promise<{ seconds: number; passed: boolean }> {
    const started = process.hrtime.bigint();
    const passed = await run("npm", ["run", "--silent", script], { cwd: ROOT, env: process.env, maxBuffer: 64 * 1024 * 1024 }).then(
        () => true,
        () => false,
    );
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, passed };
}

/** The 1, 5 and 15 minute load averages: ratios are side by side, but the absolute times move with the load. */
const load = () =>
    loadavg()
        .map((l) => l.toFixed(2))
        .join(" ");

async function main(): Promise<void> {
    ensureEnvironment();
    const loadAtStart = load();
    const floor = floorProject();
    const project = new Project();
    const probeDir = mkdtempSync(join(tmpdir(), "delivery-probe-"));
    const probe = startProbe(probeDir);
    const policy = ["--policy-pack", join(project.dir, "policy")];
    const upstream = "bench-hot";
    const downstream = "bench-hot-promoted";
    const registryLog = join(envValue("DELIVERY_RUN_DIR"), "registry.log");
    const made: Stack[] = [];
    try {
        await run("pulumi", ["stack", "init", "floor", "--non-interactive"], {
            cwd: floor.dir,
            env: { ...process.env, PULUMI_BACKEND_URL: floor.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
        });
        const up = await project.stack(upstream, localConfig(project, PORTS.benchHotpath.upstream));
        made.push(up);
        await up.up({ policyPacks: [policy[1]] });
        const down = await project.stack(downstream, localConfig(project, PORTS.benchHotpath.downstream, { promoteFrom: upstream }));
        made.push(down);
        await down.up({ policyPacks: [policy[1]] });

        const f = (args: string[]) => () => pulumi(floor.dir, floor.backend, ["--stack", "floor", ...args]);
        const p = (stack: string, args: string[]) => () => pulumi(project.dir, project.backend, ["--stack", stack, ...args]);
        let tag = 0;
        const promote = async () => {
            await run("pulumi", ["config", "set", "delivery:promotionTag", `bench-v${++tag}`, "--stack", downstream], {
                cwd: project.dir,
                env: { ...process.env, PULUMI_BACKEND_URL: project.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
            });
            return p(downstream, ["up", "--yes", "--diff", "--refresh", "--skip-preview", ...policy])();
        };
        const previewArgs = ["preview", "--diff"];
        const upArgs = ["up", "--yes", "--diff", "--refresh"];
        // [row, floor command, our command, goal]
        const rows: Array<[string, () => Promise<Timed>, () => Promise<Timed>, number | undefined]> = [
            ["no-op preview, no pack", f(previewArgs), p(upstream, previewArgs), undefined],
            ["no-op preview --policy-pack (MR job)", f(previewArgs), p(upstream, [...previewArgs, ...policy]), GOALS.preview],
            ["no-op up --policy-pack, with preview pass (deploy job today)", f(upArgs), p(upstream, [...upArgs, ...policy]), undefined],
            ["no-op up --policy-pack --skip-preview", f([...upArgs, "--skip-preview"]), p(upstream, [...upArgs, "--skip-preview", ...policy]), GOALS.up],
            // What --refresh costs (CI refreshes to find hand edits): the same update without it.
            [
                "no-op up --policy-pack --skip-preview, without --refresh",
                f(["up", "--yes", "--diff", "--skip-preview"]),
                p(upstream, ["up", "--yes", "--diff", "--skip-preview", ...policy]),
                undefined,
            ],
            ["promotion up --policy-pack --skip-preview, new tag", f([...upArgs, "--skip-preview"]), promote, GOALS.up],
        ];
        const times: Array<{ floor: number[]; ours: number[] }> = [];
        const logStart = statSync(registryLog).size;
        for (const [, floorCommand, command] of rows) {
            const t = { floor: [] as number[], ours: [] as number[] };
            // Interleaved, so that load from other work on the machine hits both alike.
            for (let i = 0; i < RUNS; i++) {
                t.floor.push((await floorCommand()).seconds);
                t.ours.push((await command()).seconds);
            }
            times.push(t);
        }
        const traffic = registryTraffic(registryLog, logStart, project.repository);
        const pushed = await Promise.all(traffic.manifestPuts.map(manifestBytes));

        // Program start, with the probe, in previews of both stacks.
        const probeOut = join(probeDir, "start.txt");
        const probeEnv = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${probe}`.trim(), PROBE_OUT: probeOut };
        for (let i = 0; i < RUNS; i++) {
            await pulumi(project.dir, project.backend, ["--stack", upstream, "preview"], probeEnv);
        }
        const starts = readFileSync(probeOut, "utf8")
            .trim()
            .split("\n")
            .map((ms) => Number(ms) / 1000);
        // The unit level RUNS times, as the commands; the process level (the files that start
        // processes of their own, kept out of the unit level) once, beside it, without a goal.
        const unitRuns = [];
        for (let i = 0; i < RUNS; i++) {
            unitRuns.push(await testLevel("test:unit"));
        }
        const unit = unitRuns.map((r) => r.seconds);
        const unitPassed = unitRuns.every((r) => r.passed);
        const processRun = await testLevel("test:process");

        let failed = false;
        const lines = [
            "| command | empty program (floor): min / median / max (s) | delivery: min / median / max (s) | ratio of medians | goal |",
            "|---|---|---|---|---|",
        ];
        rows.forEach(([what, , , goal], i) => {
            const ratio = median(times[i].ours) / median(times[i].floor);
            const missed = goal !== undefined && ratio > goal;
            failed ||= missed;
            lines.push(
                `| ${what} | ${span(times[i].floor)} | ${span(times[i].ours)} | ${ratio.toFixed(1)}× | ${goal === undefined ? "" : `≤ ${goal}×${missed ? " MISSED" : ""}`} |`,
            );
        });
        const startMissed = median(starts) > GOALS.startSeconds;
        const unitMissed = median(unit) > GOALS.unitSeconds || !unitPassed;
        failed ||= startMissed || unitMissed;
        lines.push(
            `| program start (node start → first resource registered), dev preview | | ${span(starts)} | | ≤ ${GOALS.startSeconds} s${startMissed ? " MISSED" : ""} |`,
        );
        lines.push(
            `| unit suite (npm run test:unit, wall${unitPassed ? "" : ", FAILED"}) | | ${span(unit)} | | ≤ ${GOALS.unitSeconds} s${unitMissed ? " MISSED" : ""} |`,
        );
        lines.push(`| process-level tests (npm run test:process, wall${processRun.passed ? "" : ", FAILED"}) | | ${processRun.seconds.toFixed(2)} | | |`);
        failed ||= !processRun.passed;
        const manifestOnly = traffic.blobWrites === 0 && traffic.manifestPuts.length === RUNS;
        failed ||= !manifestOnly;
        lines.push(
            `| promotion registry traffic (${RUNS} promotions) | | ${traffic.manifestPuts.length} manifest PUTs, ${pushed.reduce((a, b) => a + b, 0)} bytes; ${traffic.blobWrites} blob uploads | | manifest only${manifestOnly ? "" : " MISSED"} |`,
        );
        lines.push("", `Load average (1/5/15 min) at the start: ${loadAtStart}; at the end: ${load()} (${RUNS} runs each, interleaved with the floor).`);
        console.log(lines.join("\n"));
        process.exitCode = failed ? 1 : 0;
    } finally {
        for (const stack of made.reverse()) {
            await stack.destroy().catch(() => undefined);
        }
        project.cleanup();
        rmSync(floor.dir, { recursive: true, force: true });
        rmSync(probeDir, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
