import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOT, cleanEnv } from "./harness";

/**
 * The local lock per stack (scripts/stack-lock.sh) that the project's commands take before the
 * engine's own: two of them on one machine never start an update on one stack together. No
 * engine is needed: a command that holds the lock is refused before it runs `pulumi`.
 */
const BACKEND = "file:///var/lib/delivery-state-not-used";

describe("the local stack lock", () => {
    let cache: string;
    let holders: ChildProcess[] = [];

    beforeEach(() => {
        cache = mkdtempSync(join(tmpdir(), "delivery-lock-"));
    });
    afterEach(() => {
        holders.forEach((h) => h.kill("SIGKILL"));
        holders = [];
        rmSync(cache, { recursive: true, force: true });
    });

    const env = (extra: Record<string, string> = {}) => cleanEnv({ DELIVERY_CACHE: cache, PULUMI_BACKEND_URL: BACKEND, ...extra });

    /** A command that takes the lock of `stack` and keeps it until killed; resolves once it holds it. */
    async function hold(stack: string, what: string): Promise<ChildProcess> {
        const child = spawn(
            "bash",
            [
                "-c",
                `source scripts/env.sh; source scripts/stack-lock.sh; DELIVERY_LOCK_WHAT="${what}" delivery_lock_stack ${stack} && echo held && exec sleep 600`,
            ],
            {
                cwd: ROOT,
                env: env(),
            },
        );
        holders.push(child);
        await new Promise<void>((resolve, reject) => {
            child.stdout!.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
            child.on("exit", (code) => reject(new Error(`lock holder exited with ${code}`)));
        });
        return child;
    }

    function lock(stack: string, extra: Record<string, string> = {}) {
        const r = spawnSync("bash", ["-c", `source scripts/env.sh; source scripts/stack-lock.sh; delivery_lock_stack ${stack} && echo acquired`], {
            cwd: ROOT,
            env: env(extra),
            encoding: "utf8",
        });
        return { code: r.status, output: `${r.stdout}${r.stderr}` };
    }

    it("refuses a second command on a busy stack at once, naming the holder, and lets other stacks run", async () => {
        await hold("staging", "job staging #41");
        const second = lock("staging");
        expect(second.code).toBe(1);
        expect(second.output).toMatch(
            /^\[lock\] error: stack staging is busy: job staging #41 \(pid [0-9]+\) since 20[0-9-]+T[0-9:]+Z\. Wait for it to finish \(or set DELIVERY_LOCK_WAIT_SECONDS=600 to wait\); nothing was changed$/m,
        );
        expect(second.output).not.toContain("acquired");
        expect(lock("production").output).toContain("acquired");
    });

    it("is released when its holder is killed (kill -9): no stale lock", async () => {
        const holder = await hold("staging", "scripts/main");
        holder.kill("SIGKILL");
        await new Promise((r) => holder.once("exit", r));
        expect(lock("staging").output).toContain("acquired");
    });

    it("names the holder that has just taken the lock, not an earlier one whose line is still there", async () => {
        // The holder writes its line just after it takes the lock; here it takes 0.5 s, and the line
        // of an earlier holder (a pid no process has) is still in the file meanwhile.
        const child = spawn(
            "bash",
            [
                "-c",
                `source scripts/env.sh; dir="$DELIVERY_CACHE/locks"; mkdir -p "$dir"
                 f="$dir/$(printf '%s' "$PULUMI_BACKEND_URL" | sha256sum | cut -c1-16)-s1.lock"
                 printf 'old job (pid 4194000) since then\n' >"$f.holder"
                 exec {fd}>>"$f"; flock -n "$fd"; echo held; sleep 0.5
                 printf 'late job (pid %s) since now\n' "$$" >"$f.holder"; exec sleep 600`,
            ],
            { cwd: ROOT, env: env() },
        );
        holders.push(child);
        await new Promise<void>((resolve, reject) => {
            child.stdout!.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
            child.on("exit", (code) => reject(new Error(`lock holder exited with ${code}`)));
        });
        const refused = lock("s1");
        expect(refused.code).toBe(1);
        expect(refused.output).toContain("[lock] error: stack s1 is busy: late job (pid");
        expect(refused.output).not.toContain("old job");
    });

    it("waits for the holder when DELIVERY_LOCK_WAIT_SECONDS allows it", async () => {
        const holder = await hold("staging", "scripts/main");
        // spawnSync blocks this process, so the holder is ended by a process of its own.
        spawn("bash", ["-c", `sleep 1; kill -9 ${holder.pid}`], { stdio: "ignore" });
        const waited = lock("staging", { DELIVERY_LOCK_WAIT_SECONDS: "30" });
        expect(waited.output).toContain("[lock] stack staging is busy: scripts/main");
        expect(waited.output).toContain("acquired");
    });

    it("rejects a wait that is not a number, naming the variable", () => {
        const r = lock("staging", { DELIVERY_LOCK_WAIT_SECONDS: "soon" });
        expect(r.code).toBe(2);
        expect(r.output).toContain('DELIVERY_LOCK_WAIT_SECONDS must be a whole number of seconds (got "soon")');
    });

    it("is taken by the CI job scripts before they run pulumi", async () => {
        await hold("staging", "job staging #41");
        const r = spawnSync(join(ROOT, "scripts", "ci", "deploy.sh"), ["staging"], {
            env: env({ CI: "true", CI_PROJECT_DIR: ROOT, PULUMI_CONFIG_PASSPHRASE: "pipeline-test-passphrase-7f3a" }),
            encoding: "utf8",
        });
        expect(r.status).toBe(1);
        expect(`${r.stdout}${r.stderr}`).toContain("[lock] error: stack staging is busy: job staging #41");
        expect(`${r.stdout}${r.stderr}`).not.toContain("pulumi");
    });
});
