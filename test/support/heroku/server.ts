import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { appEntity } from "./apps";
import { updateConfigVars } from "./configVars";
import { WebDynos } from "./dynos";
import { updateFormation } from "./formation";
import { HerokuHttpError, appNotFound } from "./http";
import { type DoubleApp, type DoubleRelease, type LoggedRequest } from "./model";
import { listReleases, readRelease, releaseEntity } from "./releases";

/**
 * An in-process double of Heroku's Platform API, limited to what the heroku target uses, written
 * from Heroku's documentation (never from the code under test, which it does not import):
 *   [clients]     Platform API reference, "Clients": `Accept: application/vnd.heroku+json; version=3`
 *                 ("clients must specify the version"; the double answers 400 without it, its own strictness)
 *   [auth]        "Authentication": `Authorization: Bearer <API key>`; a bad key gets
 *                 401 {"id": "unauthorized", "message": "Invalid credentials provided."}
 *   [errors]      "Error Responses" (http.ts): JSON {id, message}; 404 not_found, 422 invalid_params
 *   [ratelimit]   "Rate Limits": a pool of request tokens per account (up to 4,500, refilled at about 75
 *                 a minute); "If no tokens remain, further calls will return 429 Too Many Requests
 *                 until more tokens become available"; every answer carries `RateLimit-Remaining`;
 *                 the 429 body is {"id": "rate_limit", "message": "Your account reached the API rate
 *                 limit\nPlease wait a few minutes before making new requests"}; nothing is processed
 *   [apps]        apps.ts; [formation] formation.ts; [config-vars] configVars.ts; [releases] [ranges] releases.ts
 *   [registry]    Dev Center "Container Registry & Runtime (Docker Deploys)": images live at
 *                 registry.heroku.com/<app>/<process-type>; `docker login --username=_
 *                 --password=<API key> registry.heroku.com`. The tests run a docker-registry with
 *                 that htpasswd user (registry.ts); the double reads it to resolve image ids.
 *   [runtime]     dynos.ts: with a registry, every release that succeeds runs the app's web process as a
 *                 Docker container on this host (its image by the manifest the formation's image id names,
 *                 the app's config vars as environment, PORT a free loopback port, published on
 *                 127.0.0.1:PORT, which is then the app's web_url), replacing the one before. A deploy
 *                 runs the formation's new image; a config var change restarts what runs with the new
 *                 config ("Whenever you set or remove a config var ... your app restarts and a new
 *                 release is created", Dev Center "Configuration and Config Vars"). A failed release runs
 *                 nothing new. The double's own: a dyno it cannot start (the pull fails) fails the release
 *                 with the reason as its output, rather than being hidden. `stop` removes the containers.
 */
export class HerokuDouble {
    readonly apps = new Map<string, DoubleApp>();
    readonly requests: LoggedRequest[] = [];
    url = "";
    /** [ratelimit] Tokens left; none: every request answers 429 until `refill`. */
    private tokens = 4500;
    private server?: http.Server;
    private failures: string[][] = [];
    /** For a double without a registry (unit tests): image ids taken as pushed, by repository. */
    readonly pushedWithoutRegistry = new Map<string, string[]>();
    /** Release Info reads a new release stays pending for. */
    pendingReads = 1;
    /** [runtime] The web dynos (with a registry only: without one there is no image to run). */
    readonly dynos?: WebDynos;

    constructor(
        readonly apiKey: string,
        private readonly registry?: { url: string; username: string; password: string },
    ) {
        if (registry) {
            this.dynos = new WebDynos({ server: new URL(registry.url).host, username: registry.username, password: registry.password });
        }
    }

    addApp(name: string): DoubleApp {
        const app: DoubleApp = { id: randomUUID(), name, web_url: `https://${name}-0123456789ab.herokuapp.com/`, configVars: {}, formation: {}, releases: [] };
        this.apps.set(name, app);
        return app;
    }

    /** The next release an image deploy (formation update) makes fails, its release phase having printed `lines`. */
    failNextRelease(lines: string[]): void {
        this.failures.push(lines);
    }

    /** [ratelimit] The pool is empty for the next `requests` requests (each answered 429), then refilled. */
    exhaust(requests: number): void {
        this.tokens = -requests;
    }

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => void this.handle(req, res));
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        return this;
    }

    async stop(): Promise<void> {
        await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
        await this.dynos?.stopAll();
    }

    /**
     * [runtime] Runs what a release that will succeed runs: a deploy's new web image, or (a config
     * var change) the image that runs now, with the release's config. A failed release runs nothing.
     */
    private async runRelease(app: DoubleApp, r: DoubleRelease, deploy: boolean): Promise<void> {
        if (!this.dynos || r.outcome !== "succeeded") {
            return;
        }
        const repository = `${app.name}/web`;
        const running = this.dynos.running.get(app.name);
        try {
            if (deploy && r.images.web) {
                const manifest = (await this.imagesOf(repository)).find((i) => i.id === r.images.web)?.manifest;
                if (!manifest) {
                    throw new Error(`no manifest in ${repository} names image ${r.images.web}`);
                }
                await this.dynos.run(app, repository, manifest, r.config);
            } else if (!deploy && running) {
                await this.dynos.run(app, repository, running.image.slice(running.image.indexOf("@") + 1), r.config);
            }
        } catch (e) {
            r.outcome = "failed";
            r.output = [`the double could not start the web dyno: ${(e as Error).message}`];
            r.output_stream_url = `${this.url}/streams/${r.id}`;
        }
    }

    private makeRelease(app: DoubleApp, description: string, deploy = false): DoubleRelease {
        const failure = deploy ? this.failures.shift() : undefined;
        const now = new Date().toISOString();
        const r: DoubleRelease = {
            id: randomUUID(),
            version: (app.releases.at(-1)?.version ?? 0) + 1,
            status: "pending",
            description,
            output_stream_url: null,
            created_at: now,
            updated_at: now,
            pendingReads: this.pendingReads,
            outcome: failure ? "failed" : "succeeded",
            output: failure ?? [],
            images: Object.fromEntries(Object.entries(app.formation).map(([t, f]) => [t, f.docker_image])),
            config: { ...app.configVars },
        };
        r.output_stream_url = failure ? `${this.url}/streams/${r.id}` : null;
        app.releases.push(r);
        return r;
    }

    /** [registry] The image ids (config digests) the registry repository holds, by its tags. */
    private async imageIdsOf(repository: string): Promise<string[]> {
        if (!this.registry) {
            return this.pushedWithoutRegistry.get(repository) ?? [];
        }
        return (await this.imagesOf(repository)).map((i) => i.id);
    }

    /** [registry] The images the repository's tags name: image id (config digest) and manifest digest. */
    private async imagesOf(repository: string): Promise<Array<{ id: string; manifest: string }>> {
        if (!this.registry) {
            return [];
        }
        const auth = { authorization: "Basic " + Buffer.from(`${this.registry.username}:${this.registry.password}`).toString("base64") };
        const tags = await fetch(`${this.registry.url}/v2/${repository}/tags/list`, { headers: auth });
        if (!tags.ok) {
            return [];
        }
        const images: Array<{ id: string; manifest: string }> = [];
        for (const tag of ((await tags.json()) as { tags?: string[] }).tags ?? []) {
            const m = await fetch(`${this.registry.url}/v2/${repository}/manifests/${tag}`, {
                headers: { ...auth, accept: "application/vnd.docker.distribution.manifest.v2+json" },
            });
            const manifest = m.headers.get("docker-content-digest") ?? "";
            const body = (await m.json()) as { config?: { digest?: string } };
            if (body.config?.digest) images.push({ id: body.config.digest, manifest });
        }
        return images;
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString("utf8");
        const path = (req.url ?? "/").split("?")[0];
        const log: LoggedRequest = { method: req.method ?? "GET", path, accept: req.headers.accept, range: req.headers.range as string | undefined, status: 0 };
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
            log.status = status;
            this.requests.push(log);
            res.writeHead(status, { "content-type": "application/json", "ratelimit-remaining": String(Math.max(0, this.tokens)), ...headers });
            res.end(JSON.stringify(body));
        };
        try {
            // The output stream URL is a link of its own (no API key), as text/plain.
            const stream = /^\/streams\/([^/]+)$/.exec(path);
            if (stream) {
                const r = [...this.apps.values()].flatMap((a) => a.releases).find((x) => x.id === stream[1]);
                log.status = r ? 200 : 404;
                this.requests.push(log);
                res.writeHead(log.status, { "content-type": "text/plain" });
                res.end(r ? r.output.join("\n") + "\n" : "");
                return;
            }
            if (this.tokens <= 0) {
                this.tokens++;
                if (this.tokens === 0) this.tokens = 4500;
                throw new HerokuHttpError(429, "rate_limit", "Your account reached the API rate limit\nPlease wait a few minutes before making new requests");
            }
            if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
                throw new HerokuHttpError(401, "unauthorized", "Invalid credentials provided.");
            }
            if (!/application\/vnd\.heroku\+json;\s*version=3/.test(req.headers.accept ?? "")) {
                throw new HerokuHttpError(400, "bad_request", "Please specify a version: Accept: application/vnd.heroku+json; version=3");
            }
            this.tokens--;
            let body: unknown = undefined;
            if (text !== "") {
                try {
                    body = JSON.parse(text);
                } catch {
                    throw new HerokuHttpError(400, "bad_request", "Invalid JSON in the request body.");
                }
            }
            log.body = body;
            const m = /^\/apps\/([^/]+)(\/[a-z-]+)?(?:\/([^/]+))?$/.exec(path);
            const app = m ? this.apps.get(decodeURIComponent(m[1])) : undefined;
            if (!m) {
                throw new HerokuHttpError(404, "not_found", "The requested API endpoint was not found.");
            }
            if (!app) {
                throw appNotFound();
            }
            const [, , sub, id] = m;
            const route = `${req.method} ${sub ?? ""}${id ? "/:id" : ""}`;
            switch (route) {
                case "GET ":
                    return send(200, appEntity(app));
                case "GET /config-vars":
                    return send(200, app.configVars);
                case "PATCH /config-vars": {
                    const { changed, removed } = updateConfigVars(app, body);
                    if (changed.length > 0 || removed.length > 0) {
                        const parts = [
                            changed.length ? `Set ${changed.join(", ")} config vars` : "",
                            removed.length ? `Remove ${removed.join(", ")} config vars` : "",
                        ];
                        await this.runRelease(app, this.makeRelease(app, parts.filter(Boolean).join(" and ")), false);
                    }
                    return send(200, app.configVars);
                }
                case "PATCH /formation": {
                    const { updated, entities } = await updateFormation(app, body, (repo) => this.imageIdsOf(repo));
                    if (updated.length > 0) {
                        const r = this.makeRelease(app, `Deployed ${updated.join(", ")} (${app.formation[updated[0]].docker_image.slice(7, 19)})`, true);
                        await this.runRelease(app, r, updated.includes("web"));
                    }
                    return send(200, entities);
                }
                case "GET /releases": {
                    const { status, items, headers } = listReleases(app, req.headers.range as string | undefined);
                    return send(
                        status,
                        items.map((r) => releaseEntity(app, r)),
                        headers,
                    );
                }
                case "GET /releases/:id":
                    return send(200, releaseEntity(app, readRelease(app, decodeURIComponent(id!))));
                default:
                    throw new HerokuHttpError(404, "not_found", "The requested API endpoint was not found.");
            }
        } catch (e) {
            if (e instanceof HerokuHttpError) {
                return send(e.status, { id: e.id, message: e.message });
            }
            return send(500, { id: "internal_server_error", message: String(e) });
        }
    }

    /** The release the app runs now: the newest succeeded one. */
    current(app: string): DoubleRelease | undefined {
        return this.apps
            .get(app)
            ?.releases.filter((r) => r.status === "succeeded")
            .at(-1);
    }
}

export async function startHerokuDouble(apiKey: string, registry?: { url: string; username: string; password: string }): Promise<HerokuDouble> {
    return new HerokuDouble(apiKey, registry).start();
}
