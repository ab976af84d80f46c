import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseVerificationProvider } from "../../../components/release/verification";

/**
 * The generalization the heroku target needs: a verification with a URL (the app's web_url) and
 * no container port, Docker host or verify command runs the same two built-in HTTP checks and
 * nothing else.
 */
describe("ReleaseVerification without a container port (the heroku target's inputs)", () => {
    let server: http.Server;
    let url = "";
    let health = 200;
    beforeAll(async () => {
        server = http.createServer((req, res) => {
            if (req.url === "/healthz") {
                res.writeHead(health, { "content-type": "text/plain" });
                res.end(health === 200 ? "ok" : "unwell");
                return;
            }
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ release_id: "r-heroku" }));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    });
    afterAll(async () => {
        await new Promise<void>((r) => server.close(() => r()));
    });

    const inputs = () => ({
        releaseId: "r-heroku",
        image: "127.0.0.1:5000/delivery/app@sha256:" + "a".repeat(64),
        url,
        healthPath: "/healthz",
        env: { APP_ENV: "staging" },
        secretEnv: {},
        timeoutSeconds: 5,
    });

    it("passes with the health and release-id checks against a web_url with a trailing slash", async () => {
        health = 200;
        const made = await releaseVerificationProvider.create!(inputs());
        expect(made.id).toBe("verification-r-heroku");
        expect(made.outs.result.status).toBe("passed");
        expect(made.outs.result.checks).toEqual([
            { name: "health", passed: true, detail: "GET /healthz answered 200" },
            { name: "release-id", passed: true, detail: "GET / serves release r-heroku" },
        ]);
        expect(made.outs).not.toHaveProperty("containerPort");
    });

    it("fails the health check on a 503, and runs no verify command without a Docker host", async () => {
        health = 503;
        const made = await releaseVerificationProvider.create!({ ...inputs(), verifyCommand: "exit 1" });
        expect(made.outs.result.status).toBe("failed");
        expect(made.outs.result.checks).toEqual([
            { name: "health", passed: false, detail: "GET /healthz answered 503" },
            { name: "release-id", passed: true, detail: "GET / serves release r-heroku" },
        ]);
    });
});
