import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReleaseOutput, getApp, localConfig, outputValue, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/** The live container of a slot: its id and when Docker started it (ns). */
function liveStartedNs(slot: string): bigint {
    const id = execFileSync("docker", ["ps", "-q", "--filter", `label=delivery.slot=${slot}`, "--filter", "label=delivery.role=live"])
        .toString()
        .trim();
    const started = execFileSync("docker", ["inspect", "-f", "{{.State.StartedAt}}", id]).toString().trim();
    // 2026-12-01T12:00:00.123456789Z: Date has ms only, the fraction is added back in ns.
    const [whole, fraction = "0"] = started.replace(/Z$/, "").split(".");
    return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9));
}

/**
 * delivery:releaseCommand runs once from the new image with the new config before that image
 * takes traffic; its output is in the update log with secrets masked; a non-zero exit fails the
 * update and the old release keeps serving.
 */
describe("release phase on the Docker host", () => {
    const port = PORTS.releasePhase;
    const SLOT = `e2e-${port}-e2e-release-phase`;
    const secret = `e2e-phase-secret-${Date.now()}`;
    const fx = useStacks((project) => ({
        stack: [
            "e2e-release-phase",
            localConfig(project, port, {
                secretEnv: { value: JSON.stringify({ SECRET_KEY: secret }), secret: true },
                releaseCommand: 'echo "migrating to $RELEASE_ID with $SECRET_KEY at $(date +%s%N)"',
            }),
        ],
    }));

    it("runs the release command before the release takes traffic, and logs its output masked", async () => {
        const log: string[] = [];
        const up = await fx.stack.up({ onOutput: (o) => log.push(o) });
        const release = outputValue<ReleaseOutput>(up.outputs, "release");
        const text = log.join("");
        const line = new RegExp(`migrating to ${release.releaseId} with \\[MASKED\\] at (\\d+)`).exec(text);
        expect(line, text).not.toBeNull();
        expect(text).toContain(`release phase of ${release.releaseId}`);
        expect(text).not.toContain(secret);
        // Order: the command finished before Docker started the container that serves the release.
        const ranAt = BigInt(line![1]);
        const startedAt = liveStartedNs(SLOT);
        expect(ranAt < startedAt, `release phase at ${ranAt}, live container started at ${startedAt}`).toBe(true);
        expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).toBe(release.releaseId);

        // A re-run of the same release does not run it again.
        const again: string[] = [];
        await fx.stack.up({ onOutput: (o) => again.push(o) });
        expect(liveStartedNs(SLOT)).toBe(startedAt);
    });

    it("on a swap, runs the release command while the old release serves, before the candidate starts", async () => {
        const before = outputValue<ReleaseOutput>(await fx.stack.outputs(), "release");
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the swapped release"), "swap");
        // The provider's test hook (dockerContainer.ts testStep) logs its steps in order; it pauses at no step.
        const dir = mkdtempSync(join(tmpdir(), "release-phase-steps-"));
        const ws = fx.stack.workspace;
        Object.assign(ws.envVars, { DELIVERY_TEST_PAUSE_AT: "never", DELIVERY_TEST_PAUSE_DIR: dir });
        try {
            const up = await fx.stack.up();
            const release = outputValue<ReleaseOutput>(up.outputs, "release");
            expect(release.releaseId).not.toBe(before.releaseId);
            const steps = readFileSync(join(dir, "steps.log"), "utf8")
                .trim()
                .split("\n")
                .map((l) => l.split(" ")[0]);
            // Behind the proxy: the new container starts (and is health-gated) after the release phase, then the proxy switches.
            expect(steps).toEqual(["pulled", "release-phase-done", "live-started", "switched", "end"]);
            expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).toBe(release.releaseId);
        } finally {
            delete ws.envVars.DELIVERY_TEST_PAUSE_AT;
            delete ws.envVars.DELIVERY_TEST_PAUSE_DIR;
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a release command that fails fails the update, and the old release keeps answering", async () => {
        const before = outputValue<ReleaseOutput>(await fx.stack.outputs(), "release");
        fx.project.changeApp((src) => src.replace("from the swapped release", "from the next release"));
        await fx.stack.setConfig("delivery:releaseCommand", { value: 'echo "migration 0042 failed near $SECRET_KEY" >&2; exit 3' });
        const failed = await fx.stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).toBeInstanceOf(Error);
        const message = String(failed?.message);
        expect(message).toMatch(/the release command \(delivery:releaseCommand\) exited 3; the release does not take traffic/);
        expect(message).toMatch(/last output lines:\s+migration 0042 failed near \[MASKED\]/);
        expect(message).not.toContain(secret);

        const app = await getApp(`http://127.0.0.1:${port}/`);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe(before.releaseId);
        expect(String(app.body.message)).toContain("from the swapped release");
        expect(slotContainers(SLOT)).toHaveLength(1);
        // No one-off container is left behind.
        expect(
            execFileSync("docker", ["ps", "-aq", "--filter", "label=delivery.role=release-phase", "--filter", `label=delivery.slot-of=${SLOT}`])
                .toString()
                .trim(),
        ).toBe("");
    });
});
