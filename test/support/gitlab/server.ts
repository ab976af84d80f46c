import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { findMergeRequest, findNote, noteBody, noteEntity } from "./notes";
import { createEnvironment, environmentEntity, findEnvironment, listEnvironments, updateEnvironment } from "./environments";
import { editProject, projectEntity } from "./projects";
import { createDeployToken, deployTokenEntity, expired, findDeployToken } from "./tokens";
import { BAD_GATEWAY_PAGE, HttpError, type Params, bool, ok, oneOf, paginate, parseBody, parseQuery, readBody } from "./http";
import {
    type DoubleNote,
    type DoubleProject,
    type DoubleResourceGroup,
    type DoubleUser,
    type DoubleVariable,
    type Fault,
    type LoggedRequest,
    type RateLimit,
} from "./model";
import { createProtected, findProtected, protectedEntity, updateProtected } from "./protectedEnvironments";
import { ensureResourceGroup, findResourceGroup, resourceGroupEntity, updateResourceGroup } from "./resourceGroups";
import { createVariable, findVariable, updateVariable, variableEntity } from "./variables";

/**
 * An in-process double of the GitLab REST API v4, limited to the endpoints this project uses.
 *
 * Its behaviour is written down from GitLab's documentation and API source, not from what our
 * client happens to send; each rule cites where it comes from:
 *   [rest]      doc/api/rest/_index.md (auth, URL-encoded paths, offset pagination headers)
 *   [vars]      doc/api/project_level_variables.md + lib/api/ci/variables.rb +
 *               lib/api/helpers/variables_helpers.rb (`find_variable`, the 409 message)
 *   [mask]      doc/ci/variables/_index.md "Mask a CI/CD variable" + app/models/concerns/ci/maskable.rb
 *   [envs]      doc/api/environments.md
 *   [penvs]     doc/api/protected_environments.md + ee/lib/api/protected_environments.rb
 *   [tokens]    doc/api/deploy_tokens.md
 *   [rgroups]   doc/api/resource_groups.md + app/models/ci/resource_group.rb (process modes); a
 *               group exists only once a job using it has run (no create in the API)
 *   [projects]  doc/api/projects.md "Edit a project" (container_expiration_policy_attributes) +
 *               app/models/container_expiration_policy.rb (allowed values)
 *   [notes]     doc/api/notes.md "Merge requests" (list/create/modify, 1,000,000 character limit);
 *               who may edit: doc/user/discussions/_index.md "Edit a comment" (your own comment;
 *               anyone with at least the Maintainer role can also edit someone else's) and
 *               doc/user/permissions.md; anyone else gets 403
 *   [user]      doc/api/users.md "Get the current user" (GET /user: the token's user)
 *   [visible]   doc/api/rest/troubleshooting.md / _index.md "Status codes": 404 Not Found when "a
 *               resource couldn't be accessed ... or the user isn't authorized to access the
 *               resource"; for a project GitLab answers 404 {"message":"404 Project Not Found"}
 *               whether the project does not exist or the token's user cannot see it
 *               (lib/api/helpers.rb `find_project!` -> `not_found!('Project')`)
 *   [ratelimit] doc/security/rate_limits.md and doc/administration/settings/user_and_ip_rate_limits.md
 *               "Response headers": a throttled request gets 429 with `Retry-After` (seconds) and
 *               RateLimit-* headers, body "Retry later" (Rack::Attack); the request is not processed.
 *               `Retry-After` may also be an HTTP date (RFC 9110 §10.2.3), as proxies send it.
 *   [lost]      RFC 9110 §9.2.2 (POST is not idempotent) and §15.6.3 (502 from a gateway): a proxy
 *               in front of GitLab can answer 502, or drop the connection, after GitLab committed
 *               the request; the client cannot tell whether it was applied
 *   [grape]     how GitLab's Grape API reports parameter errors: 400 {"error": "<param> is missing"},
 *               {"error": "<param> does not have a valid value"}; model validation errors as
 *               400 {"message": {"<attr>": ["<msg>"]}} (`render_validation_error!`);
 *               ActiveRecord::RecordNotFound as 404 {"message": "404 Not found"}.
 */

export class GitlabDouble {
    readonly users = new Map<string, DoubleUser>();
    readonly projects: DoubleProject[] = [];
    readonly requests: LoggedRequest[] = [];
    private readonly faults: Fault[] = [];
    private readonly rateLimits: RateLimit[] = [];
    /** [visible] Users (by id) who cannot see a project (by id). */
    private readonly hidden = new Map<number, Set<number>>();
    private server?: http.Server;
    private nextId = 1000;
    /** The double's own clock (ISO timestamps it hands out; read by the cleanup policy's next run). */
    clock = Date.parse("2025-01-01T00:00:00Z");
    url = "";

    constructor(options: { tokens?: Record<string, string> } = {}) {
        const tokens = options.tokens ?? { "glpat-double-token-0001": "maintainer" };
        for (const [token, username] of Object.entries(tokens)) {
            this.addUser(token, username);
        }
    }

    /** A user the token `token` authenticates as, with `accessLevel` on every project. */
    addUser(token: string, username: string, accessLevel = 40): DoubleUser {
        const user: DoubleUser = { id: this.users.size + 1, username, name: username, accessLevel };
        this.users.set(token, user);
        return user;
    }

    /** [visible] The token's user can no longer see the project (removed from it, or the project made private). */
    hideProject(project: DoubleProject, token: string): void {
        const user = this.users.get(token);
        if (!user) throw new Error(`no user for that token`);
        const set = this.hidden.get(project.id) ?? new Set<number>();
        set.add(user.id);
        this.hidden.set(project.id, set);
    }

    /** The token's user can see the project again. */
    showProject(project: DoubleProject, token: string): void {
        const user = this.users.get(token);
        if (user) this.hidden.get(project.id)?.delete(user.id);
    }

    /**
     * [ratelimit] Throttle matching requests: the next `calls` of them (with `Retry-After:
     * retryAfterSeconds`), or every one for `windowMs` from the first throttled one (with the
     * seconds left of the window). `format: "date"` sends Retry-After as an HTTP date.
     */
    rateLimit(options: {
        calls?: number;
        windowMs?: number;
        retryAfterSeconds?: number;
        format?: "seconds" | "date";
        method?: string;
        pathIncludes?: string;
    }): void {
        this.rateLimits.push({
            remaining: options.windowMs === undefined ? (options.calls ?? 1) : undefined,
            windowMs: options.windowMs,
            retryAfterSeconds: options.retryAfterSeconds ?? 1,
            format: options.format ?? "seconds",
            method: options.method,
            pathIncludes: options.pathIncludes,
        });
    }

    /** [lost] The next `count` matching requests are processed, then answered 502 (or their connection dropped). */
    failAfterCommit(count: number, kind: "502" | "reset", match: { method?: string; pathIncludes?: string } = {}): void {
        this.faults.push({ remaining: count, status: 502, afterCommit: kind, ...match });
    }

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => {
            void this.handle(req, res);
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        const { port } = this.server.address() as AddressInfo;
        this.url = `http://127.0.0.1:${port}`;
        return this.url;
    }

    async stop(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (server) {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    }

    addProject(path: string, id = this.id()): DoubleProject {
        const project: DoubleProject = {
            id,
            path_with_namespace: path,
            variables: [],
            environments: [],
            protectedEnvironments: [],
            deployTokens: [],
            resourceGroups: [],
            // [projects] a new project's policy: disabled, daily, keep 10, older than 90d, all tags.
            containerExpirationPolicy: {
                cadence: "1d",
                enabled: false,
                keep_n: 10,
                older_than: "90d",
                name_regex: ".*",
                name_regex_keep: null,
                next_run_at: null,
            },
            mergeRequests: new Map(),
        };
        this.projects.push(project);
        return project;
    }

    /** [rgroups] What a pipeline does when a job with `resource_group: <key>` runs: the group exists from then on. */
    runJobInResourceGroup(project: DoubleProject, key: string): DoubleResourceGroup {
        return ensureResourceGroup(this, project, key);
    }

    addMergeRequest(project: DoubleProject, iid: number): void {
        project.mergeRequests.set(iid, { id: this.id(), notes: [] });
    }

    /** The next `count` requests (optionally only those matching) answer `status` instead. */
    failNext(count: number, status = 500, match: { method?: string; pathIncludes?: string } = {}): void {
        this.faults.push({ remaining: count, status, ...match });
    }

    clearFaults(): void {
        this.faults.length = 0;
        this.rateLimits.length = 0;
    }

    variable(project: DoubleProject, key: string, scope = "*"): DoubleVariable | undefined {
        return project.variables.find((v) => v.key === key && v.environment_scope === scope);
    }

    id(): number {
        return this.nextId++;
    }

    now(): string {
        // Strictly increasing timestamps make sort order by created_at deterministic.
        this.clock += 1000;
        return new Date(this.clock).toISOString();
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const rawUrl = req.url ?? "/";
        const q = rawUrl.indexOf("?");
        const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
        const query = q < 0 ? "" : rawUrl.slice(q + 1);
        const method = (req.method ?? "GET").toUpperCase();
        const at = Date.now();
        let status = 500;
        let auth = false;
        try {
            const body = await readBody(req);
            const matches = (f: { method?: string; pathIncludes?: string }) =>
                (!f.method || f.method === method) && (!f.pathIncludes || path.includes(f.pathIncludes));
            const throttled = this.throttle(matches);
            if (throttled) {
                status = 429;
                res.writeHead(429, { "content-type": "text/plain", "retry-after": throttled, "ratelimit-name": "throttle_authenticated_api" });
                res.end("Retry later\n");
                return;
            }
            const fault = this.faults.find((f) => f.remaining > 0 && matches(f));
            if (fault) {
                fault.remaining--;
            }
            if (fault && !fault.afterCommit) {
                throw new HttpError(fault.status, fault.status === 502 ? BAD_GATEWAY_PAGE : { message: `${fault.status} Internal Server Error` });
            }
            // [rest] Authentication: PRIVATE-TOKEN header or OAuth-style Authorization: Bearer.
            const header = req.headers["private-token"];
            const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ""))?.[1];
            const token = (Array.isArray(header) ? header[0] : header) ?? bearer;
            const user = token !== undefined ? this.users.get(token) : undefined;
            if (!user) {
                throw new HttpError(401, { message: "401 Unauthorized" });
            }
            auth = true;
            const params: Params = { ...parseQuery(query), ...parseBody(req.headers["content-type"], body) };
            const result = this.route(method, path, params, user, query);
            if (fault?.afterCommit === "reset") {
                // [lost] Committed, but the answer never arrives.
                status = 0;
                req.socket.destroy();
                return;
            }
            if (fault?.afterCommit === "502") {
                throw new HttpError(502, BAD_GATEWAY_PAGE);
            }
            status = result.status;
            const headers: Record<string, string> = { "content-type": "application/json", ...(result.headers ?? {}) };
            res.writeHead(status, headers);
            res.end(status === 204 ? undefined : JSON.stringify(result.body));
        } catch (e) {
            if (e instanceof HttpError) {
                status = e.status;
                const html = typeof e.body === "string";
                res.writeHead(status, { "content-type": html ? "text/html" : "application/json" });
                res.end(html ? (e.body as string) : JSON.stringify(e.body));
            } else {
                status = 500;
                res.writeHead(500, { "content-type": "application/json" });
                res.end(JSON.stringify({ message: `500 Internal Server Error (double: ${(e as Error).message})` }));
            }
        } finally {
            this.requests.push({ method, path, query, status, auth, at });
        }
    }

    /** [ratelimit] The Retry-After value when this request is throttled, else undefined. */
    private throttle(matches: (f: { method?: string; pathIncludes?: string }) => boolean): string | undefined {
        const now = Date.now();
        for (const limit of this.rateLimits) {
            if (!matches(limit)) continue;
            let seconds: number;
            if (limit.windowMs !== undefined) {
                limit.until ??= now + limit.windowMs;
                if (now >= limit.until) continue;
                seconds = Math.ceil((limit.until - now) / 1000);
            } else {
                if ((limit.remaining ?? 0) <= 0) continue;
                limit.remaining!--;
                seconds = limit.retryAfterSeconds;
            }
            // An HTTP date has whole seconds; round up so that waiting until it is always enough.
            return limit.format === "date" ? new Date((Math.floor(now / 1000) + seconds + 1) * 1000).toUTCString() : String(seconds);
        }
        return undefined;
    }

    private route(
        method: string,
        path: string,
        params: Params,
        user: DoubleUser,
        query: string,
    ): { status: number; body?: unknown; headers?: Record<string, string> } {
        // [user] The token's own user.
        if (method === "GET" && path === "/api/v4/user") {
            return ok({ id: user.id, username: user.username, name: user.name, state: "active" });
        }
        // [rest] Namespaced paths must be URL-encoded (`group%2Fapp`); an unencoded `/` makes
        // extra segments that match no route, which GitLab answers with 404.
        const parts = path.split("/").slice(1);
        if (parts[0] !== "api" || parts[1] !== "v4" || parts[2] !== "projects" || parts.length < 4) {
            throw new HttpError(404, { error: "404 Not Found" });
        }
        const seg = parts.slice(3).map((s) => decodeURIComponent(s));
        const project = this.findProject(seg[0], user);
        const rest = seg.slice(1);
        const r = (m: string, pattern: string): string[] | undefined => {
            if (m !== method) {
                return undefined;
            }
            const want = pattern === "" ? [] : pattern.split("/");
            if (want.length !== rest.length) {
                return undefined;
            }
            const vars: string[] = [];
            for (let i = 0; i < want.length; i++) {
                if (want[i].startsWith(":")) {
                    vars.push(rest[i]);
                } else if (want[i] !== rest[i]) {
                    return undefined;
                }
            }
            return vars;
        };
        let m: string[] | undefined;
        // Projects
        if ((m = r("GET", ""))) return ok(projectEntity(this, project));
        if ((m = r("PUT", ""))) return ok(editProject(this, project, params));
        // Variables [vars]
        if ((m = r("GET", "variables"))) return paginate(this, project.variables.map(variableEntity), params, path, query);
        if ((m = r("GET", "variables/:key"))) return ok(variableEntity(findVariable(this, project, m[0], params)));
        if ((m = r("POST", "variables"))) return { status: 201, body: variableEntity(createVariable(this, project, params)) };
        if ((m = r("PUT", "variables/:key"))) return ok(variableEntity(updateVariable(this, project, findVariable(this, project, m[0], params), params)));
        if ((m = r("DELETE", "variables/:key"))) {
            const v = findVariable(this, project, m[0], params);
            project.variables = project.variables.filter((x) => x !== v);
            return { status: 204 };
        }
        // Environments [envs]
        if ((m = r("GET", "environments"))) return paginate(this, listEnvironments(this, project, params).map(environmentEntity), params, path, query);
        if ((m = r("GET", "environments/:id"))) return ok(environmentEntity(findEnvironment(this, project, m[0])));
        if ((m = r("POST", "environments"))) return { status: 201, body: environmentEntity(createEnvironment(this, project, params)) };
        if ((m = r("PUT", "environments/:id"))) return ok(environmentEntity(updateEnvironment(this, findEnvironment(this, project, m[0]), params)));
        if ((m = r("POST", "environments/:id/stop"))) {
            const env = findEnvironment(this, project, m[0]);
            // No on_stop jobs exist in the double, so stopping completes at once.
            env.state = "stopped";
            env.updated_at = this.now();
            return ok(environmentEntity(env));
        }
        if ((m = r("DELETE", "environments/:id"))) {
            const env = findEnvironment(this, project, m[0]);
            // [envs] "The environment must be stopped first, otherwise the request returns 403."
            if (env.state !== "stopped") {
                throw new HttpError(403, { message: "403 Forbidden" });
            }
            project.environments = project.environments.filter((e) => e !== env);
            return { status: 204 };
        }
        // Protected environments [penvs]
        if ((m = r("GET", "protected_environments"))) {
            const sorted = [...project.protectedEnvironments].sort((a, b) => a.name.localeCompare(b.name));
            return paginate(this, sorted.map(protectedEntity), params, path, query);
        }
        if ((m = r("GET", "protected_environments/:name"))) return ok(protectedEntity(findProtected(this, project, m[0])));
        if ((m = r("POST", "protected_environments"))) return { status: 201, body: protectedEntity(createProtected(this, project, params)) };
        if ((m = r("PUT", "protected_environments/:name"))) return ok(protectedEntity(updateProtected(this, findProtected(this, project, m[0]), params)));
        if ((m = r("DELETE", "protected_environments/:name"))) {
            const pe = findProtected(this, project, m[0]);
            project.protectedEnvironments = project.protectedEnvironments.filter((x) => x !== pe);
            return { status: 204 };
        }
        // Deploy tokens [tokens]
        if ((m = r("GET", "deploy_tokens"))) {
            const active = params.active === undefined ? undefined : bool(params, "active");
            const list = project.deployTokens.filter((t) => active === undefined || active === (!t.revoked && !expired(t)));
            return paginate(
                this,
                list.map((t) => deployTokenEntity(t, false)),
                params,
                path,
                query,
            );
        }
        if ((m = r("GET", "deploy_tokens/:id"))) return ok(deployTokenEntity(findDeployToken(this, project, m[0]), false));
        if ((m = r("POST", "deploy_tokens"))) return { status: 201, body: deployTokenEntity(createDeployToken(this, project, params), true) };
        if ((m = r("DELETE", "deploy_tokens/:id"))) {
            const t = findDeployToken(this, project, m[0]);
            project.deployTokens = project.deployTokens.filter((x) => x !== t);
            return { status: 204 };
        }
        // Resource groups [rgroups]
        if ((m = r("GET", "resource_groups"))) return paginate(this, project.resourceGroups.map(resourceGroupEntity), params, path, query);
        if ((m = r("GET", "resource_groups/:key"))) return ok(resourceGroupEntity(findResourceGroup(this, project, m[0])));
        if ((m = r("PUT", "resource_groups/:key"))) return ok(resourceGroupEntity(updateResourceGroup(this, findResourceGroup(this, project, m[0]), params)));
        // Merge request notes [notes]
        if ((m = r("GET", "merge_requests/:iid/notes"))) {
            const mr = findMergeRequest(this, project, m[0]);
            const orderBy = params.order_by === undefined ? "created_at" : oneOf(params, "order_by", ["created_at", "updated_at"]);
            const sort = params.sort === undefined ? "desc" : oneOf(params, "sort", ["asc", "desc"]);
            const notes = [...mr.notes].sort((a, b) => {
                const c =
                    (a[orderBy as "created_at"] < b[orderBy as "created_at"] ? -1 : a[orderBy as "created_at"] > b[orderBy as "created_at"] ? 1 : 0) ||
                    a.id - b.id;
                return sort === "asc" ? c : -c;
            });
            return paginate(
                this,
                notes.map((n) => noteEntity(n, Number(m![0]), mr.id)),
                params,
                path,
                query,
            );
        }
        if ((m = r("GET", "merge_requests/:iid/notes/:note_id"))) {
            const mr = findMergeRequest(this, project, m[0]);
            return ok(noteEntity(findNote(this, mr.notes, m[1]), Number(m[0]), mr.id));
        }
        if ((m = r("POST", "merge_requests/:iid/notes"))) {
            const mr = findMergeRequest(this, project, m[0]);
            const body = noteBody(this, params);
            const at = this.now();
            const note: DoubleNote = { id: this.id(), body, author: user, created_at: at, updated_at: at };
            mr.notes.push(note);
            return { status: 201, body: noteEntity(note, Number(m[0]), mr.id) };
        }
        if ((m = r("PUT", "merge_requests/:iid/notes/:note_id"))) {
            const mr = findMergeRequest(this, project, m[0]);
            const note = findNote(this, mr.notes, m[1]);
            if (note.author.id !== user.id && user.accessLevel < 40) {
                // [notes] Your own comment, or anyone's with at least the Maintainer role.
                throw new HttpError(403, { message: "403 Forbidden" });
            }
            note.body = noteBody(this, params);
            note.updated_at = this.now();
            return ok(noteEntity(note, Number(m[0]), mr.id));
        }
        throw new HttpError(404, { error: "404 Not Found" });
    }

    private findProject(idOrPath: string, user: DoubleUser): DoubleProject {
        // [rest] `:id` is the numeric ID or the URL-encoded full path.
        const project = /^[0-9]+$/.test(idOrPath)
            ? this.projects.find((p) => p.id === Number(idOrPath))
            : this.projects.find((p) => p.path_with_namespace === idOrPath);
        // [visible] A project the user cannot see answers exactly like one that does not exist.
        if (!project || this.hidden.get(project.id)?.has(user.id)) {
            throw new HttpError(404, { message: "404 Project Not Found" });
        }
        return project;
    }
}

/** The token every test double accepts by default. */
export const DOUBLE_TOKEN = "glpat-double-token-0001";

/** A started double with one project `group/app` (id 42) and merge request !7. */
export async function startDouble(): Promise<{ gitlab: GitlabDouble; project: DoubleProject; url: string }> {
    const gitlab = new GitlabDouble();
    const url = await gitlab.start();
    const project = gitlab.addProject("group/app", 42);
    gitlab.addMergeRequest(project, 7);
    return { gitlab, project, url };
}
