import { describe, expect, it } from "vitest";
import { ReleaseOutput, getApp, localConfig, outputValue, registryDigest, resourceTypes, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * Stack A builds; stack B promotes A's release through a StackReference without building,
 * tags the same digest in the registry, and rolls back by pinning an earlier release.
 */
describe("promotion and rollback", () => {
    const portA = PORTS.promotion.upstream;
    const portB = PORTS.promotion.downstream;
    const fx = useStacks((project) => ({
        upstream: ["e2e-staging", localConfig(project, portA, { env: '{"APP_ENV":"staging"}' })],
        downstream: ["e2e-production", localConfig(project, portB, { promoteFrom: "e2e-staging", promotionTag: "v1.0.0", env: '{"APP_ENV":"production"}' })],
    }));

    let r1: ReleaseOutput;

    it("the downstream stack deploys the upstream digest byte for byte, with no build", async () => {
        r1 = outputValue<ReleaseOutput>((await fx.upstream.up()).outputs, "release");
        const promoted = outputValue<ReleaseOutput>((await fx.downstream.up()).outputs, "release");
        expect(promoted.imageRef).toBe(r1.imageRef);
        expect(promoted.digest).toBe(r1.digest);
        expect(promoted.commitSha).toBe(r1.commitSha);
        expect(promoted.origin).toBe("promote e2e-staging v1");
        // Same build, other config: another release of the same image.
        expect(promoted.releaseId).not.toBe(r1.releaseId);

        expect(await resourceTypes(fx.upstream)).toContain("docker-build:index:Image");
        expect(await resourceTypes(fx.downstream)).not.toContain("docker-build:index:Image");

        const app = await getApp(`http://127.0.0.1:${portB}/`);
        expect(app.body.app_env).toBe("production");
        expect(app.body.release_id).toBe(promoted.releaseId);
    });

    it("the registry shows the promotion tag on that same digest", async () => {
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, "v1.0.0")).toBe(r1.digest);
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, r1.commitSha)).toBe(r1.digest);
    });

    it("follows a new upstream release, then rolls back to the earlier one by pinning it", async () => {
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, r2"));
        const r2 = outputValue<ReleaseOutput>((await fx.upstream.up()).outputs, "release");
        expect(r2.digest).not.toBe(r1.digest);
        await fx.downstream.setConfig("delivery:promotionTag", { value: "v1.1.0" });
        const promoted2 = outputValue<ReleaseOutput>((await fx.downstream.up()).outputs, "release");
        expect(promoted2.digest).toBe(r2.digest);
        expect(String((await getApp(`http://127.0.0.1:${portB}/`)).body.message)).toContain("r2");

        await fx.downstream.setAllConfig({ "delivery:releaseRef": { value: r1.imageRef }, "delivery:releaseCommitSha": { value: r1.commitSha } });
        await fx.downstream.removeConfig("delivery:promotionTag");
        const rolledBack = outputValue<ReleaseOutput>((await fx.downstream.up()).outputs, "release");
        expect(rolledBack.digest).toBe(r1.digest);
        expect(rolledBack.origin).toBe("pin");
        const app = await getApp(`http://127.0.0.1:${portB}/`);
        expect(String(app.body.message)).not.toContain("r2");
        expect(app.body.release_id).toBe(rolledBack.releaseId);
        expect(await resourceTypes(fx.downstream)).not.toContain("docker-build:index:Image");
    });

    it("never moves a release tag that names another digest: the pin with v1.1.0 kept in the stack is refused", async () => {
        const before = await registryDigest("127.0.0.1:5000", fx.project.repository, "v1.1.0");
        const running = outputValue<ReleaseOutput>(await fx.downstream.outputs(), "release");
        expect(before).not.toBe(running.digest);
        await fx.downstream.setConfig("delivery:promotionTag", { value: "v1.1.0" });
        const failed = await fx.downstream.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(String(failed?.message)).toContain(
            `registry tag ${fx.project.repository}:v1.1.0 already names ${before}; a release tag is never moved to another digest (${running.digest})`,
        );
        expect(String(failed?.message)).toContain("pulumi config set delivery:promotionTagMutable true");
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, "v1.1.0")).toBe(before);
        expect((await getApp(`http://127.0.0.1:${portB}/`)).body.release_id).toBe(running.releaseId);
        await fx.downstream.removeConfig("delivery:promotionTag");
    });
});
