import { describe, expect, it } from "vitest";
import { kubectlJson, useK8sStack } from "./cluster";

/**
 * On the kwok node: the first release of a new stack whose pods never become Ready. On create the
 * Kubernetes provider also waits for the Service to get a ready endpoint, 10 minutes by default;
 * before the Service carried the rollout timeout too, this `up` was still running minutes after
 * the Deployment had failed at its timeout (twice here; in another run the Service saw an
 * endpoint before the never-ready stage applied and did not wait, so the Service is not named).
 */
describe("kubernetes target: a first release whose pods never become Ready", () => {
    const NS = "k8s-e2e-first";
    const TIMEOUT = 20;
    const fx = useK8sStack(NS, NS, () => ({
        rolloutTimeoutSeconds: String(TIMEOUT),
        podLabels: '{"delivery.test/never-ready":"true"}',
    }));

    it("fails `pulumi up` within rolloutTimeoutSeconds, naming the Deployment", async () => {
        const started = Date.now();
        // Bounded here so that a hang fails this test instead of the whole level's timeout.
        const up = fx.stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        const outcome = await Promise.race([up, new Promise<"still running">((r) => setTimeout(() => r("still running"), (TIMEOUT + 60) * 1000))]);
        if (outcome === "still running") {
            await fx.stack.cancel().catch(() => undefined);
            await up;
        }
        const elapsed = (Date.now() - started) / 1000;
        console.log(`first never-ready up ended after ${elapsed.toFixed(1)} s (timeout ${TIMEOUT} s)`);
        expect(outcome).toBeInstanceOf(Error);
        const message = String((outcome as Error).message);
        expect(message).toMatch(/kubernetes:apps\/v1:Deployment/);
        expect(message).toContain("'web' timed out waiting to be Ready");
        // The pods exist and are not Ready: the release never served.
        const pods = kubectlJson("pods", "-n", NS).items as Array<{ status: { conditions?: Array<{ type: string; status: string }> } }>;
        expect(pods.length).toBeGreaterThan(0);
        for (const p of pods) {
            expect(p.status.conditions?.find((c) => c.type === "Ready")?.status).not.toBe("True");
        }
    }, 240_000);
});
