import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PASSPHRASE, ROOT, getApp, localConfig, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * Two `pulumi up` of one stack started at the same moment through the project's lock
 * (scripts/stack-lock.sh, as scripts/main and the CI jobs take it): one updates, the other is
 * refused at once by name, and the engine's own lock check is never raced.
 */
describe("two updates of one stack at once", () => {
    const port = PORTS.stackLock;
    const fx = useStacks((project) => ({ stack: ["e2e-lock", localConfig(project, port)] }));

    /** `pulumi up` behind the stack lock, as the project's commands run it. */
    function lockedUp(): Promise<{ code: number | null; output: string }> {
        const script = `source "${join(ROOT, "scripts", "env.sh")}"; source "${join(ROOT, "scripts", "stack-lock.sh")}"; delivery_lock_stack e2e-lock && pulumi up --stack e2e-lock --yes --non-interactive --skip-preview`;
        const child = spawn("bash", ["-c", script], {
            cwd: fx.project.dir,
            env: { ...process.env, PULUMI_BACKEND_URL: fx.project.backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, DELIVERY_LOCK_WHAT: "e2e up" },
        });
        let output = "";
        child.stdout.on("data", (d: Buffer) => (output += d));
        child.stderr.on("data", (d: Buffer) => (output += d));
        return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
    }

    it("runs one and refuses the other by name, before the engine", async () => {
        const results = await Promise.all([lockedUp(), lockedUp()]);
        const ok = results.filter((r) => r.code === 0);
        const refused = results.filter((r) => r.code !== 0);
        expect(ok, results.map((r) => r.output).join("\n----\n")).toHaveLength(1);
        expect(refused).toHaveLength(1);
        expect(refused[0].output).toMatch(/\[lock\] error: stack e2e-lock is busy: e2e up \(pid [0-9]+\) since .*; nothing was changed/);
        expect(refused[0].output).not.toContain("Updating");
        expect(results.map((r) => r.output).join("\n")).not.toMatch(/locks\/.*\.tmp|currently locked/);
        expect((await getApp(`http://127.0.0.1:${port}/`)).status).toBe(200);
        // The lock went with its holder: the next command gets it.
        expect((await lockedUp()).code).toBe(0);
    });
});
