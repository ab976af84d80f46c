/**
 * The Docker host's reverse proxy: one Caddy container per published address (bind address +
 * host port) that owns the port, shared by every stack and app that publishes there, each routed
 * by host name (Kamal's model). The app containers run on the proxy's private Docker network with
 * no published port.
 *
 * Why Caddy: its admin API replaces the configuration atomically and gracefully (a new config is
 * built and validated before it takes over the listener; requests in flight finish on the old
 * one), so a switch never refuses or drops a request; it persists the last configuration
 * (`caddy run --resume`), so a proxy restart keeps routing; and it is a static Go binary Debian
 * packages, so its image is made here without a pull (scripts/services.d/proxy.sh).
 *
 * The routes are the proxy's own state (the admin API); when the proxy is made anew they are
 * rebuilt from the labels of the app containers on its network. Every change writes the whole
 * route list in one admin request (If-Match the list it read: another stack's change in between
 * is not undone), in a fixed order: health-gate candidates, host routes, the one app that takes
 * every other host, then a 404 for hosts no app has.
 *
 * Like dockerContainer.ts, these functions are captured by the dynamic provider's serialization:
 * they require their modules inside and use nothing but each other and oneOffContainer's demuxLogs.
 */

import { demuxLogs } from "./oneOffContainer";

/** The proxy image made by `scripts/services start proxy` (Caddy 2.6.2 from Debian's package). */
export const DEFAULT_PROXY_IMAGE = "127.0.0.1:5000/delivery/proxy:caddy-2.6.2-5";

/** Port Caddy serves on inside its container, and its admin port (published on loopback only). */
const PROXY_HTTP_PORT = 80;
const PROXY_ADMIN_PORT = 2019;
const SERVER = "delivery";
const FALLBACK_ID = "delivery-fallback";
/** The route a proxy starts with: its routes were never written (every write ends with the fallback). */
const UNSET_ID = "delivery-unset";
/** Caddy's own admin API: a unix socket inside the proxy's container, reached only through the admin gate. */
const ADMIN_SOCKET = "/tmp/delivery-admin.sock";
const ADMIN_ORIGIN = "delivery-admin";
/** Bumped when the proxy's container or initial config changes in a way a running proxy must take: ensureProxy makes it anew. */
export const PROXY_REVISION = "2";

/** One route of the proxy: requests for `hosts` (all hosts when empty) go to `dial` (`container:port`). */
export interface ProxyRoute {
    readonly id: string;
    readonly hosts: readonly string[];
    readonly dial: string;
}

/** The proxy container's (and its network's) name for a published address. */
export function proxyName(bindAddress: string, hostPort: number): string {
    return `delivery-proxy-${bindAddress.replace(/[^a-zA-Z0-9]/g, "_")}-${hostPort}`;
}

/** The route id of a slot, and of its health-gate candidate. */
export function slotRouteId(slot: string): string {
    return `slot-${slot}`;
}
export function candidateRouteId(slot: string): string {
    return `candidate-${slot}`;
}

/** The Host header only the health gate sends: a candidate never receives a user's request. */
export function candidateHost(slot: string): string {
    return `${slot.toLowerCase().replace(/[^a-z0-9-]/g, "-")}.candidate.delivery.invalid`;
}

/** Caddy's JSON for one route. */
export function caddyRoute(r: ProxyRoute): Record<string, unknown> {
    return {
        "@id": r.id,
        ...(r.hosts.length > 0 ? { match: [{ host: [...r.hosts] }] } : {}),
        handle: [{ handler: "reverse_proxy", upstreams: [{ dial: r.dial }] }],
        terminal: true,
    };
}

/** The route list the proxy reads, in the order it must match: candidates, host routes, the catch-all app, the 404. */
export function caddyRoutes(routes: readonly ProxyRoute[]): Record<string, unknown>[] {
    const rank = (r: ProxyRoute) => (r.id.startsWith("candidate-") ? 0 : r.hosts.length > 0 ? 1 : 2);
    const sorted = [...routes].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
    return [
        ...sorted.map(caddyRoute),
        {
            "@id": FALLBACK_ID,
            handle: [{ handler: "static_response", status_code: 404, body: "no app is routed for this host\n" }],
            terminal: true,
        },
    ];
}

/** Reads Caddy's route list back into routes (the 404 and foreign routes are left out). */
export function parseRoutes(json: unknown): ProxyRoute[] {
    const found: ProxyRoute[] = [];
    for (const r of Array.isArray(json) ? json : []) {
        const id = r?.["@id"];
        const dial = r?.handle?.[0]?.upstreams?.[0]?.dial;
        if (typeof id === "string" && id !== FALLBACK_ID && typeof dial === "string") {
            found.push({ id, hosts: (r.match?.[0]?.host as string[] | undefined) ?? [], dial });
        }
    }
    return found;
}

/** Whether a route list was ever written by updateRoutes (it ends with the 404): a new proxy's is not, until its routes come from the labels. */
export function routesWritten(json: unknown): boolean {
    return Array.isArray(json) && json.some((r) => r?.["@id"] === FALLBACK_ID);
}

/**
 * `routes` with `route` in place of the one of the same id (added when there is none), or without
 * `removeId`. A route another slot's takes the requests of is refused here, on the very list
 * updateRoutes writes over (a check on an earlier read would let two stacks claim one host at once).
 */
export function withRoute(routes: readonly ProxyRoute[], route: ProxyRoute): ProxyRoute[] {
    const taken = routeConflict(routes, route);
    if (taken) {
        const what = taken.hosts.length ? `host ${taken.hosts.join(", ")}` : "every other host";
        throw new Error(
            `the proxy already routes ${what} to ${taken.id.replace(/^slot-/, "")}; give this app its own delivery:proxyHost (or another delivery:hostPort)`,
        );
    }
    return [...routes.filter((r) => r.id !== route.id), route];
}
export function withoutRoute(routes: readonly ProxyRoute[], ...ids: string[]): ProxyRoute[] {
    return routes.filter((r) => !ids.includes(r.id));
}

/**
 * A route that would take another slot's requests: the same host, or a second app taking every
 * host. Undefined when `route` fits.
 */
export function routeConflict(routes: readonly ProxyRoute[], route: ProxyRoute): ProxyRoute | undefined {
    const key = (r: ProxyRoute) => [...r.hosts].sort().join(",");
    return routes.find((r) => r.id !== route.id && !r.id.startsWith("candidate-") && !route.id.startsWith("candidate-") && key(r) === key(route));
}

/**
 * The configuration a new proxy starts with. Caddy's admin API listens on a unix socket inside
 * the container; the admin port (published on the host's loopback) is a gate that passes only
 * connections from `gateways`, the proxy network's gateway addresses, which is where Docker's
 * published port delivers the host's connections from. An app container on the network asks from
 * its own address and gets a 403: it cannot point another app's host at itself. The routes start
 * as one 503 marked unset, so the first stack that finds this proxy writes the routes from the
 * labels (ensureProxy), even when the run that made it was killed before it could.
 */
export function initialProxyConfig(gateways: readonly string[]): Record<string, unknown> {
    if (gateways.length === 0) {
        throw new Error("the proxy's network has no gateway: its admin gate would pass nothing");
    }
    return {
        admin: { listen: `unix/${ADMIN_SOCKET}`, origins: [ADMIN_ORIGIN] },
        apps: {
            http: {
                servers: {
                    [SERVER]: {
                        listen: [`:${PROXY_HTTP_PORT}`],
                        automatic_https: { disable: true },
                        routes: [
                            { "@id": UNSET_ID, handle: [{ handler: "static_response", status_code: 503, body: "the proxy is starting\n" }], terminal: true },
                        ],
                    },
                    [`${SERVER}-admin`]: {
                        listen: [`:${PROXY_ADMIN_PORT}`],
                        automatic_https: { disable: true },
                        routes: [
                            {
                                match: [{ remote_ip: { ranges: gateways.map((g) => (g.includes(":") ? `${g}/128` : `${g}/32`)) } }],
                                handle: [
                                    {
                                        handler: "reverse_proxy",
                                        upstreams: [{ dial: `unix/${ADMIN_SOCKET}` }],
                                        headers: { request: { set: { Host: [ADMIN_ORIGIN] } } },
                                    },
                                ],
                                terminal: true,
                            },
                            { handle: [{ handler: "static_response", status_code: 403, body: "admin: host only\n" }], terminal: true },
                        ],
                    },
                },
            },
        },
    };
}

/** GET `url` with another Host header (fetch cannot send one): status and body, or the error. */
export async function httpGetVia(url: string, host: string | undefined, timeoutMs: number): Promise<{ status?: number; body: string; error?: string }> {
    const http = require("node:http") as typeof import("node:http");
    return new Promise((resolve) => {
        const req = http.get(url, { headers: host ? { host } : {}, timeout: timeoutMs, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", (e) => resolve({ body: "", error: e.message }));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", (e) => resolve({ body: "", error: e.message }));
    });
}

/** Where a proxy is: its container, its admin API's URL on the host, and its public URL. */
export interface ProxyHandle {
    readonly name: string;
    readonly containerId: string;
    readonly adminUrl: string;
    readonly url: string;
}

export interface ProxySpec {
    readonly image: string;
    readonly bindAddress: string;
    readonly hostPort: number;
    readonly registryAuth?: { serveraddress: string; username: string; password: string };
}

/** The proxy's routes for apps and candidates, whether they were ever written, and the ETag Caddy sends with them (as an HTTP trailer, which fetch cannot read). */
export async function readRoutesTagged(proxy: ProxyHandle): Promise<{ routes: ProxyRoute[]; written: boolean; etag?: string }> {
    const http = require("node:http") as typeof import("node:http");
    return new Promise((resolve, reject) => {
        const req = http.get(`${proxy.adminUrl}/config/apps/http/servers/${SERVER}/routes`, { timeout: 10_000, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                if (res.statusCode !== 200) {
                    reject(new Error(`proxy admin GET routes answered ${res.statusCode}: ${text.trim()}`));
                    return;
                }
                const etag = res.trailers["etag"] ?? (res.headers["etag"] as string | undefined);
                const json: unknown = text ? JSON.parse(text) : [];
                resolve({ routes: parseRoutes(json), written: routesWritten(json), etag });
            });
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("the proxy's admin API did not answer within 10 s")));
        req.on("error", reject);
    });
}

export async function readRoutes(proxy: ProxyHandle): Promise<ProxyRoute[]> {
    return (await readRoutesTagged(proxy)).routes;
}

/**
 * Read, change, write with If-Match: when another stack changed the proxy's routes in between,
 * Caddy answers 412 and the change is made again on what it has now (at most 10 tries), so two
 * stacks on one proxy never undo each other's routes. Caddy swaps to the written list atomically
 * and gracefully. `change` also learns whether the routes were ever written; when it gives back
 * the very list it got, nothing is written.
 */
export async function updateRoutes(proxy: ProxyHandle, change: (routes: ProxyRoute[], written: boolean) => ProxyRoute[]): Promise<ProxyRoute[]> {
    for (let attempt = 0; ; attempt++) {
        const { routes, written, etag } = await readRoutesTagged(proxy);
        const next = change(routes, written);
        if (next === routes && written) {
            return next;
        }
        const res = await fetch(`${proxy.adminUrl}/config/apps/http/servers/${SERVER}/routes`, {
            method: "PATCH",
            headers: { "content-type": "application/json", ...(etag ? { "if-match": etag } : {}) },
            body: JSON.stringify(caddyRoutes(next)),
            signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.ok) {
            return next;
        }
        if (res.status !== 412 || attempt >= 9) {
            throw new Error(`proxy admin PATCH routes answered ${res.status}: ${text.trim()}`);
        }
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
}

/** The running proxy of `name`, or undefined (none, or stopped). */
export async function findProxy(docker: import("dockerode"), name: string, bindAddress: string, hostPort: number): Promise<ProxyHandle | undefined> {
    const info = await docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined);
    if (!info?.State.Running) {
        return undefined;
    }
    const admin = info.NetworkSettings.Ports?.[`${PROXY_ADMIN_PORT}/tcp`]?.[0];
    if (!admin) {
        return undefined;
    }
    const host = bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress;
    return { name, containerId: info.Id, adminUrl: `http://127.0.0.1:${admin.HostPort}`, url: `http://${host}:${hostPort}` };
}

/**
 * The proxy for `spec`'s address, started if needed: its network, its container (restart policy
 * unless-stopped; Caddy resumes its last configuration). A proxy made anew gets the routes of the
 * app containers already on its network (the oldest running one of each slot).
 */
export async function ensureProxy(docker: import("dockerode"), spec: ProxySpec): Promise<ProxyHandle> {
    const name = proxyName(spec.bindAddress, spec.hostPort);
    await ensureNetwork(docker, name);
    let info = await docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined);
    if (info && (info.Config.Image !== spec.image || info.Config.Labels?.["delivery.proxy-revision"] !== PROXY_REVISION)) {
        // Another image or revision: a new proxy takes over the routes.
        const old = await findProxy(docker, name, spec.bindAddress, spec.hostPort);
        const routes = old ? await readRoutesTagged(old).catch(() => undefined) : undefined;
        await docker.getContainer(name).remove({ force: true });
        info = undefined;
        if (routes?.written) {
            const made = await createProxy(docker, spec, name);
            await updateRoutes(made, (now, written) => (written ? now : routes.routes));
            return made;
        }
    }
    if (!info) {
        await createProxy(docker, spec, name);
    } else if (!info.State.Running) {
        await docker.getContainer(name).start();
    }
    const proxy = await waitAdmin(docker, name, spec);
    // Routes never written (new, or its maker killed): from the labels, once.
    const { written } = await readRoutesTagged(proxy);
    if (!written) {
        const fromLabels = await routesFromLabels(docker, name);
        await updateRoutes(proxy, (now, wasWritten) => (wasWritten ? now : fromLabels));
    }
    return proxy;
}

/** The proxy's private network (made once, also when two stacks make it at once) and its gateway addresses. */
async function ensureNetwork(docker: import("dockerode"), name: string): Promise<string[]> {
    const networks = await docker.listNetworks({ filters: { name: [name] } });
    if (!networks.some((n) => n.Name === name)) {
        // CheckDuplicate: two stacks making the first proxy at once must not get two networks of one name.
        await docker
            .createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: true, Labels: { "delivery.proxy": name } })
            .catch((e: { statusCode?: number }) => {
                if (e.statusCode !== 409) {
                    throw e;
                }
            });
    }
    const ipam = (await docker.getNetwork(name).inspect()).IPAM?.Config ?? [];
    return (ipam as Array<{ Gateway?: string }>).map((c) => c.Gateway ?? "").filter((g) => g);
}

async function createProxy(docker: import("dockerode"), spec: ProxySpec, name: string): Promise<ProxyHandle> {
    const have = await docker
        .getImage(spec.image)
        .inspect()
        .catch(() => undefined);
    if (!have) {
        // The app registry's credentials go to it only (caddy:2 is Docker Hub's).
        const [first, ...rest] = spec.image.split("/");
        const server = rest.length && /[.:]|^localhost$/.test(first) ? first : "docker.io";
        await pullImage(
            docker,
            spec.image,
            spec.registryAuth?.serveraddress === server ? spec.registryAuth : undefined,
            `the proxy image ${spec.image} (delivery:proxyImage)`,
        );
    }
    const http = `${PROXY_HTTP_PORT}/tcp`;
    const admin = `${PROXY_ADMIN_PORT}/tcp`;
    const gateways = await ensureNetwork(docker, name);
    const container = await docker
        .createContainer({
            name,
            Image: spec.image,
            Env: [`DELIVERY_PROXY_CONFIG=${JSON.stringify(initialProxyConfig(gateways))}`, "XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"],
            // --resume: a restarted Caddy serves its last config (autosave.json), a new one the initial.
            Cmd: [
                "sh",
                "-c",
                `rm -f ${ADMIN_SOCKET} && printf %s "$DELIVERY_PROXY_CONFIG" >/tmp/delivery-initial.json && exec caddy run --resume --config /tmp/delivery-initial.json`,
            ],
            Entrypoint: [],
            ExposedPorts: { [http]: {}, [admin]: {} },
            Labels: {
                "delivery.proxy": name,
                "delivery.role": "proxy",
                "delivery.proxy-revision": PROXY_REVISION,
                "app.kubernetes.io/part-of": "delivery",
                "app.kubernetes.io/managed-by": "pulumi",
            },
            HostConfig: {
                PortBindings: { [http]: [{ HostIp: spec.bindAddress, HostPort: String(spec.hostPort) }], [admin]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
                RestartPolicy: { Name: "unless-stopped" },
                NetworkMode: name,
            },
        })
        .catch((e: { statusCode?: number }) => {
            if (e.statusCode === 409) {
                return docker.getContainer(name); // another stack made it meanwhile
            }
            throw e;
        });
    const started = await container.inspect();
    if (!started.State.Running) {
        await container.start().catch((e: { statusCode?: number }) => {
            if (e.statusCode !== 304) {
                throw e;
            }
        });
    }
    return waitAdmin(docker, name, spec);
}

async function waitAdmin(docker: import("dockerode"), name: string, spec: ProxySpec): Promise<ProxyHandle> {
    const deadline = Date.now() + 30_000;
    let last = "not running";
    while (Date.now() < deadline) {
        const proxy = await findProxy(docker, name, spec.bindAddress, spec.hostPort);
        if (proxy) {
            try {
                await readRoutes(proxy);
                return proxy;
            } catch (e) {
                last = (e as Error).message;
            }
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    const logs = await logTail(docker, name);
    throw new Error(`the proxy ${name} did not answer on its admin API within 30s (${last})${logs ? `\nlast log lines:\n${logs}` : ""}`);
}

/**
 * The oldest running app container of each slot on the proxy's network, as routes (labels
 * delivery.slot, delivery.host, delivery.port). Never the newest: a new release's container runs
 * (labelled live) before its health gate, and one whose run was killed there never passed it; the
 * oldest passed its gate (or is the slot's only one), and a release killed after its switch is
 * made again by the next up.
 */
export async function routesFromLabels(docker: import("dockerode"), name: string): Promise<ProxyRoute[]> {
    const listed = await docker.listContainers({ filters: { label: [`delivery.proxy=${name}`, "delivery.role=live"], status: ["running"] } });
    const oldest = new Map<string, (typeof listed)[number]>();
    for (const c of listed) {
        const slot = c.Labels["delivery.slot"];
        const seen = slot ? oldest.get(slot) : undefined;
        if (slot && (!seen || seen.Created > c.Created)) {
            oldest.set(slot, c);
        }
    }
    return [...oldest.entries()].map(([slot, c]) => ({
        id: slotRouteId(slot),
        hosts: c.Labels["delivery.host"] ? [c.Labels["delivery.host"]] : [],
        dial: `${c.Names[0].replace(/^\//, "")}:${c.Labels["delivery.port"]}`,
    }));
}

/** Removes the proxy and its network when no app is routed and no app container is on its network: the last app is gone. */
export async function removeProxyIfUnused(docker: import("dockerode"), name: string, bindAddress: string, hostPort: number): Promise<boolean> {
    const proxy = await findProxy(docker, name, bindAddress, hostPort);
    const routes = proxy ? await readRoutes(proxy).catch(() => []) : [];
    const apps = await docker.listContainers({ all: true, filters: { label: [`delivery.proxy=${name}`, "delivery.role=live"] } });
    if (routes.length > 0 || apps.length > 0) {
        return false;
    }
    await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    await docker
        .getNetwork(name)
        .remove()
        .catch(() => undefined);
    return true;
}

/** Pulls `image` (with the registry's credentials, if any); throws naming `what` when it cannot. */
export async function pullImage(
    docker: import("dockerode"),
    image: string,
    auth: { serveraddress: string; username: string; password: string } | undefined,
    what: string,
): Promise<void> {
    const stream = await docker.pull(image, auth ? { authconfig: auth } : {});
    await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
            const failed = events?.find((e) => e.error);
            if (err || failed) {
                reject(new Error(`cannot pull ${what}: ${err?.message ?? failed?.error}`));
            } else {
                resolve();
            }
        }),
    );
}

/** A container's last 20 log lines, unmasked ("" when there are none): an app's go through dockerContainer.ts lastLogLines, which masks its secrets. */
export async function logTail(docker: import("dockerode"), id: string): Promise<string> {
    return docker
        .getContainer(id)
        .logs({ stdout: true, stderr: true, tail: 20 })
        .then((b) => demuxLogs(Buffer.isBuffer(b) ? b : Buffer.from(String(b))))
        .catch(() => "");
}
