import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { dockerStreamFrame as frame } from "../harness";
import {
    ProxyHandle,
    PROXY_REVISION,
    ProxyRoute,
    caddyRoutes,
    candidateHost,
    ensureProxy,
    initialProxyConfig,
    logTail,
    parseRoutes,
    proxyName,
    readRoutesTagged,
    routeConflict,
    routesFromLabels,
    routesWritten,
    updateRoutes,
    withRoute,
    withoutRoute,
} from "../../../components/targets/proxy";

const a: ProxyRoute = { id: "slot-a-dev", hosts: ["a.localhost"], dial: "a-dev-r-1-live-1:8080" };
const b: ProxyRoute = { id: "slot-b-dev", hosts: [], dial: "b-dev-r-1-live-1:8080" };
const cand: ProxyRoute = { id: "candidate-b-dev", hosts: [candidateHost("b-dev")], dial: "b-dev-r-2-live-2:8080" };

describe("the proxy's routes (Caddy JSON)", () => {
    it("orders candidates, host routes, the app taking every other host, then the 404", () => {
        const ids = caddyRoutes([b, a, cand]).map((r) => r["@id"]);
        // Caddy matches in order: the catch-all app before a host route would take its requests.
        expect(ids).toEqual(["candidate-b-dev", "slot-a-dev", "slot-b-dev", "delivery-fallback"]);
    });

    it("reads back what it writes, without the 404", () => {
        expect(parseRoutes(caddyRoutes([a, b]))).toEqual([a, b]);
        expect(parseRoutes(initialRoutes())).toEqual([]);
        expect(parseRoutes(null)).toEqual([]);
    });

    it("replaces a slot's route in place and removes routes by id", () => {
        const moved = { ...b, dial: "b-dev-r-2-live-2:8080" };
        expect(withRoute([a, b], moved)).toEqual([a, moved]);
        expect(withoutRoute([a, b, cand], "candidate-b-dev", "slot-a-dev")).toEqual([b]);
    });

    it("refuses a second app for the same host or for every host, never a candidate or the same slot", () => {
        expect(routeConflict([a, b], { id: "slot-c-dev", hosts: [], dial: "c:1" })).toEqual(b);
        expect(routeConflict([a, b], { id: "slot-c-dev", hosts: ["a.localhost"], dial: "c:1" })).toEqual(a);
        expect(routeConflict([a, b], { id: "slot-c-dev", hosts: ["c.localhost"], dial: "c:1" })).toBeUndefined();
        expect(routeConflict([a, b], { ...b, dial: "b2:1" })).toBeUndefined();
        expect(routeConflict([a, cand], { ...cand, id: "candidate-x" })).toBeUndefined();
    });

    it("names one proxy per published address, and candidate hosts no user sends", () => {
        expect(proxyName("127.0.0.1", 8000)).toBe("delivery-proxy-127_0_0_1-8000");
        expect(proxyName("::1", 8000)).toBe("delivery-proxy-__1-8000");
        // .invalid is reserved (RFC 2606): no DNS name a user's request carries.
        expect(candidateHost("e2e-1.dev_x")).toBe("e2e-1-dev-x.candidate.delivery.invalid");
    });

    it("starts with no app route, marked as never written", () => {
        expect(initialRoutes().map((r) => (r as { "@id": string })["@id"])).toEqual(["delivery-unset"]);
        expect(routesWritten(initialRoutes())).toBe(false);
        expect(routesWritten(caddyRoutes([]))).toBe(true);
    });

    it("keeps Caddy's admin API off every network address: only the gate on the admin port, which passes the network's gateway (the published loopback port) alone", () => {
        type Server = { listen: string[]; routes: Array<{ match?: Array<{ remote_ip?: { ranges: string[] } }>; handle: Array<Record<string, unknown>> }> };
        const config = initialProxyConfig(["172.18.0.1", "fd00::1"]) as { admin: { listen: string }; apps: { http: { servers: Record<string, Server> } } };
        // An app container on the proxy's network reaches every TCP address of the proxy: not Caddy's admin.
        expect(config.admin.listen).toMatch(/^unix\//);
        const gate = config.apps.http.servers["delivery-admin"];
        expect(gate.listen).toEqual([":2019"]);
        expect(gate.routes[0].match).toEqual([{ remote_ip: { ranges: ["172.18.0.1/32", "fd00::1/128"] } }]);
        expect(gate.routes[0].handle[0]).toMatchObject({ handler: "reverse_proxy", upstreams: [{ dial: config.admin.listen }] });
        expect(gate.routes[1]).toEqual({ handle: [expect.objectContaining({ handler: "static_response", status_code: 403 })], terminal: true });
        expect(() => initialProxyConfig([])).toThrow(/no gateway/);
    });
});

function initialRoutes(): unknown[] {
    return (initialProxyConfig(["172.18.0.1"]) as { apps: { http: { servers: { delivery: { routes: unknown[] } } } } }).apps.http.servers.delivery.routes;
}

/**
 * A stand-in for Caddy's admin API on loopback: GET sends the routes with an ETag trailer (as
 * Caddy 2.6 does), PATCH honours If-Match with a 412; `interfere` changes the routes once
 * between a reader's GET and its PATCH, as another stack would.
 */
function fakeAdmin(start: unknown[]) {
    let routes = start;
    let version = 0;
    let interfere: (() => void) | undefined;
    const server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            const tag = `"/config/apps/http/servers/delivery/routes ${version}"`;
            if (req.method === "GET") {
                res.writeHead(200, { "content-type": "application/json", trailer: "ETag" });
                res.write(JSON.stringify(routes));
                res.addTrailers({ ETag: tag });
                res.end();
                interfere?.();
                interfere = undefined;
                return;
            }
            if (req.headers["if-match"] !== undefined && req.headers["if-match"] !== tag) {
                res.writeHead(412).end("precondition failed");
                return;
            }
            routes = JSON.parse(body);
            version++;
            res.writeHead(200).end();
        });
    });
    return {
        server,
        routes: () => routes,
        interfereOnce: (f: (r: unknown[]) => unknown[]) => {
            interfere = () => {
                routes = f(routes);
                version++;
            };
        },
    };
}

describe("updateRoutes against the admin API", () => {
    it("makes its change again on the routes another stack wrote in between (If-Match, 412), undoing nothing", async () => {
        const admin = fakeAdmin(caddyRoutes([a]));
        await new Promise<void>((r) => admin.server.listen(0, "127.0.0.1", r));
        const { port } = admin.server.address() as AddressInfo;
        const proxy: ProxyHandle = { name: "p", containerId: "c", adminUrl: `http://127.0.0.1:${port}`, url: "http://127.0.0.1:1" };
        try {
            // Between this stack's read and its write, another stack adds its route b.
            admin.interfereOnce(() => caddyRoutes([a, b]));
            await updateRoutes(proxy, (now) => withRoute(now, cand));
            expect(parseRoutes(admin.routes()).map((r) => r.id)).toEqual(["candidate-b-dev", "slot-a-dev", "slot-b-dev"]);
            expect((await readRoutesTagged(proxy)).etag).toBe('"/config/apps/http/servers/delivery/routes 2"');
        } finally {
            admin.server.close();
        }
    });

    it("refuses a host another slot took between this stack's read and its write, on the routes it read again (two stacks claiming one host at once)", async () => {
        const admin = fakeAdmin(caddyRoutes([a]));
        await new Promise<void>((r) => admin.server.listen(0, "127.0.0.1", r));
        const { port } = admin.server.address() as AddressInfo;
        const proxy: ProxyHandle = { name: "p", containerId: "c", adminUrl: `http://127.0.0.1:${port}`, url: "http://127.0.0.1:1" };
        try {
            // This stack (b) switches to take every other host; meanwhile c took every other host.
            const c: ProxyRoute = { id: "slot-c-dev", hosts: [], dial: "c-dev-r-1-live-1:8080" };
            admin.interfereOnce(() => caddyRoutes([a, c]));
            await expect(updateRoutes(proxy, (now) => withRoute(now, b))).rejects.toThrow(
                "the proxy already routes every other host to c-dev; give this app its own delivery:proxyHost",
            );
            expect(parseRoutes(admin.routes())).toEqual([a, c]);
        } finally {
            admin.server.close();
        }
    });
});

/** A Docker engine with one running proxy of this revision whose admin API is `adminPort`, and `apps` on its network. */
function fakeDocker(adminPort: number, image: string, apps: unknown[]) {
    return {
        listNetworks: async () => [{ Name: "delivery-proxy-127_0_0_1-8000" }],
        getNetwork: () => ({ inspect: async () => ({ IPAM: { Config: [{ Gateway: "172.18.0.1" }] } }) }),
        getContainer: () => ({
            inspect: async () => ({
                Id: "proxy",
                Config: { Image: image, Labels: { "delivery.proxy-revision": PROXY_REVISION } },
                State: { Running: true },
                NetworkSettings: { Ports: { "2019/tcp": [{ HostIp: "127.0.0.1", HostPort: String(adminPort) }] } },
            }),
        }),
        listContainers: async () => apps,
    } as unknown as import("dockerode");
}

describe("ensureProxy on a proxy that runs", () => {
    const app = { Names: ["/a-dev-r-1-live-1"], Created: 1, Labels: { "delivery.slot": "a-dev", "delivery.host": "a.localhost", "delivery.port": "8080" } };

    it("writes the routes from the labels when they were never written (the run that made the proxy was killed before it wrote them)", async () => {
        const admin = fakeAdmin(initialRoutes());
        await new Promise<void>((r) => admin.server.listen(0, "127.0.0.1", r));
        try {
            const docker = fakeDocker((admin.server.address() as AddressInfo).port, "proxy:1", [app]);
            await ensureProxy(docker, { image: "proxy:1", bindAddress: "127.0.0.1", hostPort: 8000 });
            expect(parseRoutes(admin.routes())).toEqual([a]);
            expect(routesWritten(admin.routes())).toBe(true);
        } finally {
            admin.server.close();
        }
    });

    it("leaves written routes alone, also when a stack making the same proxy wrote them between this one's read and write", async () => {
        const admin = fakeAdmin(initialRoutes());
        await new Promise<void>((r) => admin.server.listen(0, "127.0.0.1", r));
        try {
            const docker = fakeDocker((admin.server.address() as AddressInfo).port, "proxy:1", [app]);
            // The other stack wrote the labels' routes and then its candidate: not undone.
            admin.interfereOnce(() => caddyRoutes([a, cand]));
            await ensureProxy(docker, { image: "proxy:1", bindAddress: "127.0.0.1", hostPort: 8000 });
            expect(parseRoutes(admin.routes()).map((r) => r.id)).toEqual(["candidate-b-dev", "slot-a-dev"]);
            await ensureProxy(docker, { image: "proxy:1", bindAddress: "127.0.0.1", hostPort: 8000 });
            expect(parseRoutes(admin.routes()).map((r) => r.id)).toEqual(["candidate-b-dev", "slot-a-dev"]);
        } finally {
            admin.server.close();
        }
    });
});

describe("the proxy image's pull", () => {
    /** The options of the pull of a proxy that is not there yet (the pull is where this stops). */
    async function pullOptions(image: string, auth?: { serveraddress: string; username: string; password: string }): Promise<unknown> {
        let seen: unknown;
        const docker = {
            listNetworks: async () => [{ Name: "delivery-proxy-127_0_0_1-8000" }],
            getNetwork: () => ({ inspect: async () => ({ IPAM: { Config: [{ Gateway: "172.18.0.1" }] } }) }),
            getContainer: () => ({ inspect: async () => Promise.reject(Object.assign(new Error("no such container"), { statusCode: 404 })) }),
            getImage: () => ({ inspect: async () => Promise.reject(Object.assign(new Error("no such image"), { statusCode: 404 })) }),
            pull: async (_image: string, opts: unknown) => {
                seen = opts;
                throw new Error("pulled");
            },
        } as unknown as import("dockerode");
        await expect(ensureProxy(docker, { image, bindAddress: "127.0.0.1", hostPort: 8000, registryAuth: auth })).rejects.toThrow("pulled");
        return seen;
    }
    const auth = { serveraddress: "127.0.0.1:5000", username: "ci", password: "app-registry-password" };

    it("sends the app registry's credentials only to that registry, never to another image's (an official caddy:2 is Docker Hub's)", async () => {
        expect(await pullOptions("caddy:2", auth)).toEqual({});
        expect(await pullOptions("ghcr.io/acme/caddy:2", auth)).toEqual({});
        expect(await pullOptions("127.0.0.1:5000/delivery/proxy:caddy-2.6.2-5", auth)).toEqual({ authconfig: auth });
        expect(await pullOptions("127.0.0.1:5000/delivery/proxy:caddy-2.6.2-5")).toEqual({});
    });
});

describe("routes rebuilt from the labels", () => {
    it("route each slot to its oldest running container, never to a new release's one that has not passed its health gate", async () => {
        const live = (name: string, created: number, slot = "a-dev") => ({
            Names: [`/${name}`],
            Created: created,
            Labels: { "delivery.slot": slot, "delivery.port": "8080", ...(slot === "a-dev" ? { "delivery.host": "a.localhost" } : {}) },
        });
        // The run that started r-2 was killed inside r-2's health gate: r-1 passed its gate and serves.
        const docker = {
            listContainers: async () => [live("a-dev-r-2-live-2", 200), live("a-dev-r-1-live-1", 100), live("b-dev-r-1-live-1", 150, "b-dev")],
        } as unknown as import("dockerode");
        expect(await routesFromLabels(docker, "delivery-proxy-127_0_0_1-8000")).toEqual([a, b]);
    });
});

describe("a container's last log lines", () => {
    it("come without the Engine API's stream headers (a frame's length byte is often printable: 0x3d is '=')", async () => {
        const line = `172.19.0.2 - - [01/Dec/2026 16:06:05] "GET / HTTP/1.1" 200 -${" ".repeat(61 - 57)}\n`;
        const docker = {
            getContainer: () => ({ logs: async () => Buffer.concat([frame(1, line), frame(2, '{"event": "starting"}\n')]) }),
        } as unknown as import("dockerode");
        expect(await logTail(docker, "x")).toBe(`${line}{"event": "starting"}\n`);
    });
});
