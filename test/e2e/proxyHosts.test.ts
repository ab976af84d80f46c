import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { httpGetVia, proxyName } from "../../components/targets/proxy";
import { freePort, localConfig, outputValue, useStacks } from "../support/workspace";

/** Whether Docker knows a container or network of this name. */
function exists(kind: "container" | "network", name: string): boolean {
    try {
        execFileSync("docker", [kind, "inspect", name], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/**
 * Two stacks publish on one port: one proxy serves both, routed by host name (delivery:proxyHost).
 * Destroying one leaves the other serving; destroying the last removes the proxy and its network.
 */
describe("two apps behind one proxy on the Docker host", async () => {
    const port = await freePort();
    const PROXY = proxyName("127.0.0.1", port);
    const url = `http://127.0.0.1:${port}/`;
    const fx = useStacks((project) => ({
        a: ["e2e-host-a", localConfig(project, port, { proxyHost: "a.localhost", env: '{"GREETING":"from-a"}', drainSeconds: "0", watchSeconds: "0" })],
        b: ["e2e-host-b", localConfig(project, port, { proxyHost: "b.localhost", env: '{"GREETING":"from-b"}', drainSeconds: "0", watchSeconds: "0" })],
    }));
    const greeting = async (host: string) => {
        const res = await httpGetVia(url, host, 5000);
        return res.status === 200 ? (JSON.parse(res.body) as { greeting: string }).greeting : res.status;
    };

    it("routes each host to its app, and a host no app has to a 404", async () => {
        const a = await fx.a.up();
        const b = await fx.b.up();
        expect(outputValue<string>(a.outputs, "url")).toBe(`http://a.localhost:${port}`);
        expect(outputValue<string>(b.outputs, "url")).toBe(`http://b.localhost:${port}`);
        expect(await greeting("a.localhost")).toBe("from-a");
        expect(await greeting("b.localhost")).toBe("from-b");
        expect(await greeting("c.localhost")).toBe(404);
        // One proxy: the second stack joined the first one's.
        expect(
            execFileSync("docker", ["ps", "--filter", `label=delivery.proxy=${PROXY}`, "--filter", "label=delivery.role=proxy", "-q"])
                .toString()
                .trim()
                .split("\n"),
        ).toHaveLength(1);
    });

    it("answers its admin API only through the port published on the host's loopback, never to an app container on its network", () => {
        // An app container on the proxy's network asks the proxy's admin port directly, as a
        // compromised app would to point another stack's host at itself.
        const image = execFileSync("docker", ["inspect", "-f", "{{.Config.Image}}", PROXY]).toString().trim();
        const asked = execFileSync(
            "docker",
            [
                "run",
                "--rm",
                "--network",
                PROXY,
                "--entrypoint",
                "bash",
                image,
                "-c",
                `exec 3<>/dev/tcp/${PROXY}/2019 && printf 'GET /config/ HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && head -c 200 <&3 || echo refused`,
            ],
            { timeout: 60_000 },
        ).toString();
        expect(asked).not.toMatch(/^HTTP\/1\.[01] 200/);
        expect(asked).not.toContain("slot-");
    });

    it("keeps the other app serving when one is destroyed, and removes the proxy with the last", async () => {
        await fx.a.destroy();
        expect(await greeting("b.localhost")).toBe("from-b");
        expect(await greeting("a.localhost")).toBe(404);
        expect(exists("container", PROXY)).toBe(true);

        await fx.b.destroy();
        expect(exists("container", PROXY)).toBe(false);
        expect(exists("network", PROXY)).toBe(false);
    });
});
