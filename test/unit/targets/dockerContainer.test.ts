import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DockerContainerOutputs, dockerContainerProvider } from "../../../components/targets/dockerContainer";
import { standardLabels } from "../../../components/targets/labels";
import { fakeDigest, onFakeClock } from "../harness";

const base: DockerContainerOutputs = {
    name: "app-dev",
    dockerHost: "unix:///var/run/docker.sock",
    image: `127.0.0.1:5000/delivery/app@${fakeDigest("1")}`,
    releaseId: "r-1",
    env: { A: "1" },
    secretEnv: { S: "s" },
    containerPort: 8080,
    hostPort: 8000,
    bindAddress: "127.0.0.1",
    healthPath: "/healthz",
    healthTimeoutSeconds: 60,
    labels: {},
    containerId: "abc",
    containerName: "app-dev-r-1-live-000000",
    // The fake engine below plays the recreate swap; the proxy swap is tested in test/e2e/proxySwap.test.ts.
    swap: "recreate",
};

describe("DockerContainer provider", () => {
    it("has no changes for the same release and config", async () => {
        const { containerId: _c, containerName: _n, ...inputs } = base;
        expect(await dockerContainerProvider.diff!("app-dev", base, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    });

    it("swaps in place (health-gated update) for a new digest or config", async () => {
        for (const change of [
            { image: `127.0.0.1:5000/delivery/app@${fakeDigest("2")}` },
            { env: { A: "2" } },
            { secretEnv: { S: "t" } },
            { hostPort: 8001 },
        ]) {
            const diff = await dockerContainerProvider.diff!("app-dev", base, { ...base, ...change });
            expect(diff.changes, JSON.stringify(change)).toBe(true);
            expect(diff.replaces).toEqual([]);
        }
    });

    it("replaces the slot when its name or Docker host changes", async () => {
        const diff = await dockerContainerProvider.diff!("app-dev", base, { ...base, name: "other", dockerHost: "tcp://10.0.0.1:2375" });
        expect(diff.replaces).toEqual(["name", "dockerHost"]);
    });

    it("starts the container again when a refresh found it gone", async () => {
        const diff = await dockerContainerProvider.diff!("app-dev", { ...base, containerId: "" }, base);
        expect(diff.changes).toBe(true);
    });

    it("behind the proxy, a route that no longer leads to the recorded container is drift to restore", async () => {
        const proxied = { ...base, swap: "proxy" as const, upstream: "app-dev-r-1-live-000000:8080" };
        const { containerId: _c, containerName: _n, upstream: _u, ...inputs } = proxied;
        expect((await dockerContainerProvider.diff!("app-dev", proxied, inputs)).changes).toBe(false);
        expect((await dockerContainerProvider.diff!("app-dev", { ...proxied, upstream: "elsewhere:8080" }, inputs)).changes).toBe(true);
        expect((await dockerContainerProvider.diff!("app-dev", { ...proxied, upstream: "" }, inputs)).changes).toBe(true);
    });

    it("refuses an image that is not pinned by digest", async () => {
        const result = await dockerContainerProvider.check!({}, { ...base, image: "127.0.0.1:5000/delivery/app:main" });
        expect(result.failures).toEqual([
            { property: "image", reason: '"127.0.0.1:5000/delivery/app:main" is not pinned by digest; the Docker host runs only repo@sha256:... images' },
        ]);
        expect((await dockerContainerProvider.check!({}, base)).failures).toEqual([]);
    });
});

/**
 * A Docker engine in memory, put in place of `dockerode` in Node's require cache (the provider
 * requires its modules inside its functions). It lists by label like the Engine API and
 * refuses a second container on a published port that a running one holds.
 */
interface FakeContainer {
    Id: string;
    Name: string;
    Config: { Image: string; Labels: Record<string, string> };
    State: { Running: boolean; ExitCode: number };
    HostConfig: { PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> };
    NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }>> };
}

class FakeEngine {
    readonly containers = new Map<string, FakeContainer>();
    readonly created: string[] = [];
    /** What every container's log says. */
    logText = "";
    private seq = 0;
    private ephemeral = 40000;

    add(name: string, labels: Record<string, string>, opts: { image?: string; running?: boolean; hostPort?: string } = {}): string {
        const id = `id-${++this.seq}-${name}`;
        const binding = [{ HostIp: "127.0.0.1", HostPort: opts.hostPort ?? "8000" }];
        this.containers.set(id, {
            Id: id,
            Name: `/${name}`,
            Config: { Image: opts.image ?? base.image, Labels: labels },
            State: { Running: opts.running ?? true, ExitCode: 0 },
            HostConfig: { PortBindings: { "8080/tcp": binding } },
            NetworkSettings: { Ports: opts.running === false ? {} : { "8080/tcp": binding } },
        });
        return id;
    }

    running(): FakeContainer[] {
        return [...this.containers.values()].filter((c) => c.State.Running);
    }

    dockerode() {
        const engine = this;
        const notFound = () => Object.assign(new Error("no such container"), { statusCode: 404 });
        const handle = (id: string) => ({
            id,
            async inspect() {
                const c = engine.containers.get(id);
                if (!c) throw notFound();
                return structuredClone(c);
            },
            async start() {
                const c = engine.containers.get(id);
                if (!c) throw notFound();
                const want = c.HostConfig.PortBindings["8080/tcp"][0];
                const port = want.HostPort || String(++engine.ephemeral);
                if (want.HostPort && engine.running().some((o) => o.Id !== id && o.NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort === port)) {
                    throw new Error(`Bind for ${want.HostIp}:${port} failed: port is already allocated`);
                }
                c.State.Running = true;
                c.NetworkSettings.Ports = { "8080/tcp": [{ HostIp: want.HostIp, HostPort: port }] };
            },
            async stop() {
                const c = engine.containers.get(id);
                if (!c) throw notFound();
                c.State.Running = false;
                c.NetworkSettings.Ports = {};
            },
            async remove() {
                if (!engine.containers.delete(id)) throw notFound();
            },
            async logs() {
                return Buffer.from(engine.logText);
            },
        });
        return class {
            modem = { followProgress: (_s: unknown, done: (e: null, events: unknown[]) => void) => done(null, []) };
            async pull() {
                return {};
            }
            async listContainers(opts: { filters?: { label?: string[] } }) {
                const wanted = opts.filters?.label ?? [];
                return [...engine.containers.values()]
                    .filter((c) =>
                        wanted.every((l) =>
                            l.includes("=") ? c.Config.Labels[l.slice(0, l.indexOf("="))] === l.slice(l.indexOf("=") + 1) : l in c.Config.Labels,
                        ),
                    )
                    .map((c) => ({ Id: c.Id, Labels: c.Config.Labels, State: c.State.Running ? "running" : "exited" }));
            }
            getContainer(id: string) {
                return handle(id);
            }
            async createContainer(o: { name: string; Image: string; Labels: Record<string, string>; HostConfig: FakeContainer["HostConfig"] }) {
                const id = `id-${++engine.seq}-${o.name}`;
                engine.containers.set(id, {
                    Id: id,
                    Name: `/${o.name}`,
                    Config: { Image: o.Image, Labels: o.Labels },
                    State: { Running: false, ExitCode: 0 },
                    HostConfig: o.HostConfig,
                    NetworkSettings: { Ports: {} },
                });
                engine.created.push(o.name);
                return handle(id);
            }
        };
    }
}

describe("DockerContainer provider finds the slot's containers by their labels", () => {
    const req = createRequire(__filename);
    const dockerodePath = req.resolve("dockerode");
    let engine: FakeEngine;
    const labels = standardLabels("app", "dev", "sha-1");
    const ours = (release: string, role = "live") => ({ ...labels, "delivery.slot": "app-dev", "delivery.release": release, "delivery.role": role });
    /** A container with the same slot name that carries another stack's labels (e.g. appName "app-dev", stack "x" vs "app", "dev-x"). */
    const theirs = (role: string) => ({
        ...standardLabels("app", "dev-other", "sha-9"),
        "delivery.slot": "app-dev",
        "delivery.release": "r-9",
        "delivery.role": role,
    });
    const outs: DockerContainerOutputs = { ...base, labels };
    const { containerId: _c, containerName: _n, ...inputs } = outs;
    const image2 = `127.0.0.1:5000/delivery/app@${fakeDigest("2")}`;

    beforeEach(() => {
        engine = new FakeEngine();
        req.cache[dockerodePath] = { id: dockerodePath, filename: dockerodePath, loaded: true, exports: engine.dockerode() } as unknown as NodeJS.Module;
        vi.stubGlobal("fetch", async () => new Response("ok", { status: 200 }));
    });

    afterEach(() => {
        delete req.cache[dockerodePath];
        vi.unstubAllGlobals();
    });

    it("read adopts the slot's live container that the state lost (an interrupted swap)", async () => {
        engine.add("app-dev-r-9-live-000000", theirs("live"), { hostPort: "9000" });
        const adopted = engine.add("app-dev-r-2-live-aaaaaa", ours("r-2"), { image: image2 });
        const result = await dockerContainerProvider.read!("app-dev", { ...outs, containerId: "id-gone" });
        expect(result.props).toMatchObject({ containerId: adopted, containerName: "app-dev-r-2-live-aaaaaa", releaseId: "r-2", image: image2 });
        // The recorded container, when it runs, is the one reported.
        const recorded = engine.add("app-dev-r-1-live-bbbbbb", ours("r-1"), { hostPort: "8001" });
        expect((await dockerContainerProvider.read!("app-dev", { ...outs, containerId: recorded })).props).toMatchObject({
            containerId: recorded,
            releaseId: "r-1",
        });
        // Only another stack's same-named slot left running: the slot is gone, nothing adopted.
        engine.containers.delete(adopted);
        engine.containers.delete(recorded);
        expect((await dockerContainerProvider.read!("app-dev", { ...outs, containerId: "id-gone" })).props).toMatchObject({ containerId: "" });
    });

    it("deploy takes a live container of the same release on the published port as done", async () => {
        const live = engine.add("app-dev-r-1-live-cccccc", ours("r-1"));
        const stray = engine.add("app-dev-r-1-candidate-dddddd", ours("r-1", "candidate"), { hostPort: "" });
        const created = await dockerContainerProvider.create!(inputs);
        expect(created.outs).toMatchObject({ containerId: live, containerName: "app-dev-r-1-live-cccccc" });
        expect(engine.created).toEqual([]);
        expect([...engine.containers.keys()]).toEqual([live]);
        expect(engine.containers.has(stray)).toBe(false);
        // The same for an update whose recorded container is gone (refresh not run).
        const updated = await dockerContainerProvider.update!("app-dev", { ...outs, containerId: "id-gone", releaseId: "r-0" }, inputs);
        expect(updated.outs).toMatchObject({ containerId: live });
        expect(engine.created).toEqual([]);
    });

    it("deploy replaces an unrecorded live container of another release (health-gated), leaving one", async () => {
        engine.add("app-dev-r-1-live-eeeeee", ours("r-1"));
        const theirsId = engine.add("app-dev-r-9-live-000000", theirs("live"), { hostPort: "9000" });
        const next = { ...inputs, image: image2, releaseId: "r-2" };
        const updated = await dockerContainerProvider.update!("app-dev", { ...outs, containerId: "" }, next);
        expect(engine.created.map((n) => n.replace(/-[0-9a-f]{6}$/, ""))).toEqual(["app-dev-r-2-candidate", "app-dev-r-2-live"]);
        const mine = [...engine.containers.values()].filter((c) => c.Config.Labels["app.kubernetes.io/instance"] === "app-dev");
        expect(mine.map((c) => [c.Id, c.State.Running, c.Config.Labels["delivery.release"]])).toEqual([[updated.outs!.containerId, true, "r-2"]]);
        expect(engine.containers.get(theirsId)?.State.Running).toBe(true);
    });

    it("masks the secret values in the log lines of a release that never becomes healthy", async () => {
        vi.stubGlobal("fetch", async () => new Response("down", { status: 503 }));
        engine.logText = "starting with S=s3cr3t-value\nlistening\n";
        const failing = { ...inputs, secretEnv: { S: "s3cr3t-value" }, healthTimeoutSeconds: 1 };
        // Its health polls (500 ms apart) run out the 1 s timeout on the fake clock: the engine and fetch are in memory.
        const error = await onFakeClock(() =>
            dockerContainerProvider.create!(failing).then(
                () => undefined,
                (e: Error) => e.message,
            ),
        );
        expect(error).toMatch(/did not become healthy[\s\S]*last log lines:[\s\S]*listening/);
        expect(error).not.toContain("s3cr3t-value");
    });

    it("delete removes every container of the slot this stack owns, and no other stack's", async () => {
        const recorded = engine.add("app-dev-r-1-live-ffffff", ours("r-1"), { running: false });
        engine.add("app-dev-r-2-live-gggggg", ours("r-2"));
        engine.add("app-dev-r-2-candidate-hhhhhh", ours("r-2", "candidate"), { hostPort: "" });
        const keepLive = engine.add("app-dev-r-9-live-000000", theirs("live"), { hostPort: "9000" });
        const keepCandidate = engine.add("app-dev-r-9-candidate-000000", theirs("candidate"), { hostPort: "" });
        await dockerContainerProvider.delete!("app-dev", { ...outs, containerId: recorded });
        expect([...engine.containers.keys()].sort()).toEqual([keepCandidate, keepLive].sort());
    });
});
