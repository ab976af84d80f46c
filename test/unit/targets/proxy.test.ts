import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
    ProxyHandle,
    ProxyRoute,
    caddyRoutes,
    candidateHost,
    initialProxyConfig,
    parseRoutes,
    proxyName,
    readRoutesTagged,
    routeConflict,
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
        expect(parseRoutes(initialProxyConfig().apps)).toEqual([]);
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

    it("starts with its admin API reachable through the published loopback port and no app route", () => {
        const config = initialProxyConfig() as { admin: { listen: string }; apps: { http: { servers: { delivery: { routes: unknown[] } } } } };
        expect(config.admin.listen).toBe("0.0.0.0:2019");
        expect(config.apps.http.servers.delivery.routes.map((r) => (r as { "@id": string })["@id"])).toEqual(["delivery-fallback"]);
    });
});

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
});
