/**
 * A release swap on the Docker host under load, before and after, side by side in one run:
 * `delivery:swap recreate` (the old swap: stop the old container, start the new one on the
 * published port) against `delivery:swap proxy` (the Caddy proxy owns the port: health-gated
 * switch, drain). Two stacks of one project copy, each on its own loopback port; each run
 * changes the stack's config (delivery:env.GREETING: a new release, no build) and runs `up`
 * while a bounded load loop (2 workers, 15 ms pause, at most 3000 requests per run) GETs `/`.
 * Per run: requests, failed requests (no answer within 2 s, or not 200 with a release id), the
 * longest time without a successful answer, p50/p99 latency; three runs each, min/median/max.
 * Prints a Markdown table. Run: npm run bench:swap (BENCH_RUNS=5 for more runs)
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { LoadLoop, LoadSummary } from "../test/support/load";
import { Project, ensureEnvironment, freePort, localConfig } from "../test/support/project";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function swapUnderLoad(stack: Stack, port: number, n: number): Promise<LoadSummary> {
    await stack.setConfig("delivery:env", { value: JSON.stringify({ GREETING: `bench-${n}-${Date.now()}` }) });
    const load = new LoadLoop({ url: `http://127.0.0.1:${port}/`, workers: 2, pauseMs: 15, maxRequests: 3000 });
    await new Promise((r) => setTimeout(r, 500)); // the loop answers before the swap starts
    await stack.up();
    await new Promise((r) => setTimeout(r, 500));
    return load.stop();
}

function stats(values: number[]): string {
    const s = [...values].sort((a, b) => a - b);
    const fmt = (v: number) => String(Math.round(v));
    return `${fmt(s[0])} / ${fmt(s[Math.floor(s.length / 2)])} / ${fmt(s[s.length - 1])}`;
}

async function main(): Promise<void> {
    ensureEnvironment();
    const project = new Project();
    const modes = [
        { swap: "recreate", port: await freePort() },
        { swap: "proxy", port: await freePort() },
    ];
    const stacks: Stack[] = [];
    try {
        const results: Record<string, LoadSummary[]> = {};
        for (const m of modes) {
            // Short watch and drain: they lengthen the proxy swap, not what the load loop sees.
            const stack = await project.stack(`bench-${m.swap}`, localConfig(project, m.port, { swap: m.swap, watchSeconds: "3", drainSeconds: "2" }));
            stacks.push(stack);
            await stack.up();
            results[m.swap] = [];
        }
        for (let i = 0; i < RUNS; i++) {
            for (const [j, m] of modes.entries()) {
                const r = await swapUnderLoad(stacks[j], m.port, i);
                results[m.swap].push(r);
                console.error(
                    `[bench:swap] ${m.swap} run ${i + 1}: ${r.requests} requests, ${r.failed} failed, longest gap ${r.longestGapMs} ms, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
                );
            }
        }
        console.log(`\nRelease swap under load, ${RUNS} runs each, min / median / max (loopback, 2 workers, 15 ms pause):\n`);
        console.log("| swap | requests per swap | failed requests | longest gap without an answer (ms) | p50 (ms) | p99 (ms) |");
        console.log("|---|---|---|---|---|---|");
        for (const m of modes) {
            const r = results[m.swap];
            console.log(
                `| ${m.swap === "recreate" ? "before: recreate (stop, start)" : "after: proxy (Caddy, health-gated switch, drain)"} | ${stats(r.map((x) => x.requests))} | ${stats(r.map((x) => x.failed))} | ${stats(r.map((x) => x.longestGapMs))} | ${stats(r.map((x) => x.p50Ms))} | ${stats(r.map((x) => x.p99Ms))} |`,
            );
        }
    } finally {
        for (const s of stacks.reverse()) {
            await s.destroy().catch(() => undefined);
        }
        project.cleanup();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
