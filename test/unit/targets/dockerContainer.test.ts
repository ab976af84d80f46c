import { describe, expect, it } from "vitest";
import { DockerContainerOutputs, dockerContainerProvider } from "../../../components/targets/dockerContainer";
import { fakeDigest } from "../harness";

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
};

describe("DockerContainer provider", () => {
    it("has no changes for the same release and config", async () => {
        const { containerId: _c, containerName: _n, ...inputs } = base;
        expect(await dockerContainerProvider.diff!("app-dev", base, inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    });

    it("swaps in place (health-gated update) for a new digest or config", async () => {
        for (const change of [{ image: `127.0.0.1:5000/delivery/app@${fakeDigest("2")}` }, { env: { A: "2" } }, { secretEnv: { S: "t" } }, { hostPort: 8001 }]) {
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

    it("refuses an image that is not pinned by digest", async () => {
        const result = await dockerContainerProvider.check!({}, { ...base, image: "127.0.0.1:5000/delivery/app:main" });
        expect(result.failures).toEqual([
            { property: "image", reason: '"127.0.0.1:5000/delivery/app:main" is not pinned by digest; the Docker host runs only repo@sha256:... images' },
        ]);
        expect((await dockerContainerProvider.check!({}, base)).failures).toEqual([]);
    });
});
