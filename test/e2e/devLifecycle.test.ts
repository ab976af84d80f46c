import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { refSlug } from "../../components/refs";
import { ReleaseOutput, getApp, localConfig, outputValue, registryDigest, resourceTypes, slotContainers, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The dev stack's whole life on the real engine, Docker engine and registry, in the order
 * of Pulumi's own ProgramTest: preview, up, empty preview, refresh, edit, up, destroy.
 */
describe("dev stack lifecycle", () => {
    const port = PORTS.devLifecycle;
    /** Container slot on the Docker host: appName-stack (see localConfig). */
    const SLOT = `e2e-${port}-dev`;
    const fx = useStacks((project) => ({ stack: ["dev", localConfig(project, port)] }));

    let first: ReleaseOutput;
    const branchTag = () => refSlug(fx.project.git("rev-parse", "--abbrev-ref", "HEAD"));

    it("previews, then up builds, pushes and serves the release over HTTP", async () => {
        const preview = await fx.stack.preview();
        expect(preview.changeSummary.create).toBeGreaterThanOrEqual(4);

        const up = await fx.stack.up();
        expect(up.summary.result).toBe("succeeded");
        first = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(first.imageRef).toMatch(new RegExp(`^127\\.0\\.0\\.1:5000/${fx.project.repository}@sha256:[a-f0-9]{64}$`));
        expect(first.commitSha).toBe(fx.project.git("rev-parse", "HEAD"));
        expect(outputValue<string>(up.outputs, "url")).toBe(`http://127.0.0.1:${port}`);

        const app = await getApp(`http://127.0.0.1:${port}/`);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe(first.releaseId);
        expect(app.body.app_env).toBe("dev");
        expect((await getApp(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

        // The commit tag and the branch's tag name the very digest that was deployed.
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, first.commitSha)).toBe(first.digest);
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, branchTag())).toBe(first.digest);
        expect(await resourceTypes(fx.stack)).toContain("docker-build:index:Image");
        // The container pulls the digest only after both tags on it are written (a PUT of a
        // manifest and a pull of it at the same time got a 500 from the registry).
        const state = await fx.stack.exportStack();
        const resources = state.deployment.resources as Array<{ urn: string; dependencies?: string[] }>;
        const container = resources.find((r) => r.urn.endsWith("::app-container"))!;
        const tags = resources.filter((r) => r.urn.endsWith("::app-ref-tag") || r.urn.endsWith("::release-tag")).map((r) => r.urn);
        expect(tags).toHaveLength(2);
        expect(container.dependencies).toEqual(expect.arrayContaining(tags));
    });

    it("the image's HEALTHCHECK, every 30 s, passes on the live release and fails on a health path answering 503", async () => {
        const live = execFileSync("docker", ["ps", "-q", "--filter", `label=delivery.slot=${SLOT}`, "--filter", "label=delivery.role=live"])
            .toString()
            .trim();
        expect(live).toMatch(/^[0-9a-f]+$/);
        const check = JSON.parse(execFileSync("docker", ["inspect", "--format", "{{json .Config.Healthcheck}}", live]).toString()) as {
            Test: string[];
            Interval: number;
        };
        expect(check.Interval).toBe(30e9);
        expect(check.Test[0]).toBe("CMD");
        const probe = (port: string) => spawnSync("docker", ["exec", "-e", `PORT=${port}`, live, ...check.Test.slice(1)], { encoding: "utf8" });

        const healthy = probe("8080");
        expect({ status: healthy.status, stderr: healthy.stderr }).toEqual({ status: 0, stderr: "" });

        // A server in the same container whose health path answers 503: the check fails cleanly
        // (exit 1, nothing on stderr), not by an error of its own.
        const server =
            "import http.server\n" +
            "class H(http.server.BaseHTTPRequestHandler):\n" +
            "    def do_GET(self):\n" +
            "        self.send_response(503)\n" +
            "        self.end_headers()\n" +
            "http.server.HTTPServer(('127.0.0.1', 8081), H).serve_forever()\n";
        execFileSync("docker", ["exec", "-d", live, "python3", "-c", server]);
        let failing = probe("8081");
        for (let i = 0; i < 50 && /ConnectionRefused/.test(failing.stderr); i++) {
            await new Promise((r) => setTimeout(r, 100));
            failing = probe("8081");
        }
        expect({ status: failing.status, stderr: failing.stderr }).toEqual({ status: 1, stderr: "" });
    });

    it("a second run changes nothing (no spurious image diff)", async () => {
        const preview = await fx.stack.preview({ expectNoChanges: true, diff: true });
        expect(preview.changeSummary.update ?? 0).toBe(0);
        expect(preview.changeSummary.replace ?? 0).toBe(0);
        expect(preview.changeSummary.create ?? 0).toBe(0);
    });

    it("a refresh finds the container and image as Pulumi left them", async () => {
        const refresh = await fx.stack.refresh();
        expect(refresh.summary.result).toBe("succeeded");
        // The Image's read has no tag to fetch over HTTPS from this plain-HTTP registry (it used to
        // retry ~3 s, then warn and check nothing).
        expect(refresh.stdout).not.toContain("unable to verify image tags");
        await fx.stack.preview({ expectNoChanges: true });
    });

    it("a change in app/ gives exactly one new digest and a replaced container", async () => {
        const before = slotContainers(SLOT);
        expect(before).toHaveLength(1);
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, v2"));

        const up = await fx.stack.up();
        const second = outputValue<ReleaseOutput>(up.outputs, "release");
        expect(second.digest).not.toBe(first.digest);
        // The branch's tag moved to the new build; the first commit's tag still names the first.
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, branchTag())).toBe(second.digest);
        expect(await registryDigest("127.0.0.1:5000", fx.project.repository, first.commitSha)).toBe(first.digest);
        expect(second.releaseId).not.toBe(first.releaseId);
        expect(up.summary.resourceChanges?.update).toBeGreaterThanOrEqual(1);

        const after = slotContainers(SLOT);
        expect(after).toHaveLength(1);
        expect(after[0].split(" ")[0]).not.toBe(before[0].split(" ")[0]);

        const app = await getApp(`http://127.0.0.1:${port}/`);
        expect(app.body.release_id).toBe(second.releaseId);
        expect(String(app.body.message)).toContain("v2");
        await fx.stack.preview({ expectNoChanges: true });
    });

    it("destroy leaves no container behind", async () => {
        const destroy = await fx.stack.destroy();
        expect(destroy.summary.result).toBe("succeeded");
        expect(slotContainers(SLOT)).toEqual([]);
        await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    });
});
