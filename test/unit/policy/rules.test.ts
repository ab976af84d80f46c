import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    DOCKER_CONTAINER_TYPE,
    IMAGE_BUILD_TYPE,
    buildInPromotionStack,
    hardeningProblems,
    podSpecOf,
    runsContainers,
    stackOfUrn,
    unpinnedImages,
} from "../../../policy/rules";
import { fakeDigest } from "../harness";

const PINNED = `127.0.0.1:5000/delivery/app@${fakeDigest("policy")}`;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

const hardened = (image = PINNED) => ({
    name: "web",
    image,
    readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    resources: { limits: { cpu: "500m", memory: "256Mi" } },
});
const deployment = (containers: object[], podSecurity: object = { runAsNonRoot: true }) => ({
    spec: { template: { spec: { securityContext: podSecurity, containers } } },
});

describe("images-pinned-by-digest", () => {
    it("accepts digest-pinned images in every workload kind", () => {
        expect(unpinnedImages(DEPLOYMENT, deployment([hardened()]))).toEqual([]);
        expect(unpinnedImages("kubernetes:core/v1:Pod", { spec: { containers: [{ name: "a", image: PINNED }] } })).toEqual([]);
        expect(
            unpinnedImages("kubernetes:batch/v1:CronJob", {
                spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "a", image: PINNED }] } } } } },
            }),
        ).toEqual([]);
    });

    it("names each container that runs a tag, including init containers and CronJobs", () => {
        const props = {
            spec: {
                template: {
                    spec: {
                        initContainers: [{ name: "migrate", image: "app:latest" }],
                        containers: [{ name: "web", image: "127.0.0.1:5000/delivery/app:0123abc" }],
                    },
                },
            },
        };
        expect(unpinnedImages("kubernetes:apps/v1:StatefulSet", props)).toEqual([
            'container "migrate": image "app:latest" is not pinned by digest',
            'container "web": image "127.0.0.1:5000/delivery/app:0123abc" is not pinned by digest',
        ]);
        const cron = { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "job", image: "busybox" }] } } } } } };
        expect(unpinnedImages("kubernetes:batch/v1:CronJob", cron)).toEqual(['container "job": image "busybox" is not pinned by digest']);
    });

    it("checks the DockerContainer dynamic resource, and no other dynamic resource", () => {
        expect(unpinnedImages(DOCKER_CONTAINER_TYPE, { dockerHost: "unix:///var/run/docker.sock", image: "app:main" })).toEqual([
            'image "app:main" is not pinned by digest',
        ]);
        expect(unpinnedImages(DOCKER_CONTAINER_TYPE, { dockerHost: "unix:///var/run/docker.sock", image: PINNED })).toEqual([]);
        expect(unpinnedImages("pulumi-nodejs:dynamic/release:ReleaseLedger", { image: "app:main" })).toEqual([]);
        expect(runsContainers(DOCKER_CONTAINER_TYPE)).toBe(true);
        expect(runsContainers("pulumi-nodejs:dynamic/release:ReleaseLedger")).toBe(false);
    });

    it("ignores resources that run no containers", () => {
        expect(unpinnedImages("kubernetes:core/v1:Service", { spec: { template: { spec: { containers: [{ image: "x" }] } } } })).toEqual([]);
        expect(podSpecOf("kubernetes:core/v1:ConfigMap", {})).toBeUndefined();
    });

    it("flags a tag whatever the registry and path, and never a well-formed digest (property)", () => {
        const name = fc.stringMatching(/^[a-z0-9]+(\/[a-z0-9]+){0,2}$/);
        const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
        fc.assert(
            fc.property(name, tag, fc.stringMatching(/^[a-f0-9]{64}$/), (n, t, hex) => {
                expect(unpinnedImages(DEPLOYMENT, deployment([hardened(`registry.example.com/${n}:${t}`)]))).toHaveLength(1);
                expect(unpinnedImages(DEPLOYMENT, deployment([hardened(`registry.example.com/${n}@sha256:${hex}`)]))).toEqual([]);
            }),
        );
    });
});

describe("kubernetes-deployments-hardened", () => {
    it("accepts a container with probes, limits and a non-root pod", () => {
        expect(hardeningProblems(DEPLOYMENT, deployment([hardened()]))).toEqual([]);
    });

    it("lists everything a bare container lacks", () => {
        expect(hardeningProblems(DEPLOYMENT, deployment([{ name: "web", image: PINNED }], {}))).toEqual([
            'container "web" lacks a readinessProbe, a livenessProbe, a CPU limit, a memory limit, runAsNonRoot: true',
        ]);
    });

    it("lets a container's own runAsNonRoot override the pod's", () => {
        const rootContainer = { ...hardened(), securityContext: { runAsNonRoot: false } };
        expect(hardeningProblems(DEPLOYMENT, deployment([rootContainer]))).toEqual(['container "web" lacks runAsNonRoot: true']);
        const nonRootContainer = { ...hardened(), securityContext: { runAsNonRoot: true } };
        expect(hardeningProblems(DEPLOYMENT, deployment([nonRootContainer], {}))).toEqual([]);
    });

    it("applies to Deployments only", () => {
        expect(hardeningProblems("kubernetes:batch/v1:Job", deployment([{ name: "job", image: PINNED }], {}))).toEqual([]);
    });
});

describe("promotion-only-stacks-never-build", () => {
    const urn = (stack: string) => `urn:pulumi:${stack}::delivery::delivery:build:AppImage$${IMAGE_BUILD_TYPE}::app-image`;

    it("reads the stack from a URN, and refuses what is not one", () => {
        expect(stackOfUrn(urn("review-feature-x"))).toBe("review-feature-x");
        expect(() => stackOfUrn("app-image")).toThrow("not a Pulumi URN: app-image");
    });

    it("rejects an image build in a promotion stack and allows it elsewhere", () => {
        expect(buildInPromotionStack(IMAGE_BUILD_TYPE, urn("production"), ["production"])).toEqual([
            'stack "production" builds an image; it must deploy the digest its upstream stack released (delivery:promoteFrom)',
        ]);
        expect(buildInPromotionStack(IMAGE_BUILD_TYPE, urn("staging"), ["production"])).toEqual([]);
        expect(buildInPromotionStack(IMAGE_BUILD_TYPE, urn("eu-production"), ["production", "eu-production"])).toHaveLength(1);
        expect(buildInPromotionStack("kubernetes:apps/v1:Deployment", urn("production"), ["production"])).toEqual([]);
    });
});
