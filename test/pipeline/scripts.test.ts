import { spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, cleanEnv, jobNames, readCiYaml } from "./harness";

/**
 * The job scripts' guards, which stop a job before it runs `pulumi` at all, so no engine is
 * needed here. The real runs are in jobs.test.ts.
 */

const CI_DIR = join(ROOT, "scripts", "ci");
const PASSPHRASE = "pipeline-test-passphrase-7f3a";
const OK_STATE = { PULUMI_BACKEND_URL: "file:///var/lib/delivery-state-not-used", PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };

function run(script: string, args: string[], env: Record<string, string>) {
    const res = spawnSync(join(CI_DIR, script), args, { env: cleanEnv({ CI: "true", CI_PROJECT_DIR: ROOT, ...env }), encoding: "utf8", timeout: 60_000 });
    return { code: res.status, output: `${res.stdout}${res.stderr}` };
}

describe("guards before any stack is touched", () => {
    it("refuses to run without a state backend, naming the variable to set", () => {
        const r = run("deploy.sh", ["staging"], { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
        expect(r.code).toBe(1);
        expect(r.output).toContain("PULUMI_BACKEND_URL is not set");
    });

    it("refuses a backend inside the checkout, which the runner deletes after the job", () => {
        const r = run("deploy.sh", ["staging"], { ...OK_STATE, PULUMI_BACKEND_URL: `file://${ROOT}/.pulumi-state` });
        expect(r.code).toBe(1);
        expect(r.output).toContain("points inside the job's checkout");
    });

    it("refuses to run without the environment's passphrase and says which environment lacks it", () => {
        const r = run("drift.sh", ["production"], { PULUMI_BACKEND_URL: OK_STATE.PULUMI_BACKEND_URL, CI_ENVIRONMENT_NAME: "production" });
        expect(r.code).toBe(1);
        expect(r.output).toContain("PULUMI_CONFIG_PASSPHRASE is not set for environment 'production'");
    });

    it("never builds production through the deploy script", () => {
        const r = run("deploy.sh", ["production"], OK_STATE);
        expect(r.code).toBe(1);
        expect(r.output).toContain("production never builds");
    });

    it("stops only review stacks", () => {
        const r = run("stop-review.sh", ["staging"], OK_STATE);
        expect(r.code).toBe(1);
        expect(r.output).toContain("refusing to stop staging");
    });

    it("rejects a git tag that cannot be a registry tag before promoting anything", () => {
        const r = run("promote.sh", ["production"], { ...OK_STATE, CI_COMMIT_TAG: "release/1.0" });
        expect(r.code).toBe(1);
        expect(r.output).toContain("git tag 'release/1.0' cannot be a registry tag");
        expect(r.output).not.toContain(PASSPHRASE);
    });

    it.each([
        [{}, 'ROLLBACK_TO is not set: run this job from its "Run job" page'],
        [{ ROLLBACK_TO: "12" }, "ROLLBACK_TO must be a release number of production's ledger such as v12 (got '12')"],
        [{ ROLLBACK_TO: `registry.example.com/app@sha256:${"a".repeat(64)}` }, "A digest or a commit no longer names a release"],
        [{ ROLLBACK_TO: "v0" }, "must be a release number"],
    ])("rollback refuses %j", (vars, message) => {
        const r = run("rollback.sh", ["production"], { ...OK_STATE, ...vars });
        expect(r.code).toBe(1);
        expect(r.output).toContain(message);
        // Refused before any stack is touched: no state check ran.
        expect(r.output).not.toContain("PULUMI_BACKEND_URL");
    });
});

describe("the scripts themselves", () => {
    const scripts = readdirSync(CI_DIR).filter((f) => f.endsWith(".sh"));

    it("parse, and never trace commands (a trace would print secrets)", () => {
        expect(scripts.length).toBeGreaterThan(5);
        for (const f of scripts) {
            const syntax = spawnSync("bash", ["-n", join(CI_DIR, f)], { encoding: "utf8" });
            expect(syntax.status, `${f}: ${syntax.stderr}`).toBe(0);
            const text = readFileSync(join(CI_DIR, f), "utf8")
                .split("\n")
                .filter((l) => !/^\s*#/.test(l))
                .join("\n");
            expect(text, f).not.toMatch(/set\s+-[a-z]*x|set\s+-o\s+xtrace|bash\s+-x/);
            expect(text, f).not.toMatch(/(echo|printf)[^\n]*\$\{?(PULUMI_CONFIG_PASSPHRASE|GITLAB_TOKEN|MR_NOTE_TOKEN|CI_REGISTRY_PASSWORD|CI_JOB_TOKEN)\b/);
        }
    });

    it("every command a job runs from the repo exists and is executable", () => {
        const doc = readCiYaml();
        const lines = [...jobNames(doc).flatMap((n) => doc[n].script ?? []), ...(doc.default.before_script ?? [])] as string[];
        const paths = new Set(lines.map((l) => l.split(/\s+/)[0]).filter((p) => p.startsWith("scripts/")));
        expect(paths.size).toBeGreaterThan(5);
        for (const p of paths) {
            expect(() => accessSync(join(ROOT, p), constants.X_OK), p).not.toThrow();
        }
    });
});
