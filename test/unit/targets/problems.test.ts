import { describe, expect, it } from "vitest";
import { Registry, registryProblems } from "../../../components/registry/registry";
import { Promotion, promotionProblems } from "../../../components/release/promotion";
import { Release } from "../../../components/release/release";
import { DockerHostTarget, dockerHostTargetProblems } from "../../../components/targets/dockerHostTarget";
import { KubernetesTarget, KubernetesTargetArgs, kubernetesTargetProblems } from "../../../components/targets/kubernetesTarget";
import { SHA, fakeDigest, settle, useMocks } from "../harness";

/**
 * Each component's invariants are one pure function: the constructor refuses its problems
 * before anything is registered, and the config reader reports the same problems by key.
 */

const DIGEST = fakeDigest("problems");
const REF = `127.0.0.1:5000/delivery/app@${DIGEST}`;
const resources = { cpuRequest: "50m", cpuLimit: "500m", memoryRequest: "64Mi", memoryLimit: "256Mi" };

describe("component problems", () => {
    const mocks = useMocks();

    it("KubernetesTarget: an ingress class without a host, a request above its limit, replicas out of range", () => {
        expect(kubernetesTargetProblems({ replicas: 2, containerPort: 8080, resources })).toEqual([]);
        expect(kubernetesTargetProblems({ replicas: 0, ingressClassName: "nginx", resources: { ...resources, memoryRequest: "1Gi" } })).toEqual([
            { arg: "replicas", message: "replicas: must be a whole number from 1 to 50 (got 0)" },
            { arg: "ingressHost", message: "ingressHost: is required when ingressClassName is set (an Ingress needs a host)" },
            {
                arg: "resources.memoryRequest",
                message: "resources.memoryRequest: 1Gi is more than resources.memoryLimit 256Mi; Kubernetes rejects a request above its limit",
            },
        ]);
        expect(kubernetesTargetProblems({ ingressClassName: "nginx" }, (a) => `delivery:${a}`)[0].message).toBe(
            "delivery:ingressHost: is required when delivery:ingressClassName is set (an Ingress needs a host)",
        );
    });

    it("DockerHostTarget: ports out of range", () => {
        expect(dockerHostTargetProblems({ containerPort: 8080, hostPort: 8000 })).toEqual([]);
        expect(dockerHostTargetProblems({ containerPort: 8080, hostPort: 0 })).toEqual([
            { arg: "hostPort", message: "hostPort: must be a whole number from 1 to 65535 (got 0)" },
        ]);
    });

    it("Registry: a server with a path", () => {
        expect(registryProblems({ server: "127.0.0.1:5000" })).toEqual([]);
        expect(registryProblems({ server: "r.example.com/group" })).toEqual([
            { arg: "server", message: 'server "r.example.com/group" must be a host[:port] without a path; put the path in repository' },
        ]);
    });

    it("Promotion: a mutable ref, a bad tag, a tag for a release in another registry", () => {
        expect(promotionProblems({ imageRef: REF, registryServer: "127.0.0.1:5000", tag: "v1" })).toEqual([]);
        expect(promotionProblems({ imageRef: "127.0.0.1:5000/delivery/app:v1" })[0].arg).toBe("release.imageRef");
        expect(promotionProblems({ imageRef: REF, tag: "-bad" })[0].message).toBe('tag "-bad" is not a valid image tag');
        expect(promotionProblems({ imageRef: `registry.example.com/delivery/app@${DIGEST}`, registryServer: "127.0.0.1:5000", tag: "v1" })[0].arg).toBe("tag");
    });

    it("constructors refuse their problems before anything is registered, all at once", async () => {
        const k8sArgs: KubernetesTargetArgs = {
            appName: "app",
            stack: "dev",
            namespace: "dev",
            image: REF,
            releaseId: "r-1",
            commitSha: SHA,
            env: {},
            configHash: "sha256:abc",
            replicas: 2,
            containerPort: 8080,
            healthPath: "/healthz",
            resources: { ...resources, cpuRequest: "2" },
            dockerConfigJson: "{}",
            ingressClassName: "nginx",
        };
        expect(() => new KubernetesTarget("app", k8sArgs)).toThrow(
            'KubernetesTarget "app": ingressHost: is required when ingressClassName is set (an Ingress needs a host); resources.cpuRequest: 2 is more than resources.cpuLimit 500m',
        );
        expect(
            () =>
                new DockerHostTarget("app", {
                    appName: "app",
                    stack: "dev",
                    image: REF,
                    releaseId: "r-1",
                    commitSha: SHA,
                    env: {},
                    secretEnv: {},
                    containerPort: 8080,
                    hostPort: 70000,
                    healthPath: "/healthz",
                    registryServer: "127.0.0.1:5000",
                }),
        ).toThrow('DockerHostTarget "app": hostPort: must be a whole number from 1 to 65535 (got 70000)');
        expect(() => new Registry("registry", { server: "", repository: "p" })).toThrow('Registry "registry": server "" must be');
        const registry = new Registry("registry", { server: "127.0.0.1:5000", repository: "delivery/app" });
        expect(() => new Promotion("promotion", { release: { imageRef: REF, commitSha: SHA, origin: "pin" }, registry, tag: "-bad" })).toThrow(
            'Promotion "promotion": tag "-bad"',
        );
        // A known image ref is checked at once, not inside an apply.
        expect(
            () => new Release("release", { imageRef: "127.0.0.1:5000/delivery/app:main", commitSha: SHA, env: {}, secretEnv: {}, stack: "dev", origin: "pin" }),
        ).toThrow('Release "release": image "127.0.0.1:5000/delivery/app:main" is not pinned by digest');
        await settle(mocks());
        expect(mocks().resources.map((r) => r.type)).toEqual(["delivery:registry:Registry"]);
    });
});
