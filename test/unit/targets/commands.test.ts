import { describe, expect, it } from "vitest";
import { DockerHostTarget } from "../../../components/targets/dockerHostTarget";
import { KubernetesTarget, KubernetesTargetArgs, commandJobName } from "../../../components/targets/kubernetesTarget";
import { demuxLogs } from "../../../components/targets/oneOffContainer";
import { dockerStreamFrame as frame, fakeDigest, isSecretValue, kubernetesTargetArgs, plain, settle, targetArgs, useMocks, valueOf } from "../harness";

const IMAGE = `127.0.0.1:5000/delivery/app@${fakeDigest("cmd")}`;
const VERIFICATION = "pulumi-nodejs:dynamic/release:ReleaseVerification";

describe("release phase and verification on the Docker host", () => {
    const mocks = useMocks();
    const args = {
        ...targetArgs("dev", IMAGE, "r-abc", "container-secret"),
        hostPort: 8000,
        registryServer: "127.0.0.1:5000",
        verifyCommand: "python3 -m unittest discover -s /app/tests",
        releaseCommand: "echo migrate",
        commandTimeoutSeconds: 30,
    };

    it("hands the release command to the container's deploy (before the swap) and verifies the published URL", async () => {
        const t = new DockerHostTarget("app", args);
        await settle(mocks());
        expect(plain(mocks().named("app-container").inputs)).toMatchObject({ releaseCommand: "echo migrate", commandTimeoutSeconds: 30 });
        const v = mocks().named("app-verification");
        expect(v.type).toBe(VERIFICATION);
        expect(plain(v.inputs)).toMatchObject({
            releaseId: "r-abc",
            image: IMAGE,
            url: "http://127.0.0.1:8000",
            healthPath: "/healthz",
            verifyCommand: "python3 -m unittest discover -s /app/tests",
            dockerHost: "unix:///var/run/docker.sock",
            env: { GREETING: "hi" },
            containerPort: 8080,
            timeoutSeconds: 30,
        });
        expect(isSecretValue(v.inputs.secretEnv)).toBe(true);
        expect((await valueOf(t.verification)).status).toBe("passed");
    });

    it("without commands: no release phase, the built-in HTTP checks only", async () => {
        new DockerHostTarget("app", { ...args, verifyCommand: undefined, releaseCommand: undefined, commandTimeoutSeconds: undefined });
        await settle(mocks());
        expect(plain(mocks().named("app-container").inputs).releaseCommand).toBeUndefined();
        expect(plain(mocks().named("app-verification").inputs)).toMatchObject({ timeoutSeconds: 120 });
        expect(plain(mocks().named("app-verification").inputs).verifyCommand).toBeUndefined();
    });
});

describe("release phase and verification as Jobs on Kubernetes", () => {
    const mocks = useMocks({ stack: "staging" });
    const args: KubernetesTargetArgs = {
        ...kubernetesTargetArgs("staging", IMAGE, "r-123", "k8s-secret-value"),
        verifyCommand: "python3 -m unittest discover -s /app/tests",
        releaseCommand: "echo migrate",
        commandTimeoutSeconds: 60,
    };

    it("names each Job by the release and runs it once from the release's image with its config", async () => {
        new KubernetesTarget("app", args);
        await settle(mocks());
        const jobs = mocks().ofType("kubernetes:batch/v1:Job");
        expect(jobs.map((j) => j.name).sort()).toEqual(["app-release-job", "app-verify-job"]);
        const release = plain(mocks().named("app-release-job").inputs);
        expect(release.metadata.name).toBe("app-release-r-123");
        expect(release.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 60 });
        const c = release.spec.template.spec.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.command).toEqual(["/bin/sh", "-c", "echo migrate"]);
        expect(c.env).toEqual(
            expect.arrayContaining([
                { name: "RELEASE_ID", value: "r-123" },
                { name: "PORT", value: "8080" },
                { name: "GREETING", value: "hi" },
            ]),
        );
        expect(c.envFrom).toEqual([{ secretRef: { name: "app-config" } }]);
        expect(release.spec.template.spec.restartPolicy).toBe("Never");
        expect(plain(mocks().named("app-verify-job").inputs).metadata.name).toBe("app-verify-r-123");
        const v = plain(mocks().named("app-verification").inputs);
        expect(v.url).toBeUndefined();
        expect(v.observed.map((c: { name: string }) => c.name)).toEqual(["rollout", "verify-command"]);
    });

    it("without commands: no Job, the rollout check only", async () => {
        new KubernetesTarget("app", { ...args, verifyCommand: undefined, releaseCommand: undefined });
        await settle(mocks());
        expect(mocks().ofType("kubernetes:batch/v1:Job")).toHaveLength(0);
        expect(plain(mocks().named("app-verification").inputs).observed.map((c: { name: string }) => c.name)).toEqual(["rollout"]);
    });

    it("keeps a Job name a DNS label", () => {
        expect(commandJobName("a".repeat(60), "verify", "r-0123456789ab").length).toBeLessThanOrEqual(63);
        expect(commandJobName("app", "release", "r-0123456789ab")).toBe("app-release-r-0123456789ab");
    });
});

describe("one-off container logs", () => {
    it("demultiplexes Docker's framed stream, and keeps a raw (tty) stream as is", () => {
        expect(demuxLogs(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))).toBe("out\nerr\n");
        expect(demuxLogs(Buffer.from("plain text\n"))).toBe("plain text\n");
    });
});
