import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { proxyName } from "../../components/targets/proxy";
import { LoadLoop } from "../support/load";
import { ReleaseOutput, freePort, getApp, localConfig, outputValue, slotContainers, useStacks } from "../support/workspace";

/** Docker CLI, its output trimmed. */
function docker(...args: string[]): string {
    return execFileSync("docker", args).toString().trim();
}

/** The proxy's admin URL on the host (its admin port is published on loopback). */
function adminUrl(proxy: string): string {
    return `http://${docker("port", proxy, "2019/tcp").split("\n")[0]}`;
}

/** The app's source with another body for its health endpoint (a line of Python). */
function healthz(src: string, line: string): string {
    return src.replace(/(def healthz\(\):\n\s+)return .*\n/, `$1${line}\n`);
}
const OK = 'return Response("ok", status=200, mimetype="text/plain")';

/**
 * One stack's lifecycle behind the shared proxy, several behaviours in turn (each swap costs a
 * build and a few seconds of watch and drain, kept short here): a swap under load drops nothing;
 * a never-healthy release never gets a request; one that fails inside the watch window is
 * switched back; a proxy restart keeps routing; drift (a killed container, a route pointed
 * elsewhere) shows on refresh and `up --refresh` restores it.
 */
describe("zero-downtime releases behind the proxy on the Docker host", async () => {
    const port = await freePort();
    const SLOT = `e2e-${port}-e2e-proxy`;
    const PROXY = proxyName("127.0.0.1", port);
    const url = `http://127.0.0.1:${port}/`;
    const fx = useStacks((project) => ({
        stack: ["e2e-proxy", localConfig(project, port, { drainSeconds: "2", watchSeconds: "6", healthTimeoutSeconds: "15" })],
    }));

    it("swaps under load with 0 failed requests out of at least 500, and leaves one app container", async () => {
        const first = outputValue<ReleaseOutput>((await fx.stack.up()).outputs, "release");
        expect((await getApp(url)).body.release_id).toBe(first.releaseId);
        // The published port belongs to the proxy, not to the app's container.
        expect(docker("port", PROXY, "80/tcp")).toContain(`127.0.0.1:${port}`);
        expect(docker("ps", "--filter", `label=delivery.slot=${SLOT}`, "--format", "{{.Ports}}")).not.toContain(String(port));

        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the swapped app"));
        const load = new LoadLoop({ url });
        const second = outputValue<ReleaseOutput>((await fx.stack.up()).outputs, "release");
        const summary = await load.stop(500);

        expect(summary.requests).toBeGreaterThanOrEqual(500);
        expect(summary.failed, summary.firstFailures.join("; ")).toBe(0);
        // Both releases answered during the loop: the swap happened under it.
        expect(summary.releases).toEqual([first.releaseId, second.releaseId]);
        expect(slotContainers(SLOT)).toHaveLength(1);
    });

    it("never sends a request to a release that never becomes healthy", async () => {
        const good = (await getApp(url)).body.release_id;
        fx.project.changeApp((src) => healthz(src, 'return Response("broken", status=503, mimetype="text/plain")'));
        const load = new LoadLoop({ url });
        const failed = await fx.stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        const summary = await load.stop(100);
        expect(String(failed?.message)).toMatch(
            /did not become healthy: no healthy answer within 15s \(GET \/healthz answered 503\); it received no traffic and the previous release keeps serving/,
        );
        expect(summary.failed, summary.firstFailures.join("; ")).toBe(0);
        expect(summary.releases).toEqual([good]);
        expect(slotContainers(SLOT)).toHaveLength(1);
    });

    it("switches back when the new release fails its health path inside the watch window; up fails with the reason and its last log lines", async () => {
        const good = (await getApp(url)).body.release_id;
        // The old release's container, and when it started: it must run through the window untouched.
        const [old] = slotContainers(SLOT).map((l) => l.split(" ")[0]);
        const oldStarted = docker("inspect", "-f", "{{.State.StartedAt}}", old);
        // Healthy for its first 4 s (the gate passes), then 503: inside the 6 s watch window.
        fx.project.changeApp((src) =>
            healthz(
                src.replace("def create_app(settings):\n", 'def create_app(settings):\n    started = __import__("time").time()\n'),
                'return Response("ok", status=200 if __import__("time").time() - started < 4 else 503, mimetype="text/plain")',
            ),
        );
        const failed = await fx.stack.up().then(
            () => undefined,
            (e: Error) => e,
        );
        expect(String(failed?.message)).toMatch(
            /failed inside the watch window \(delivery:watchSeconds 6\): GET \/healthz answered 503 [\d.]+s after the switch; the proxy routes to the previous release/,
        );
        // The app's own log lines (its start event) come with it.
        expect(String(failed?.message)).toMatch(/last log lines:[\s\S]*"event": "starting"/);
        const app = await getApp(url);
        expect(app.status).toBe(200);
        expect(app.body.release_id).toBe(good);
        // The one container left is the old one, never stopped or started again.
        expect(slotContainers(SLOT).map((l) => l.split(" ")[0])).toEqual([old]);
        expect(docker("inspect", "-f", "{{.State.StartedAt}}", old)).toBe(oldStarted);
    });

    it("keeps routing across a proxy restart, and restores a killed container, a route pointed elsewhere and a removed proxy on up --refresh", async () => {
        fx.project.changeApp((src) => healthz(src.replace("from the swapped app", "from the restored app"), OK));
        const release = outputValue<ReleaseOutput>((await fx.stack.up()).outputs, "release");

        docker("restart", PROXY);
        // Caddy resumes the configuration it had (autosave): no up needed.
        await expect
            .poll(async () => (await getApp(url).catch(() => ({ status: 0, body: {} as Record<string, unknown> }))).body.release_id, { timeout: 15_000 })
            .toBe(release.releaseId);

        // Drift 1: the app's container killed by hand.
        docker("rm", "-f", slotContainers(SLOT)[0].split(" ")[0]);
        expect((await getApp(url)).status).toBe(502);
        await fx.stack.refresh();
        expect((await fx.stack.preview()).changeSummary.update).toBe(1);
        await fx.stack.up({ refresh: true });
        expect((await getApp(url)).body.release_id).toBe(release.releaseId);

        // Drift 2: the proxy pointed elsewhere by hand, through its admin API.
        const routes = (await (await fetch(`${adminUrl(PROXY)}/config/apps/http/servers/delivery/routes`)).json()) as Array<Record<string, unknown>>;
        const mine = routes.findIndex((r) => r["@id"] === `slot-${SLOT}`);
        const res = await fetch(`${adminUrl(PROXY)}/config/apps/http/servers/delivery/routes/${mine}/handle/0/upstreams/0/dial`, {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: JSON.stringify("127.0.0.1:9"),
        });
        expect(res.status).toBe(200);
        expect((await getApp(url)).status).toBe(502);
        const preview = await fx.stack.preview({ refresh: true });
        expect(preview.changeSummary.update).toBe(1);
        await fx.stack.up({ refresh: true });
        expect((await getApp(url)).body.release_id).toBe(release.releaseId);
        expect(slotContainers(SLOT)).toHaveLength(1);

        // Drift 3: the proxy removed by hand. up --refresh makes it anew, its route rebuilt from
        // the app container's labels: the same container serves again, no new one is started.
        const serving = slotContainers(SLOT)[0].split(" ")[0];
        docker("rm", "-f", PROXY);
        await expect(getApp(url)).rejects.toThrow();
        await fx.stack.up({ refresh: true });
        expect((await getApp(url)).body.release_id).toBe(release.releaseId);
        expect(slotContainers(SLOT).map((l) => l.split(" ")[0])).toEqual([serving]);
    });
});
