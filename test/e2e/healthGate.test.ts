import { describe, expect, it } from "vitest";
import { ReleaseOutput, getApp, localConfig, outputValue, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/** A release that never becomes healthy fails `pulumi up` and leaves the old one serving. */
describe("health-gated release on the Docker host", () => {
    const port = PORTS.healthGate;
    /** Container slot on the Docker host: appName-stack (see localConfig). */
    const SLOT = `e2e-${port}-e2e-health`;
    const fx = useStacks((project) => ({ stack: ["e2e-health", localConfig(project, port, { healthTimeoutSeconds: "10" })] }));

    it("keeps the previous container answering when the new release fails its health check", async () => {
        const good = outputValue<ReleaseOutput>((await fx.stack.up()).outputs, "release");
        expect((await getApp(`http://127.0.0.1:${port}/`)).body.release_id).toBe(good.releaseId);

        fx.project.changeApp((src) =>
            src.replace('return Response("ok", status=200, mimetype="text/plain")', 'return Response("broken", status=503, mimetype="text/plain")'),
        );
        const failed = await fx.stack.up().then(
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
