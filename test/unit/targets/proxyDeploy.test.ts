import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DockerContainerInputs, dockerContainerProvider } from "../../../components/targets/dockerContainer";
import { standardLabels } from "../../../components/targets/labels";
import { DEFAULT_PROXY_IMAGE, PROXY_REVISION, caddyRoutes, proxyName } from "../../../components/targets/proxy";
import { fakeDigest, onFakeClock } from "../harness";

/** A loopback server answering every request with `status`, and Caddy's admin API stand-in (GET routes with an ETag trailer, PATCH). */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { server, port: (server.address() as AddressInfo).port };
}

/**
 * The proxy swap's "done" path: a run that was killed after its switch (inside the watch window,
 * or in a revert that could not reach the proxy) leaves its release routed, never watched. The
 * next `up` of the same release must not take it as done unless it answers its health path.
 */
describe("DockerContainer behind the proxy: a routed release of the same inputs", () => {
    const req = createRequire(__filename);
    const dockerodePath = req.resolve("dockerode");
    const labels = standardLabels("app", "dev", "sha-1");
    const image = `127.0.0.1:5000/delivery/app@${fakeDigest("1")}`;
    const appName = "app-dev-r-1-live-aaaaaa";
    let health = 200;
    let servers: Server[] = [];
    let inputs: DockerContainerInputs;

    beforeEach(async () => {
        const site = await listen((_q, res) => res.writeHead(health).end(health === 200 ? "ok" : "down"));
        let routes: unknown[] = caddyRoutes([{ id: "slot-app-dev", hosts: [], dial: `${appName}:8080` }]);
        const admin = await listen((q, res) => {
            let body = "";
            q.on("data", (c) => (body += c));
            q.on("end", () => {
                if (q.method === "GET") {
                    res.writeHead(200, { "content-type": "application/json", trailer: "ETag" });
                    res.write(JSON.stringify(routes));
                    res.addTrailers({ ETag: '"routes 1"' });
                    res.end();
                } else {
                    routes = JSON.parse(body);
                    res.writeHead(200).end();
                }
            });
        });
        servers = [site.server, admin.server];
        const proxy = proxyName("127.0.0.1", site.port);
        const containers: Record<string, Record<string, unknown>> = {
            [proxy]: {
                Id: "proxy",
                Name: `/${proxy}`,
                Config: { Image: DEFAULT_PROXY_IMAGE, Labels: { "delivery.proxy-revision": PROXY_REVISION } },
                State: { Running: true },
                NetworkSettings: { Ports: { "2019/tcp": [{ HostIp: "127.0.0.1", HostPort: String(admin.port) }] } },
            },
            app1: {
                Id: "app1",
                Name: `/${appName}`,
                Created: 1,
                Config: {
                    Image: image,
                    Labels: {
                        ...labels,
                        "delivery.slot": "app-dev",
                        "delivery.release": "r-1",
                        "delivery.role": "live",
                        "delivery.proxy": proxy,
                        "delivery.port": "8080",
                    },
                },
                State: { Running: true, ExitCode: 0 },
                HostConfig: { PortBindings: {} },
                NetworkSettings: { Ports: {} },
            },
        };
        const find = (key: string) => Object.values(containers).find((c) => c.Id === key || c.Name === `/${key}`);
        class FakeDocker {
            modem = { followProgress: (_s: unknown, done: (e: null, events: unknown[]) => void) => done(null, []) };
            async pull() {
                return {};
            }
            async listNetworks() {
                return [{ Name: proxy }];
            }
            getNetwork() {
                return { inspect: async () => ({ IPAM: { Config: [{ Gateway: "172.18.0.1" }] } }) };
            }
            async listContainers(opts: { filters?: { label?: string[] } }) {
                const wanted = opts.filters?.label ?? [];
                return Object.values(containers)
                    .filter((c) => {
                        const l = (c.Config as { Labels: Record<string, string> }).Labels;
                        return wanted.every((w) => l[w.slice(0, w.indexOf("="))] === w.slice(w.indexOf("=") + 1));
                    })
                    .map((c) => ({ Id: c.Id, Names: [c.Name], Created: c.Created, Labels: (c.Config as { Labels: Record<string, string> }).Labels }));
            }
            getContainer(key: string) {
                return {
                    inspect: async () => find(key) ?? Promise.reject(Object.assign(new Error("no such container"), { statusCode: 404 })),
                    logs: async () => Buffer.from("boot\n"),
                    remove: async () => {
                        const c = find(key);
                        if (c) delete containers[Object.keys(containers).find((k) => containers[k] === c)!];
                    },
                };
            }
            async createContainer() {
                throw new Error("a new container was started");
            }
        }
        req.cache[dockerodePath] = { id: dockerodePath, filename: dockerodePath, loaded: true, exports: FakeDocker } as unknown as NodeJS.Module;
        inputs = {
            name: "app-dev",
            dockerHost: "unix:///var/run/docker.sock",
            image,
            releaseId: "r-1",
            env: {},
            secretEnv: {},
            containerPort: 8080,
            hostPort: site.port,
            bindAddress: "127.0.0.1",
            healthPath: "/healthz",
            healthTimeoutSeconds: 1,
            labels,
            swap: "proxy",
            drainSeconds: 0,
            watchSeconds: 0,
        };
    });

    afterEach(() => {
        delete req.cache[dockerodePath];
        for (const s of servers) s.close();
        health = 200;
    });

    it("is taken as done when it answers its health path through the proxy", async () => {
        const created = await dockerContainerProvider.create!(inputs);
        expect(created.outs).toMatchObject({ containerId: "app1", containerName: appName });
    });

    it("is not taken as done when it does not answer (killed inside its watch window, never watched): up fails saying so", async () => {
        health = 503;
        // Its health polls through the proxy (250 ms apart, each answered before the next) run out the 1 s timeout on the fake clock.
        await expect(onFakeClock(() => dockerContainerProvider.create!(inputs))).rejects.toThrow(
            /release r-1 .* is routed but does not answer its health path: no healthy answer within 1s \(GET \/healthz answered 503\)/,
        );
    });
});
