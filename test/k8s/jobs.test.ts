import { describe, expect, it } from "vitest";
import type { VerificationResult } from "../../components/release/verificationResult";
import { ReleaseOutput, outputValue } from "../support/workspace";
import { Json, kubectlJson, replicaSets, useK8sStack } from "./cluster";

type Verified = ReleaseOutput & { verification?: VerificationResult };

/**
 * The release phase and the verify command on the kubernetes target, as Jobs named by the
 * release: the release Job must complete before the Deployment rolls, the verify Job after it.
 * kwok plays the kubelet here: a Job's pod becomes Running, and kwok's pod-complete stage
 * (tools/kwok/stages/pod-complete.yaml) then marks it Succeeded with exit code 0 — the command
 * never runs, so on this cluster a Job always completes (a failing command cannot be shown).
 */
describe("kubernetes target: release phase and verification Jobs", () => {
    const NS = "k8s-e2e-jobs";
    const STACK = "k8s-e2e-jobs";
    const APP = "web";
    const SELECTOR = `app.kubernetes.io/instance=${APP}-${STACK}`;
    const fx = useK8sStack(STACK, NS, () => ({
        replicas: "1",
        env: '{"GREETING":"jobs"}',
        secretEnv: { value: '{"SECRET_KEY":"k8s-jobs-secret"}', secret: true },
        releaseCommand: "python3 -c 'print(\"migrate\")'",
        verifyCommand: "python3 -m unittest discover -s /app/tests",
        verifyTimeoutSeconds: "60",
    }));
    const job = (name: string): Json => kubectlJson("job", name, "-n", NS);
    const podsOf = (name: string): Json[] => kubectlJson("pods", "-n", NS, "-l", `job-name=${name}`).items;

    const checkRelease = (release: Verified) => {
        const id = release.releaseId;
        const releaseJob = job(`${APP}-release-${id}`);
        const verifyJob = job(`${APP}-verify-${id}`);
        for (const j of [releaseJob, verifyJob]) {
            expect(j.status.succeeded).toBe(1);
            expect((j.status.conditions as Json[]).find((c) => c.type === "Complete")?.status).toBe("True");
            const c = j.spec.template.spec.containers[0];
            expect(c.image).toBe(release.imageRef);
            expect(c.env).toEqual(
                expect.arrayContaining([
                    { name: "RELEASE_ID", value: id },
                    { name: "GREETING", value: "jobs" },
                ]),
            );
            expect(c.envFrom).toEqual([{ secretRef: { name: `${APP}-config` } }]);
            expect(j.spec.backoffLimit).toBe(0);
            // kwok's pod-complete stage: the pod is Succeeded with exit code 0, though nothing ran.
            const [pod] = podsOf(j.metadata.name);
            expect(pod.status.phase).toBe("Succeeded");
            expect(pod.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
        }
        expect(releaseJob.spec.template.spec.containers[0].command).toEqual(["/bin/sh", "-c", "python3 -c 'print(\"migrate\")'"]);
        // Order: the release Job completed before the Deployment's ReplicaSet of this release was made.
        const rs = replicaSets(NS, SELECTOR).find((r) => r.spec.template.metadata.annotations?.["delivery.dev/release-id"] === id);
        expect(rs, "ReplicaSet of the release").toBeDefined();
        expect(Date.parse(releaseJob.status.completionTime)).toBeLessThanOrEqual(Date.parse(rs.metadata.creationTimestamp));
        // ... and the verify Job started after that ReplicaSet.
        expect(Date.parse(verifyJob.status.startTime)).toBeGreaterThanOrEqual(Date.parse(rs.metadata.creationTimestamp));

        const v = release.verification!;
        expect(v.status).toBe("passed");
        expect(v.checks).toEqual([
            { name: "rollout", passed: true, detail: `Deployment ${APP}: 1/1 pods of release ${id} ready` },
            { name: "verify-command", passed: true, detail: `Job ${APP}-verify-${id}: completed` },
        ]);
        expect(v.outputTail).toBeUndefined();
    };

    it("runs the release Job before the Deployment rolls and the verify Job after it; records the verification", async () => {
        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        checkRelease(outputValue<Verified>(up.outputs, "release"));
    });

    it("a new release gets new Jobs of its own, run again in the same order", async () => {
        const before = outputValue<Verified>(await fx.stack.outputs(), "release");
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the next release"));
        const up = await fx.stack.up();
        const release = outputValue<Verified>(up.outputs, "release");
        expect(release.releaseId).not.toBe(before.releaseId);
        checkRelease(release);
        // The Jobs of the release before are replaced by the new release's.
        expect(() => job(`${APP}-release-${before.releaseId}`)).toThrow(/NotFound|not found/);
    });
});
