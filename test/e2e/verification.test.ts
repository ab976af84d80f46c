import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { VerificationResult } from "../../components/release/verificationResult";
import { ReleaseOutput, getApp, localConfig, outputValue, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

type Verified = ReleaseOutput & { verification?: VerificationResult };

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
}

/**
 * A running release carries its own evidence: the stack checks the published URL (health, and
 * `GET /` naming this release) and runs delivery:verifyCommand from the release's image, with its
 * config; the result is exported as `release.verification`. A failed verification fails `up`,
 * keeps what runs and stays recorded as failed for that release.
 */
describe("release verification on the Docker host", () => {
    const port = PORTS.verification;
    const SLOT = `e2e-${port}-e2e-verify`;
    const secret = `e2e-verify-secret-${Date.now()}`;
    const fx = useStacks((project) => ({
        stack: [
            "e2e-verify",
            localConfig(project, port, {
                secretEnv: { value: JSON.stringify({ SECRET_KEY: secret }), secret: true },
                verifyCommand: 'echo "key=$SECRET_KEY release=$RELEASE_ID port=$PORT greeting=$GREETING"; python3 -c "import app; print(app.__name__)"',
                env: JSON.stringify({ GREETING: "verified" }),
            }),
        ],
    }));
    const log: string[] = [];

    it("records a passed verification with its checks in the release output", async () => {
        const up = await fx.stack.up({ onOutput: (o) => log.push(o) });
        const release = outputValue<Verified>(up.outputs, "release");
        const v = release.verification!;
        expect(v.status).toBe("passed");
        expect(Date.parse(v.at)).toBeGreaterThan(Date.parse(release.createdAt));
        expect(v.durationMs).toBeGreaterThan(0);
        expect(v.checks).toEqual([
            { name: "health", passed: true, detail: "GET /healthz answered 200" },
            { name: "release-id", passed: true, detail: `GET / serves release ${release.releaseId}` },
            { name: "verify-command", passed: true, detail: expect.stringMatching(/: exited 0$/) },
        ]);
        // Same image, same config: the release's env, its secret (masked), RELEASE_ID and PORT.
        expect(v.outputTail).toBe(`key=[MASKED] release=${release.releaseId} port=8080 greeting=verified\napp`);
        expect(JSON.stringify(up.outputs)).not.toContain(secret);
        // The one-off container is gone.
        expect(
            execFileSync("docker", ["ps", "-aq", "--filter", `label=delivery.release=${release.releaseId}`, "--filter", "label=delivery.role=verify"])
                .toString()
                .trim(),
        ).toBe("");
    });

    it("fails up on a verify command that exits 1, marks the release failed, keeps it serving; a re-run stays failed", async () => {
        const before = outputValue<Verified>(await fx.stack.outputs(), "release");
        await fx.stack.setConfig("delivery:verifyCommand", { value: 'echo "checking with $SECRET_KEY"; echo "2 tests failed" >&2; exit 1' });
        const failed = await fx.stack.up({ onOutput: (o) => log.push(o) }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).toBeInstanceOf(Error);
        expect(String(failed?.message)).toContain(`release ${before.releaseId} failed its verification`);
        expect(String(failed?.message)).toMatch(/verify-command: .*: exited 1/);
        expect(String(failed?.message)).toMatch(/last output lines:\s+checking with \[MASKED\]\s+2 tests failed/);
        expect(String(failed?.message)).not.toContain(secret);

        const after = outputValue<Verified>(await fx.stack.outputs(), "release");
        expect(after.releaseId).toBe(before.releaseId);
        expect(after.verification?.status).toBe("failed");
        expect(after.verification?.checks.map((c) => [c.name, c.passed])).toEqual([
            ["health", true],
            ["release-id", true],
            ["verify-command", false],
        ]);
        expect(after.verification?.outputTail).toBe("checking with [MASKED]\n2 tests failed");

        // What runs stays running: it is already live.
        const app = await getApp(`http://127.0.0.1:${port}/`);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe(before.releaseId);
        expect(slotContainers(SLOT)).toHaveLength(1);

        // The same failed release is not verified again, and never reported as passed.
        const again = await fx.stack.up({ onOutput: (o) => log.push(o) }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(String(again?.message)).toContain(`release ${before.releaseId} failed its verification`);
        const still = outputValue<Verified>(await fx.stack.outputs(), "release");
        expect(still.verification).toEqual(after.verification);
    });

    it("keeps the secret out of the state and the logs", async () => {
        expect(log.join("")).not.toContain(secret);
        expect(log.join("")).toContain("[MASKED]");
        for (const file of filesUnder(join(fx.project.dir, ".state"))) {
            expect(readFileSync(file, "utf8"), file).not.toContain(secret);
        }
    });
});
