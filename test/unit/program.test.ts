import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { deliver, userError } from "../../program";
import { DOCKER_CONTAINER_TYPE, buildInPromotionStack, hardeningProblems, runsContainers, unpinnedImages } from "../../policy/rules";
import { Recorder, SHA, fakeDigest, installMocks, isSecretValue, plain, settle, useCiEnvironment, valueOf } from "./harness";

/**
 * Each stack file run through the whole program under mocks: what it registers, and
 * what it refuses to register.
 */

const ROOT = join(__dirname, "..", "..");
const STAGING_DIGEST = fakeDigest("staging-build");
const STAGING_RELEASE = {
    imageRef: `127.0.0.1:5000/delivery/app@${STAGING_DIGEST}`,
    digest: STAGING_DIGEST,
    commitSha: SHA,
    releaseId: "r-000000000001",
    configHash: fakeDigest("cfg"),
    createdAt: "2026-11-25T00:00:00.000Z",
    stack: "staging",
    origin: "build",
    // Staging verified it (ReleaseVerification): a promotion gate lets it through.
    verification: {
        status: "passed",
        at: "2026-11-25T00:05:00.000Z",
        checks: [{ name: "health", passed: true, detail: "GET /healthz answered 200" }],
        durationMs: 120,
    },
};

/** The engine hands the program every key as a string, objects as JSON, secrets decrypted. */
function stackConfig(stack: string, overrides: Record<string, string> = {}): { config: Record<string, string>; secretKeys: string[] } {
    const file = parseYaml(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(file.config ?? {})) {
        const json = JSON.stringify(v, (_key, x) => (x && typeof x === "object" && "secure" in x ? "decrypted-secret" : x));
        if (json.includes("decrypted-secret")) {
            secretKeys.push(k);
        }
        config[k] = typeof v === "string" ? v : json;
    }
    for (const [k, v] of Object.entries(overrides)) {
        config[`delivery:${k}`] = v;
        if (k === "secretEnv" || k === "registryPassword") {
            secretKeys.push(`delivery:${k}`);
        }
    }
    return { config, secretKeys };
}

/** A stack, its `delivery:` overrides, the stack outputs it reads, and other config set as is. */
type Setup = [stack: string, overrides?: Record<string, string>, stackOutputs?: Record<string, Record<string, unknown>>, extra?: Record<string, string>];

/** Mocks for a stack's config; `tokenSecrets` also marks the `extra` keys ending in ":token" secret. */
function install(tokenSecrets: boolean, ...[stack, overrides = {}, stackOutputs = {}, extra = {}]: Setup): Recorder {
    const { config, secretKeys } = stackConfig(stack, overrides);
    const tokens = tokenSecrets ? Object.keys(extra).filter((k) => k.endsWith(":token")) : [];
    return installMocks({ stack, config: { ...config, ...extra }, secretKeys: [...secretKeys, ...tokens], stackOutputs });
}

async function run(...setup: Setup): Promise<{ rec: Recorder; outputs: Record<string, unknown> }> {
    const rec = install(true, ...setup);
    const out = await deliver();
    const outputs = { release: await valueOf(out.release), url: out.url };
    await settle(rec);
    return { rec, outputs };
}

async function failure(...setup: Setup): Promise<{ message: string; rec: Recorder }> {
    const rec = install(false, ...setup);
    try {
        await deliver();
    } catch (e) {
        await settle(rec);
        return { message: (e as Error).message, rec };
    }
    throw new Error("expected the program to fail");
}

useCiEnvironment();

const DYNAMIC = (rec: Recorder) => rec.resources.filter((r) => "__provider" in r.inputs);

describe("stack dev", () => {
    it("builds, records the release and runs it on the local Docker host", async () => {
        const { rec, outputs } = await run("dev");
        const image = plain(rec.one("docker-build:index:Image").inputs);
        expect(plain(rec.named("app-ref-tag").inputs).tag).toBe("main");
        expect(image.exports).toEqual([{ registry: { insecure: true, push: true, names: [`127.0.0.1:5000/delivery/app:${SHA}`] } }]);
        const container = plain(rec.named("app-container").inputs);
        expect(container.image).toMatch(/^127\.0\.0\.1:5000\/delivery\/app@sha256:[a-f0-9]{64}$/);
        expect(container.hostPort).toBe(8000);
        expect(container.env).toEqual({ APP_ENV: "dev", GREETING: "Hello from the dev stack" });
        expect(outputs.url).toBe("http://127.0.0.1:8000");
        const release = outputs.release as Record<string, string>;
        expect(release.imageRef).toBe(container.image);
        expect(release.commitSha).toBe(SHA);
        expect(release.origin).toBe("build");
        expect(release.releaseId).toBe(container.releaseId);
        expect(rec.ofType("kubernetes:apps/v1:Deployment")).toHaveLength(0);
    });

    it("fails before registering anything when a setting is wrong", async () => {
        const { message, rec } = await failure("dev", { hostPort: "http" });
        expect(message).toContain(
            'delivery:hostPort: must be a whole number from 1 to 65535 (got "http"). Fix: pulumi config set delivery:hostPort 8000 --stack dev',
        );
        expect(rec.resources).toHaveLength(0);
    });
});

describe("userError", () => {
    it("is a RunError without a stack, which Node 22's colored inspect would loop on", () => {
        const error = userError("delivery:target: must be docker or kubernetes");
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect(error.stack).toBeUndefined();
        expect(inspect(error, { colors: true })).toContain("delivery:target: must be docker or kubernetes");
    });
});

describe("stack staging", () => {
    it("builds and deploys to its Kubernetes namespace with an Ingress", async () => {
        const { rec, outputs } = await run("staging", { secretEnv: JSON.stringify({ SECRET_KEY: "staging-secret" }) });
        expect(rec.ofType("docker-build:index:Image")).toHaveLength(1);
        const d = plain(rec.one("kubernetes:apps/v1:Deployment").inputs);
        expect(d.metadata.namespace).toBe("staging");
        expect(d.spec.template.spec.containers[0].image).toBe((outputs.release as { imageRef: string }).imageRef);
        expect(rec.ofType("kubernetes:networking.k8s.io/v1:Ingress")).toHaveLength(1);
        expect(outputs.url).toBe("https://staging.example.com");
    });

    it("keeps secret settings secret all the way to the Secret", async () => {
        const { rec } = await run("staging", { secretEnv: JSON.stringify({ SECRET_KEY: "staging-secret" }) });
        const config = rec.ofType("kubernetes:core/v1:Secret").find((s) => plain(s.inputs).type === "Opaque")!;
        expect(isSecretValue(config.inputs.stringData)).toBe(true);
        const plainResources = rec.resources.filter(
            (r) =>
                JSON.stringify(r.inputs).includes("staging-secret") &&
                !isSecretValue(Object.values(r.inputs).find((v) => JSON.stringify(v).includes("staging-secret"))),
        );
        expect(plainResources.map((r) => r.name)).toEqual([]);
    });
});

describe("stack production", () => {
    const upstream = { "organization/delivery/staging": { release: STAGING_RELEASE } };

    it("registers no build and deploys exactly the digest staging exported", async () => {
        const { rec, outputs } = await run("production", {}, upstream);
        expect(rec.ofType("docker-build:index:Image")).toHaveLength(0);
        expect(plain(rec.one("pulumi:pulumi:StackReference").inputs).name).toBe("organization/delivery/staging");
        const d = plain(rec.one("kubernetes:apps/v1:Deployment").inputs);
        expect(d.spec.template.spec.containers[0].image).toBe(STAGING_RELEASE.imageRef);
        expect(d.spec.replicas).toBe(3);
        expect(d.metadata.namespace).toBe("production");
        const release = outputs.release as Record<string, string>;
        expect(release.digest).toBe(STAGING_DIGEST);
        expect(release.commitSha).toBe(SHA);
        expect(release.origin).toBe("promote staging");
    });

    it("adds the git tag to the promoted digest in the registry", async () => {
        const { rec } = await run("production", { promotionTag: "v1.4.0" }, upstream);
        const tag = plain(rec.named("promotion-tag").inputs);
        expect(tag).toMatchObject({ repository: "delivery/app", digest: STAGING_DIGEST, tag: "v1.4.0" });
    });

    it("rolls back to a pinned earlier release without consulting staging", async () => {
        const earlier = `127.0.0.1:5000/delivery/app@${fakeDigest("earlier")}`;
        const { rec, outputs } = await run("production", { releaseRef: earlier, releaseCommitSha: "abcdef1" }, upstream);
        expect(rec.ofType("pulumi:pulumi:StackReference")).toHaveLength(0);
        expect(rec.ofType("docker-build:index:Image")).toHaveLength(0);
        expect(plain(rec.one("kubernetes:apps/v1:Deployment").inputs).spec.template.spec.containers[0].image).toBe(earlier);
        expect((outputs.release as Record<string, string>).origin).toBe("pin");
    });

    it("refuses a staging release pinned only by tag, before any resource", async () => {
        const { message, rec } = await failure(
            "production",
            {},
            { "organization/delivery/staging": { release: { ...STAGING_RELEASE, imageRef: "127.0.0.1:5000/delivery/app:latest" } } },
        );
        expect(message).toContain('delivery:promoteFrom: cannot promote from "staging"');
        expect(message).toContain("which is not pinned by digest");
        expect(rec.resources.filter((r) => r.type !== "pulumi:pulumi:StackReference")).toHaveLength(0);
        expect(DYNAMIC(rec)).toHaveLength(0);
    });

    it("refuses to run without a promotion source", async () => {
        const { message } = await failure("production", { promoteFrom: "production" }, upstream);
        expect(message).toContain('delivery:promoteFrom: a stack cannot promote from itself ("production")');
    });
});

describe("the policy pack's rules", () => {
    const upstream = { "organization/delivery/staging": { release: STAGING_RELEASE } };
    const problems = (stack: string, rec: Recorder) =>
        rec.resources.flatMap((r) => {
            const inputs = plain(r.inputs);
            return [
                ...unpinnedImages(r.type, inputs),
                ...hardeningProblems(r.type, inputs),
                ...buildInPromotionStack(r.type, `urn:pulumi:${stack}::delivery::${r.type}::${r.name}`, ["production"]),
            ].map((p) => `${r.name}: ${p}`);
        });

    it("find nothing to reject in what any stack file registers", async () => {
        for (const [stack, outputs] of [
            ["dev", {}],
            ["staging", {}],
            ["production", upstream],
        ] as const) {
            const { rec } = await run(stack, {}, outputs);
            // Not vacuous: each stack registers something that runs its image.
            expect(
                rec.resources.filter((r) => runsContainers(r.type)).map((r) => r.type),
                stack,
            ).toEqual([stack === "dev" ? DOCKER_CONTAINER_TYPE : "kubernetes:apps/v1:Deployment"]);
            expect(problems(stack, rec), stack).toEqual([]);
        }
    });
});

/** GitLab settings that turn the GitLab resources on, with the token as extra config. */
const gitlab = {
    "gitlab:enabled": "true",
    "gitlab:url": "https://gitlab.example.com",
    "gitlab:project": "group/app",
    "gitlab:token": "glpat-unit-test-token",
};

describe("GitLab settings in a stack", () => {
    it("are left out while gitlab:enabled is not true (dev)", async () => {
        const { rec } = await run("dev");
        expect(rec.ofType("delivery:gitlab:GitlabProjectSettings")).toHaveLength(0);
    });

    it("manage the stack's environment with the token as a secret", async () => {
        const { rec } = await run("staging", {}, {}, gitlab);
        expect(rec.ofType("delivery:gitlab:GitlabProjectSettings")).toHaveLength(1);
        const environment = plain(rec.named("gitlab-environment").inputs);
        expect(environment).toMatchObject({
            name: "staging",
            externalUrl: "https://staging.example.com",
            gitlabUrl: "https://gitlab.example.com",
            project: "group/app",
        });
        const withToken = DYNAMIC(rec).filter((d) => "gitlabToken" in d.inputs);
        expect(withToken.map((r) => r.name).sort()).toEqual(["gitlab-deploy-token", "gitlab-environment", "gitlab-resource-group"]);
        for (const r of withToken) {
            expect(isSecretValue(r.inputs.gitlabToken), r.name).toBe(true);
        }
    });

    it("report their problems together with the delivery settings', before any resource", async () => {
        const { message, rec } = await failure("staging", { replicas: "zero" }, {}, { "gitlab:enabled": "true" });
        expect(message).toContain('delivery:replicas: must be a whole number from 1 to 50 (got "zero")');
        expect(message).toContain("gitlab:url: is required when gitlab:enabled is true");
        expect(rec.resources).toHaveLength(0);
    });
});

describe("every component", () => {
    const upstream = { "organization/delivery/staging": { release: STAGING_RELEASE } };

    it("names each child `${name}-<role>` and parents it; dynamic types are pulumi-nodejs:dynamic/<folder>:<Type>", async () => {
        // Every registration passes through the SDK's registerResource, which Resource calls through
        // its CommonJS exports object: wrapped here, it sees each resource with its parent object.
        type Register = (res: unknown, parent: { __name?: string } | undefined, type: string, name: string, ...rest: unknown[]) => unknown;
        const runtime = createRequire(__filename)("@pulumi/pulumi/runtime/resource") as { registerResource: Register };
        const original = runtime.registerResource;
        const seen: Array<{ type: string; name: string; parentName?: string }> = [];
        runtime.registerResource = (res, parent, type, name, ...rest) => {
            seen.push({ type, name, parentName: parent?.__name });
            return original(res, parent, type, name, ...rest);
        };
        try {
            await run("dev");
            await run("staging", {}, {}, gitlab);
            await run("production", {}, upstream);
            await run("production", { releaseRef: STAGING_RELEASE.imageRef, releaseCommitSha: SHA, promotionTag: "v1.0.0", kubeconfig: "/dev/null" });
        } finally {
            runtime.registerResource = original;
        }
        const types = new Set(seen.map((r) => r.type));
        // Not vacuous: every component, a nested dynamic resource and an explicit provider were registered.
        for (const t of [
            "delivery:build:AppImage",
            "delivery:registry:Registry",
            "delivery:release:Release",
            "delivery:release:Promotion",
            "delivery:targets:DockerHostTarget",
            "delivery:targets:KubernetesTarget",
            "delivery:gitlab:GitlabProjectSettings",
            "pulumi-nodejs:dynamic/registry:RegistryTag",
            "pulumi:providers:kubernetes",
        ]) {
            expect(types, t).toContain(t);
        }
        // Only components and the upstream StackReference stand at the top; every child is `${parent}-<role>`.
        const broken = seen.filter((r) =>
            r.parentName === undefined ? !r.type.startsWith("delivery:") && r.type !== "pulumi:pulumi:StackReference" : !r.name.startsWith(`${r.parentName}-`),
        );
        expect(broken).toEqual([]);
        const dynamic = [...types].filter((t) => t.startsWith("pulumi-nodejs:"));
        expect(dynamic.length).toBeGreaterThanOrEqual(6);
        expect(dynamic.filter((t) => !/^pulumi-nodejs:dynamic\/[a-z]+:[A-Z][A-Za-z]+$/.test(t))).toEqual([]);
    });
});
