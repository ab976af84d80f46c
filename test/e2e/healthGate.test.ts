import { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Project, ReleaseOutput, ensureEnvironment, getApp, localConfig, outputValue, slotContainers } from "../support/workspace";

/** A release that never becomes healthy fails `pulumi up` and leaves the old one serving. */
describe("health-gated release on the Docker host", () => {
    let project: Project;
    let stack: Stack;
    const port = 18031;
    /** Container slot on the Docker host: appName-stack (see localConfig). */
    const SLOT = "e2e-18031-e2e-health";

    beforeAll(async () => {
        ensureEnvironment();
        project = new Project();
        stack = await project.stack("e2e-health", localConfig(project, port, { healthTimeoutSeconds: "10" }));
    });

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        project?.cleanup();
    });

    it("keeps the previous container answering when the new release fails its health check", async () => {
        const good = outputValue<ReleaseOutput>((await stack.up()).outputs, "release");
        expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).toBe(good.releaseId);

        project.changeApp((src) =>
            src.replace('return Response("ok", status=200, mimetype="text/plain")', 'return Response("broken", status=503, mimetype="text/plain")'),
        );
        const failed = await stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(failed).toBeInstanceOf(Error);
        expect(String(failed?.message)).toMatch(/did not become healthy: no healthy answer within 10s \(GET \/healthz answered 503\)/);

        const app = await getApp(`http://127.0.0.1:${port}/`);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe(good.releaseId);
        expect(slotContainers(SLOT)).toHaveLength(1);
    });
});
