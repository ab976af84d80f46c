/**
 * What a long ledger costs: the same Docker-target stack with 1 ledger entry and with 1,000,
 * measured side by side in one run on the real engine (file backend), three runs each:
 * a no-op `pulumi preview`, a no-op `pulumi up`, and an `up` that makes a new release (a
 * plain setting changes, so the ledger appends and the container swaps). The 1,000 entries are
 * written into the state with `pulumi stack import`, each as large as a real one (13 settings, a
 * config change every 20 releases).
 * Prints a table and exits non-zero when the 1,000-entry median is more than GOAL × the 1-entry
 * median for any command. Run: npm run bench:ledger
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { entriesOf, packEntries } from "../components/release/releaseLedger";
import { PASSPHRASE, Project, ensureEnvironment, localConfig } from "../test/support/project";
import { PORTS } from "../test/support/ports";

const GOAL = 1.25;
const RUNS = 3;
const ENTRIES = 1000;
const run = promisify(execFile);

async function main(): Promise<void> {
    ensureEnvironment();
    const project = new Project();
    const name = "bench-ledger";
    const stack = await project.stack(name, localConfig(project, PORTS.benchLedger));
    const env = { ...process.env, PULUMI_BACKEND_URL: project.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
    const pulumi = async (...args: string[]) => {
        const started = process.hrtime.bigint();
        await run("pulumi", [...args, "--stack", name, "--non-interactive", "--policy-pack", join(project.dir, "policy")], {
            cwd: project.dir,
            env,
            maxBuffer: 64 * 1024 * 1024,
        });
        return Number(process.hrtime.bigint() - started) / 1e9;
    };
    let flip = 0;
    const commands: Record<string, () => Promise<number>> = {
        "no-op preview": () => pulumi("preview"),
        "no-op up": () => pulumi("up", "--yes", "--skip-preview"),
        "up, new release": async () => {
            await run("pulumi", ["config", "set", "--path", "delivery:env.BENCH", `run-${flip++}`, "--stack", name], { cwd: project.dir, env });
            return pulumi("up", "--yes", "--skip-preview");
        },
    };
    const stateFile = join(project.dir, ".state", ".pulumi", "stacks", "delivery", `${name}.json`);
    const measure = async () => {
        const times: Record<string, number[]> = {};
        for (const [what, command] of Object.entries(commands)) {
            times[what] = [];
            for (let i = 0; i < RUNS; i++) {
                times[what].push(await command());
            }
        }
        return { times, stateBytes: statSync(stateFile).size };
    };
    try {
        await stack.up();
        const small = await measure();
        await inflateLedger(stack, ENTRIES);
        const large = await measure();
        report(small, large);
    } finally {
        await stack.destroy().catch(() => undefined);
        project.cleanup();
    }
}

/** Writes `n` entries into the stack's ledger, the newest being the release that runs (so a no-op stays a no-op). */
async function inflateLedger(stack: Awaited<ReturnType<Project["stack"]>>, n: number): Promise<void> {
    const state = await stack.exportStack();
    const ledger = (state.deployment.resources as Array<{ type: string; outputs: { entriesJson: string } }>).find(
        (r) => r.type === "pulumi-nodejs:dynamic/release:ReleaseLedger",
    )!;
    const entries = entriesOf(ledger.outputs);
    const current = entries.at(-1)!;
    const settings = {
        env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`SETTING_${i}`, `value-${i}-`.padEnd(40, "x")])),
        secrets: { A: "f".repeat(64), B: "e".repeat(64) },
    };
    // The config changes every 20 releases: 50 distinct settings in 1,000 entries.
    const old = Array.from({ length: n - entries.length }, (_, i) => ({
        ...current,
        releaseId: `r-${String(i).padStart(12, "0")}`,
        configHash: `sha256:${String(Math.floor(i / 20)).padStart(64, "0")}`,
        settings: { ...settings, env: { ...settings.env, CONFIG_GENERATION: String(Math.floor(i / 20)) } },
    }));
    ledger.outputs.entriesJson = packEntries([...old, ...entries].map((e, i) => ({ ...e, number: i + 1, version: `v${i + 1}` })));
    await stack.importStack(state);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const span = (xs: number[]) => `${Math.min(...xs).toFixed(2)} / ${median(xs).toFixed(2)} / ${Math.max(...xs).toFixed(2)}`;

function report(small: { times: Record<string, number[]>; stateBytes: number }, large: { times: Record<string, number[]>; stateBytes: number }): void {
    let failed = false;
    console.log(`| command | 1 entry: min / median / max (s) | ${ENTRIES} entries: min / median / max (s) | ratio of medians (goal ≤ ${GOAL}) |`);
    console.log("|---|---|---|---|");
    for (const what of Object.keys(small.times)) {
        const ratio = median(large.times[what]) / median(small.times[what]);
        failed ||= ratio > GOAL;
        console.log(`| ${what} | ${span(small.times[what])} | ${span(large.times[what])} | ${ratio.toFixed(2)}${ratio > GOAL ? " MISSED" : ""} |`);
    }
    console.log(`| state file | ${(small.stateBytes / 1024).toFixed(0)} KiB | ${(large.stateBytes / 1024).toFixed(0)} KiB | |`);
    process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
});
