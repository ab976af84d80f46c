import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { AppImage } from "../../../components/image/appImage";
import { SHA, isSecretValue, plain, settle, useMocks, valueOf } from "../harness";

describe("AppImage", () => {
    const mocks = useMocks();

    const args = {
        context: "app",
        dockerfile: "app/Dockerfile",
        repositoryUrl: "127.0.0.1:5000/delivery/app",
        registryServer: "127.0.0.1:5000",
        insecure: true,
        commitSha: SHA,
        refName: "feature/Login",
        baseImage: "127.0.0.1:5000/delivery/python-base:bookworm",
    };

    it("builds with BuildKit, pushes the commit SHA tag and tags the same manifest with the ref slug", async () => {
        const image = new AppImage("app", args);
        await valueOf(image.ref);
        await settle(mocks());
        const i = plain(mocks().one("docker-build:index:Image").inputs);
        // A plain-HTTP registry: the name is on the export (docker-build's refresh reads `tags` over HTTPS only).
        expect(i.tags).toEqual([]);
        expect(i.exports).toEqual([{ registry: { insecure: true, push: true, names: [`127.0.0.1:5000/delivery/app:${SHA}`] } }]);
        expect(i.buildArgs).toEqual({ BASE_IMAGE: "127.0.0.1:5000/delivery/python-base:bookworm" });
        expect(i.platforms).toEqual(["linux/amd64"]);
        expect(i.context).toEqual({ location: "app" });
        expect(i.dockerfile).toEqual({ location: "app/Dockerfile" });
        expect(i.labels["org.opencontainers.image.revision"]).toBe(SHA);
        expect(i.buildOnPreview).toBe(false);
        const refTag = plain(mocks().one("pulumi-nodejs:dynamic/registry:RegistryTag").inputs);
        expect(refTag).toMatchObject({ server: "127.0.0.1:5000", repository: "delivery/app", tag: "feature-login", insecure: true, mutable: true });
        expect(refTag.digest).toBe(await valueOf(image.digest));
    });

    it("against an HTTPS registry, tags the image itself so that a refresh checks the tag", async () => {
        new AppImage("app", { ...args, repositoryUrl: "registry.gitlab.example/group/app", registryServer: "registry.gitlab.example", insecure: false });
        await settle(mocks());
        const i = plain(mocks().one("docker-build:index:Image").inputs);
        expect(i.tags).toEqual([`registry.gitlab.example/group/app:${SHA}`]);
        expect(i.exports).toEqual([{ registry: { insecure: false, push: true } }]);
        expect(plain(mocks().one("pulumi-nodejs:dynamic/registry:RegistryTag").inputs)).toMatchObject({
            server: "registry.gitlab.example",
            repository: "group/app",
            tag: "feature-login",
            insecure: false,
        });
    });

    it("adds no ref tag when the ref slug is the commit SHA itself or empty", async () => {
        new AppImage("app", { ...args, refName: "" });
        new AppImage("same", { ...args, refName: SHA });
        await settle(mocks());
        expect(mocks().ofType("docker-build:index:Image")).toHaveLength(2);
        expect(mocks().ofType("pulumi-nodejs:dynamic/registry:RegistryTag")).toHaveLength(0);
    });

    it("outputs only the digest-pinned ref, never a tag", async () => {
        const image = new AppImage("app", args);
        const ref = await valueOf(image.ref);
        const digest = await valueOf(image.digest);
        expect(ref).toBe(`127.0.0.1:5000/delivery/app@${digest}`);
        expect(ref).not.toContain(":feature-login");
        expect(ref).toMatch(/@sha256:[a-f0-9]{64}$/);
    });

    it("passes registry credentials to the build as a secret", async () => {
        new AppImage("app", { ...args, credentials: pulumi.secret({ username: "ci", password: "job-token-value" }) });
        await settle(mocks());
        const raw = mocks().one("docker-build:index:Image").inputs;
        const registries = plain(raw.registries);
        expect(registries).toEqual([{ address: "127.0.0.1:5000", username: "ci", password: "job-token-value" }]);
        expect(isSecretValue(raw.registries)).toBe(true);
    });

    it("rejects an invalid commit SHA tag before registering anything", () => {
        expect(() => new AppImage("app", { ...args, commitSha: "-bad" })).toThrow('"-bad" is not a valid image tag');
        expect(mocks().ofType("docker-build:index:Image")).toHaveLength(0);
    });
});
