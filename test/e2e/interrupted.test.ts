import { Stack } from "@pulumi/pulumi/automation";
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyName } from "../../components/targets/proxy";
import { PASSPHRASE, Project, ReleaseOutput, ensureEnvironment, getApp, localConfig, outputValue, slotContainers } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The `pulumi` CLI killed (SIGKILL, by its pid) at a chosen step of an update or destroy on the
 * Docker host target, then the recovery route the README documents ("When an update is
 * interrupted"): `pulumi cancel` (the lock of the killed run stays on the file backend), then
 * `pulumi up --refresh`, then `pulumi refresh --clear-pending-creates`. After it exactly one
 * container of the slot serves, no operation is pending, a further preview has no changes, and
 * `destroy` leaves no container of the slot.
 *
 * The provider's test-only hook (DELIVERY_TEST_PAUSE_AT, see dockerContainer.ts) pauses it at the
 * step; the variable reaches the provider because the engine starts its plugins with the CLI's
 * environment. After the kill, the provider either goes on (the plugins outlive the CLI, as they
 * do when a CI runner's job is killed) or is killed too (the whole runner gone).
 */

/** Every command of the route and what it printed, for the README (`DELIVERY_INTERRUPT_LOG` moves it). */
const ROUTE_LOG = process.env.DELIVERY_INTERRUPT_LOG ?? join(tmpdir(), "delivery-interrupted-route.log");

interface Run {
    code: number | null;
    out: string;
}

class Cli {
    constructor(
        readonly project: Project,
        readonly stackName: string,
    ) {}

    env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PULUMI_BACKEND_URL: this.project.backend,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            ...extra,
        };
    }

    start(args: string[], extra: Record<string, string> = {}) {
        const child = spawn("pulumi", [...args, "--stack", this.stackName, "--non-interactive"], { cwd: this.project.dir, env: this.env(extra) });
        const run: Run & { done: Promise<Run> } = { code: null, out: "", done: undefined as unknown as Promise<Run> };
        child.stdout.on("data", (b: Buffer) => (run.out += b.toString()));
        child.stderr.on("data", (b: Buffer) => (run.out += b.toString()));
        run.done = new Promise((resolve) =>
            child.on("close", (code) => {
                run.code = code;
                resolve(run);
            }),
        );
        return { child, run };
    }

    /** One step of the recovery route, written to the route log as the operator would see it. */
    async step(args: string[]): Promise<Run> {
        const run = await this.start(args).run.done;
        appendFileSync(ROUTE_LOG, `$ pulumi ${args.join(" ")} --stack ${this.stackName} --non-interactive\n${run.out}[exit ${run.code}]\n\n`);
        return run;
    }
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 300_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = probe();
        if (v) {
            return v;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Pids of the processes (the CLI's plugins and language host) that carry this run's marker directory. */
function processesOf(markerDir: string): number[] {
    const needle = `DELIVERY_TEST_PAUSE_DIR=${markerDir}`;
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
            continue;
        }
        try {
            if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(needle)) {
                pids.push(Number(entry));
            }
        } catch {
            // gone meanwhile
        }
    }
    return pids;
}

/** Whether a process runs (a zombie, never reaped once its parent the CLI is gone, does not). */
function alive(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

type KillAt = { step: string } | { output: RegExp };

/**
 * Runs `pulumi <args>` and kills the CLI with SIGKILL at the step. Then "finish": lets the
 * paused provider go on and waits until it has finished its operation; "crash": kills it too.
 * Either way every process left of that run is then ended by its pid.
 */
async function interrupt(cli: Cli, args: string[], at: KillAt, after: "finish" | "crash"): Promise<string> {
    const markers = mkdtempSync(join(tmpdir(), "delivery-pause-"));
    const steps = join(markers, "steps.log");
    const stepName = "step" in at ? at.step : "none";
    const { child, run } = cli.start(args, { DELIVERY_TEST_PAUSE_AT: stepName, DELIVERY_TEST_PAUSE_DIR: markers });
    let exited = false;
    void run.done.then(() => (exited = true));
    const stepLine = (name: string, from = 0) =>
        (existsSync(steps) ? readFileSync(steps, "utf8") : "")
            .split("\n")
            .slice(from)
            .findIndex((l) => l.startsWith(`${name} `));
    const paused = await until(`pulumi ${args[0]} to reach ${"step" in at ? at.step : at.output}`, () => {
        if (exited) {
            throw new Error(`pulumi ${args[0]} ended (exit ${run.code}) before the step:\n${run.out}`);
        }
        if ("step" in at) {
            const i = stepLine(at.step);
            return i >= 0 ? { index: i, pid: Number(readFileSync(steps, "utf8").split("\n")[i].split(" ")[1]) } : undefined;
        }
        return at.output.test(run.out) ? { index: -1, pid: 0 } : undefined;
    });
    child.kill("SIGKILL");
    await run.done;
    if (paused.pid && after === "finish") {
        writeFileSync(join(markers, `${stepName}.resume`), "");
        await until(
            "the provider to finish its operation without the CLI",
            () => stepLine("end", paused.index + 1) >= 0 || !alive(paused.pid) || undefined,
            180_000,
        );
    }
    for (const pid of processesOf(markers)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // ended by itself
        }
    }
    await until("the run's processes to end", () => processesOf(markers).length === 0 || undefined, 30_000);
    rmSync(markers, { recursive: true, force: true });
    return run.out;
}

/** `deployment.pending_operations` of the stack's checkpoint (`pulumi stack export`, secrets stay encrypted). */
async function pendingOperations(cli: Cli): Promise<Array<{ type: string; urn: string }>> {
    const exported = await cli.start(["stack", "export"]).run.done;
    expect(exported.code, exported.out).toBe(0);
    const ops = (JSON.parse(exported.out).deployment.pending_operations ?? []) as Array<{ type: string; resource: { urn: string } }>;
    return ops.map((op) => ({ type: op.type, urn: op.resource.urn.replace(/^.*::/, "") }));
}

/**
 * The documented route: `pulumi cancel` where the killed run's lock stays, `pulumi up --refresh`,
 * then `pulumi refresh --clear-pending-creates` for the pending creates that `up` keeps.
 */
async function recover(cli: Cli, title: string): Promise<Run> {
    appendFileSync(ROUTE_LOG, `=== ${title}\n`);
    let locked = await cli.step(["up", "--refresh", "--yes", "--skip-preview"]);
    if (/error: failed to load checkpoint: EOF/.test(locked.out)) {
        // The kill hit the backend writing the checkpoint's attribute file, which gocloud's
        // fileblob writes in place: it is empty. Without it the checkpoint loads (README).
        const attrs = join(cli.project.dir, ".state", ".pulumi", "stacks", "delivery", `${cli.stackName}.json.attrs`);
        expect(statSync(attrs).size).toBe(0);
        rmSync(attrs);
        appendFileSync(ROUTE_LOG, `$ rm ${attrs}   # empty: the kill hit its write\n\n`);
        locked = await cli.step(["up", "--refresh", "--yes", "--skip-preview"]);
    }
    expect(locked.code).not.toBe(0);
    expect(locked.out).toMatch(/the stack is currently locked by 1 lock\(s\)/);
    const cancel = await cli.step(["cancel", "--yes"]);
    expect(cancel.code, cancel.out).toBe(0);
    const up = await cli.step(["up", "--refresh", "--yes", "--skip-preview"]);
    expect(up.code, up.out).toBe(0);
    // `up --refresh` clears pending updates and deletes but keeps pending creates, silently;
    // `refresh --clear-pending-creates` drops them (the resources exist again by now).
    const pending = await pendingOperations(cli);
    appendFileSync(ROUTE_LOG, `pending operations left: ${JSON.stringify(pending)}\n\n`);
    expect(
        pending.every((op) => op.type === "creating"),
        JSON.stringify(pending),
    ).toBe(true);
    const clear = await cli.step(["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]);
    expect(clear.code, clear.out).toBe(0);
    expect(await pendingOperations(cli)).toEqual([]);
    return up;
}

/** One container of the slot, running, and it answers with the stack's release. */
async function expectOneServing(stack: Stack, slot: string, port: number): Promise<ReleaseOutput> {
    const release = outputValue<ReleaseOutput>(await stack.outputs(), "release");
    const containers = slotContainers(slot);
    expect(containers, containers.join("\n")).toHaveLength(1);
    expect(containers[0]).toMatch(/ Up /);
    const app = await getApp(`http://127.0.0.1:${port}/`);
    expect(app.status).toBe(200);
    expect(app.body.release_id).toBe(release.releaseId);
    return release;
}

/** `up` has converged (a preview after the route changes nothing) and `destroy` leaves nothing of the slot, nor its port's proxy. */
async function expectConvergedThenGone(stack: Stack, slot: string, port: number): Promise<void> {
    const preview = await stack.preview({ expectNoChanges: true, refresh: true });
    expect(preview.changeSummary.same).toBeGreaterThan(0);
    await stack.destroy();
    expect(slotContainers(slot)).toEqual([]);
    expect(
        execFileSync("docker", ["ps", "-aq", "--filter", `name=^${proxyName("127.0.0.1", port)}$`])
            .toString()
            .trim(),
    ).toBe("");
}

/** After the recovery route, one container serves, and with a release other than `old`. */
async function expectNewServing(stack: Stack, slot: string, port: number, old: ReleaseOutput): Promise<void> {
    const now = await expectOneServing(stack, slot, port);
    expect(now.releaseId).not.toBe(old.releaseId);
}

describe("an interrupted update on the Docker host is recovered by `pulumi cancel` + `pulumi up --refresh`", () => {
    let project: Project;
    const stacks: Array<{ stack: Stack; slot: string }> = [];

    async function stackFor(name: string, port: number) {
        const stack = await project.stack(
            name,
            localConfig(project, port, {
                healthTimeoutSeconds: "20",
                secretEnv: { value: JSON.stringify({ API_TOKEN: "interrupt-secret-Zq81" }), secret: true },
            }),
        );
        const slot = `e2e-${port}-${name}`;
        stacks.push({ stack, slot });
        return { stack, slot, cli: new Cli(project, name) };
    }

    /** A stack whose first release is up, and an app changed since: the next `up` is a new release. */
    async function releasedThenChanged(name: string, port: number, change: string) {
        const made = await stackFor(name, port);
        const old = outputValue<ReleaseOutput>((await made.stack.up()).outputs, "release");
        project.changeApp((src) => src.replace('"ok"', `"ok, ${change}"`), `${change} kill`);
        return { ...made, old };
    }

    beforeAll(async () => {
        ensureEnvironment();
        writeFileSync(ROUTE_LOG, `# recovery route as run by test/e2e/interrupted.test.ts, ${new Date().toISOString()}\n\n`);
        project = new Project();
    });

    afterAll(async () => {
        for (const { stack, slot } of stacks) {
            await stack.destroy().catch(() => undefined);
            // Whatever a failed run left on the host (only this file's slots).
            for (const line of slotContainers(slot)) {
                execFileSync("docker", ["rm", "-f", line.split(" ")[0]]);
            }
        }
        project?.cleanup();
    });

    it("killed during the build of the first release", async () => {
        const port = PORTS.interrupted.build;
        const { stack, slot, cli } = await stackFor("e2e-kill-build", port);
        await interrupt(cli, ["up", "--yes", "--skip-preview"], { output: /docker-build:index:Image\s+\S+\s+creating/ }, "crash");
        expect(slotContainers(slot)).toEqual([]);
        await recover(cli, "killed during the build of the first release");
        await expectOneServing(stack, slot, port);
        await expectConvergedThenGone(stack, slot, port);
    });

    it("killed while the first release's container answers its health check (create), the provider finishing", async () => {
        const port = PORTS.interrupted.create;
        const { stack, slot, cli } = await stackFor("e2e-kill-create", port);
        await interrupt(cli, ["up", "--yes", "--skip-preview"], { step: "live-started" }, "finish");
        // The provider finished: a container the state does not know holds the port.
        expect(slotContainers(slot)).toHaveLength(1);
        await recover(cli, "killed during create (the new container's health check), the provider finishing");
        await expectOneServing(stack, slot, port);
        await expectConvergedThenGone(stack, slot, port);
    });

    it("killed during the health gate of a new release, the provider finishing the swap", async () => {
        const port = PORTS.interrupted.swap;
        const { stack, slot, cli, old } = await releasedThenChanged("e2e-kill-candidate", port, "candidate");
        // live-started: the new container runs on the proxy's network, not yet health-gated or routed.
        await interrupt(cli, ["up", "--yes", "--skip-preview"], { step: "live-started" }, "finish");
        // The swap went through without the CLI: the new release serves, unknown to the state.
        expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).not.toBe(old.releaseId);
        await recover(cli, "killed during the health gate, the provider finishing the swap");
        await expectNewServing(stack, slot, port, old);
        // The secret setting stays a secret through the adoption.
        const exported = await cli.start(["stack", "export"]).run.done;
        expect(exported.code).toBe(0);
        expect(exported.out).toContain("app-container");
        expect(exported.out).not.toContain("interrupt-secret-Zq81");
        await expectConvergedThenGone(stack, slot, port);
    });

    it("killed right after the proxy switched, the provider killed too", async () => {
        const port = PORTS.interrupted.switched;
        const { stack, slot, cli, old } = await releasedThenChanged("e2e-kill-stopped", port, "stopped");
        await interrupt(cli, ["up", "--yes", "--skip-preview"], { step: "switched" }, "crash");
        // No gap: the proxy already routes to the new release; the old container still runs beside it (never watched, never drained).
        expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).not.toBe(old.releaseId);
        expect(slotContainers(slot)).toHaveLength(2);
        await recover(cli, "killed right after the proxy switched, the provider killed too");
        await expectNewServing(stack, slot, port, old);
        await expectConvergedThenGone(stack, slot, port);
    });

    it("killed during the delete of a destroy that follows an interrupted swap", async () => {
        const port = PORTS.interrupted.destroy;
        const { stack, slot, cli } = await stackFor("e2e-kill-delete", port);
        await stack.up();
        project.changeApp((src) => src.replace('"ok"', '"ok, delete"'), "delete kill");
        await interrupt(cli, ["up", "--yes", "--skip-preview"], { step: "live-started" }, "finish");
        expect((await cli.step(["cancel", "--yes"])).code).toBe(0);
        await interrupt(cli, ["destroy", "--yes", "--skip-preview"], { step: "deleting" }, "finish");
        // The delete went on without the CLI and removed the slot's containers, the lost one too.
        expect(slotContainers(slot)).toEqual([]);
        await recover(cli, "killed during delete (destroy after an interrupted swap), the provider finishing");
        await expectOneServing(stack, slot, port);
        await expectConvergedThenGone(stack, slot, port);
    });
});
