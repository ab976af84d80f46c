import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

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

export interface DoubleUser {
    readonly id: number;
    readonly username: string;
    readonly name: string;
    /** The user's role on every project of the double: 30 developer, 40 maintainer (default). */
    readonly accessLevel: number;
}

export interface DoubleVariable {
    variable_type: "env_var" | "file";
    key: string;
    value: string;
    protected: boolean;
    masked: boolean;
    hidden: boolean;
    raw: boolean;
    environment_scope: string;
    description: string | null;
}

export interface DoubleEnvironment {
    id: number;
    name: string;
    slug: string;
    external_url: string | null;
    state: "available" | "stopping" | "stopped";
    tier: string;
    created_at: string;
    updated_at: string;
}

interface AccessEntry {
    id: number;
    access_level: number | null;
    user_id: number | null;
    group_id: number | null;
    group_inheritance_type: number;
}

interface ApprovalRule extends AccessEntry {
    required_approvals: number;
}

export interface DoubleProtectedEnvironment {
    name: string;
    deploy_access_levels: AccessEntry[];
    approval_rules: ApprovalRule[];
}

export interface DoubleDeployToken {
    id: number;
    name: string;
    username: string;
    expires_at: string | null;
    token: string;
    revoked: boolean;
    scopes: string[];
}

export interface DoubleCleanupPolicy {
    cadence: string;
    enabled: boolean;
    keep_n: number | null;
    older_than: string | null;
    name_regex: string | null;
    name_regex_keep: string | null;
    next_run_at: string | null;
}

export interface DoubleNote {
    id: number;
    body: string;
    author: DoubleUser;
    created_at: string;
    updated_at: string;
}

export interface DoubleProject {
    readonly id: number;
    readonly path_with_namespace: string;
    variables: DoubleVariable[];
    environments: DoubleEnvironment[];
    protectedEnvironments: DoubleProtectedEnvironment[];
    deployTokens: DoubleDeployToken[];
    containerExpirationPolicy: DoubleCleanupPolicy;
    mergeRequests: Map<number, { id: number; notes: DoubleNote[] }>;
}

export interface LoggedRequest {
    readonly method: string;
    /** The path as sent (still URL-encoded), e.g. `/api/v4/projects/group%2Fapp/variables`. */
    readonly path: string;
    readonly query: string;
    readonly status: number;
    readonly auth: boolean;
    /** When the request arrived (ms since epoch). */
    readonly at: number;
}

interface Fault {
    remaining: number;
    readonly status: number;
    readonly method?: string;
    readonly pathIncludes?: string;
    /** [lost] Process the request first (commit), then answer 502 or drop the connection. */
    readonly afterCommit?: "502" | "reset";
}

interface RateLimit {
    /** Requests still answered 429 (count-based), or undefined for a time window. */
    remaining?: number;
    /** End of the time window (ms since epoch), set at the first throttled request. */
    until?: number;
    readonly windowMs?: number;
    /** Seconds sent in Retry-After (count-based); a window sends what is left of it, rounded up. */
    readonly retryAfterSeconds: number;
    readonly format: "seconds" | "date";
    readonly method?: string;
    readonly pathIncludes?: string;
}

class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly body: unknown,
    ) {
        super(typeof body === "string" ? body : JSON.stringify(body));
    }
}

type Params = Record<string, unknown>;

const ACCESS_LEVEL_DESCRIPTIONS: Record<number, string> = { 30: "Developers + Maintainers", 40: "Maintainers", 60: "Administrators" };
const DEPLOY_TOKEN_SCOPES = ["read_repository", "read_registry", "write_registry", "read_package_registry", "write_package_registry", "read_virtual_registry", "write_virtual_registry"];

// [mask] Ci::Maskable::REGEX and MASK_AND_RAW_REGEX.
const MASK_REGEX = /^[a-zA-Z0-9_+=/@:.~-]{8,}$/;
const MASK_AND_RAW_REGEX = /^[^ \t\n\v\f\r]{8,}$/u;

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
    private clock = Date.parse("2025-01-01T00:00:00Z");
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
    rateLimit(options: { calls?: number; windowMs?: number; retryAfterSeconds?: number; format?: "seconds" | "date"; method?: string; pathIncludes?: string }): void {
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
            // [projects] a new project's policy: disabled, daily, keep 10, older than 90d, all tags.
            containerExpirationPolicy: { cadence: "1d", enabled: false, keep_n: 10, older_than: "90d", name_regex: ".*", name_regex_keep: null, next_run_at: null },
            mergeRequests: new Map(),
        };
        this.projects.push(project);
        return project;
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

    private id(): number {
        return this.nextId++;
    }

    private now(): string {
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
            const matches = (f: { method?: string; pathIncludes?: string }) => (!f.method || f.method === method) && (!f.pathIncludes || path.includes(f.pathIncludes));
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

    private route(method: string, path: string, params: Params, user: DoubleUser, query: string): { status: number; body?: unknown; headers?: Record<string, string> } {
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
        if ((m = r("GET", ""))) return ok(this.projectEntity(project));
        if ((m = r("PUT", ""))) return ok(this.editProject(project, params));
        // Variables [vars]
        if ((m = r("GET", "variables"))) return this.paginate(project.variables.map(variableEntity), params, path, query);
        if ((m = r("GET", "variables/:key"))) return ok(variableEntity(this.findVariable(project, m[0], params)));
        if ((m = r("POST", "variables"))) return { status: 201, body: variableEntity(this.createVariable(project, params)) };
        if ((m = r("PUT", "variables/:key"))) return ok(variableEntity(this.updateVariable(project, this.findVariable(project, m[0], params), params)));
        if ((m = r("DELETE", "variables/:key"))) {
            const v = this.findVariable(project, m[0], params);
            project.variables = project.variables.filter((x) => x !== v);
            return { status: 204 };
        }
        // Environments [envs]
        if ((m = r("GET", "environments"))) return this.paginate(this.listEnvironments(project, params).map(environmentEntity), params, path, query);
        if ((m = r("GET", "environments/:id"))) return ok(environmentEntity(this.findEnvironment(project, m[0])));
        if ((m = r("POST", "environments"))) return { status: 201, body: environmentEntity(this.createEnvironment(project, params)) };
        if ((m = r("PUT", "environments/:id"))) return ok(environmentEntity(this.updateEnvironment(this.findEnvironment(project, m[0]), params)));
        if ((m = r("POST", "environments/:id/stop"))) {
            const env = this.findEnvironment(project, m[0]);
            // No on_stop jobs exist in the double, so stopping completes at once.
            env.state = "stopped";
            env.updated_at = this.now();
            return ok(environmentEntity(env));
        }
        if ((m = r("DELETE", "environments/:id"))) {
            const env = this.findEnvironment(project, m[0]);
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
            return this.paginate(sorted.map(protectedEntity), params, path, query);
        }
        if ((m = r("GET", "protected_environments/:name"))) return ok(protectedEntity(this.findProtected(project, m[0])));
        if ((m = r("POST", "protected_environments"))) return { status: 201, body: protectedEntity(this.createProtected(project, params)) };
        if ((m = r("PUT", "protected_environments/:name"))) return ok(protectedEntity(this.updateProtected(this.findProtected(project, m[0]), params)));
        if ((m = r("DELETE", "protected_environments/:name"))) {
            const pe = this.findProtected(project, m[0]);
            project.protectedEnvironments = project.protectedEnvironments.filter((x) => x !== pe);
            return { status: 204 };
        }
        // Deploy tokens [tokens]
        if ((m = r("GET", "deploy_tokens"))) {
            const active = params.active === undefined ? undefined : bool(params, "active");
            const list = project.deployTokens.filter((t) => active === undefined || active === (!t.revoked && !expired(t)));
            return this.paginate(list.map((t) => deployTokenEntity(t, false)), params, path, query);
        }
        if ((m = r("GET", "deploy_tokens/:id"))) return ok(deployTokenEntity(this.findDeployToken(project, m[0]), false));
        if ((m = r("POST", "deploy_tokens"))) return { status: 201, body: deployTokenEntity(this.createDeployToken(project, params), true) };
        if ((m = r("DELETE", "deploy_tokens/:id"))) {
            const t = this.findDeployToken(project, m[0]);
            project.deployTokens = project.deployTokens.filter((x) => x !== t);
            return { status: 204 };
        }
        // Merge request notes [notes]
        if ((m = r("GET", "merge_requests/:iid/notes"))) {
            const mr = this.findMergeRequest(project, m[0]);
            const orderBy = params.order_by === undefined ? "created_at" : oneOf(params, "order_by", ["created_at", "updated_at"]);
            const sort = params.sort === undefined ? "desc" : oneOf(params, "sort", ["asc", "desc"]);
            const notes = [...mr.notes].sort((a, b) => {
                const c = (a[orderBy as "created_at"] < b[orderBy as "created_at"] ? -1 : a[orderBy as "created_at"] > b[orderBy as "created_at"] ? 1 : 0) || a.id - b.id;
                return sort === "asc" ? c : -c;
            });
            return this.paginate(notes.map((n) => noteEntity(n, Number(m![0]), mr.id)), params, path, query);
        }
        if ((m = r("GET", "merge_requests/:iid/notes/:note_id"))) {
            const mr = this.findMergeRequest(project, m[0]);
            return ok(noteEntity(this.findNote(mr.notes, m[1]), Number(m[0]), mr.id));
        }
        if ((m = r("POST", "merge_requests/:iid/notes"))) {
            const mr = this.findMergeRequest(project, m[0]);
            const body = this.noteBody(params);
            const at = this.now();
            const note: DoubleNote = { id: this.id(), body, author: user, created_at: at, updated_at: at };
            mr.notes.push(note);
            return { status: 201, body: noteEntity(note, Number(m[0]), mr.id) };
        }
        if ((m = r("PUT", "merge_requests/:iid/notes/:note_id"))) {
            const mr = this.findMergeRequest(project, m[0]);
            const note = this.findNote(mr.notes, m[1]);
            if (note.author.id !== user.id && user.accessLevel < 40) {
                // [notes] Your own comment, or anyone's with at least the Maintainer role.
                throw new HttpError(403, { message: "403 Forbidden" });
            }
            note.body = this.noteBody(params);
            note.updated_at = this.now();
            return ok(noteEntity(note, Number(m[0]), mr.id));
        }
        throw new HttpError(404, { error: "404 Not Found" });
    }

    private findProject(idOrPath: string, user: DoubleUser): DoubleProject {
        // [rest] `:id` is the numeric ID or the URL-encoded full path.
        const project = /^[0-9]+$/.test(idOrPath) ? this.projects.find((p) => p.id === Number(idOrPath)) : this.projects.find((p) => p.path_with_namespace === idOrPath);
        // [visible] A project the user cannot see answers exactly like one that does not exist.
        if (!project || this.hidden.get(project.id)?.has(user.id)) {
            throw new HttpError(404, { message: "404 Project Not Found" });
        }
        return project;
    }

    private projectEntity(p: DoubleProject): unknown {
        const name = p.path_with_namespace.split("/").pop()!;
        const policy = p.containerExpirationPolicy;
        return {
            id: p.id,
            name,
            path: name,
            path_with_namespace: p.path_with_namespace,
            web_url: `${this.url}/${p.path_with_namespace}`,
            container_registry_enabled: true,
            container_expiration_policy: { ...policy, name_regex_delete: policy.name_regex },
        };
    }

    private editProject(project: DoubleProject, params: Params): unknown {
        const attrs = params.container_expiration_policy_attributes;
        if (attrs !== undefined) {
            if (typeof attrs !== "object" || attrs === null) {
                throw new HttpError(400, { error: "container_expiration_policy_attributes is invalid" });
            }
            const a = attrs as Params;
            const next = { ...project.containerExpirationPolicy };
            const errors: Record<string, string[]> = {};
            if (a.cadence !== undefined) next.cadence = String(a.cadence);
            if (a.enabled !== undefined) next.enabled = bool(a, "enabled", "container_expiration_policy_attributes[enabled]");
            if (a.keep_n !== undefined) next.keep_n = a.keep_n === null ? null : int(a, "keep_n", "container_expiration_policy_attributes[keep_n]");
            if (a.older_than !== undefined) next.older_than = a.older_than === null ? null : String(a.older_than);
            // [projects] `name_regex_delete` is the newer name of `name_regex`; either sets the same field.
            if (a.name_regex !== undefined) next.name_regex = a.name_regex === null ? null : String(a.name_regex);
            if (a.name_regex_delete !== undefined) next.name_regex = a.name_regex_delete === null ? null : String(a.name_regex_delete);
            if (a.name_regex_keep !== undefined) next.name_regex_keep = a.name_regex_keep === null ? null : String(a.name_regex_keep);
            // app/models/container_expiration_policy.rb inclusion validations.
            if (!["1d", "7d", "14d", "1month", "3month"].includes(next.cadence)) errors["container_expiration_policy.cadence"] = ["is not included in the list"];
            if (next.keep_n !== null && ![1, 5, 10, 25, 50, 100].includes(next.keep_n)) errors["container_expiration_policy.keep_n"] = ["is not included in the list"];
            if (next.older_than !== null && !["7d", "14d", "30d", "90d"].includes(next.older_than)) errors["container_expiration_policy.older_than"] = ["is not included in the list"];
            for (const field of ["name_regex", "name_regex_keep"] as const) {
                const re = next[field];
                if (next.enabled && re) {
                    try {
                        new RegExp(re);
                    } catch {
                        errors[`container_expiration_policy.${field}`] = ["not valid RE2 syntax"];
                    }
                }
            }
            if (Object.keys(errors).length > 0) {
                throw new HttpError(400, { message: errors });
            }
            next.next_run_at = next.enabled ? new Date(this.clock + 86_400_000).toISOString() : null;
            project.containerExpirationPolicy = next;
        }
        return this.projectEntity(project);
    }

    // [vars] find_variable: the key, narrowed by filter[environment_scope] when given; several
    // matches without a filter is a 409 with GitLab's exact message.
    private findVariable(project: DoubleProject, key: string, params: Params): DoubleVariable {
        const filter = params.filter as Params | undefined;
        const scope = filter && typeof filter === "object" ? filter.environment_scope : undefined;
        const matches = project.variables.filter((v) => v.key === key && (scope === undefined || v.environment_scope === scope));
        if (matches.length > 1) {
            throw new HttpError(409, { message: "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'" });
        }
        if (matches.length === 0) {
            throw new HttpError(404, { message: "404 Variable Not Found" });
        }
        return matches[0];
    }

    private createVariable(project: DoubleProject, params: Params): DoubleVariable {
        const missing = ["key", "value"].filter((k) => params[k] === undefined);
        if (missing.length > 0) {
            throw new HttpError(400, { error: missing.map((k) => `${k} is missing`).join(", ") });
        }
        const hidden = params.masked_and_hidden !== undefined && bool(params, "masked_and_hidden");
        const v: DoubleVariable = {
            variable_type: params.variable_type === undefined ? "env_var" : (oneOf(params, "variable_type", ["env_var", "file"]) as "env_var" | "file"),
            key: String(params.key),
            value: String(params.value),
            protected: params.protected !== undefined && bool(params, "protected"),
            masked: hidden || (params.masked !== undefined && bool(params, "masked")),
            hidden,
            raw: params.raw !== undefined && bool(params, "raw"),
            environment_scope: params.environment_scope === undefined ? "*" : String(params.environment_scope),
            description: params.description === undefined || params.description === null ? null : String(params.description),
        };
        this.validateVariable(project, v, undefined);
        project.variables.push(v);
        return v;
    }

    private updateVariable(project: DoubleProject, current: DoubleVariable, params: Params): DoubleVariable {
        // [vars] update applies the declared params except key and filter.
        const next: DoubleVariable = { ...current };
        if (params.value !== undefined) next.value = String(params.value);
        if (params.protected !== undefined) next.protected = bool(params, "protected");
        if (params.masked !== undefined) next.masked = bool(params, "masked");
        if (params.raw !== undefined) next.raw = bool(params, "raw");
        if (params.variable_type !== undefined) next.variable_type = oneOf(params, "variable_type", ["env_var", "file"]) as "env_var" | "file";
        if (params.environment_scope !== undefined) next.environment_scope = String(params.environment_scope);
        if (params.description !== undefined) next.description = params.description === null ? null : String(params.description);
        if (current.hidden && params.masked !== undefined && !next.masked) {
            // [mask] "Hide a CI/CD variable": a hidden variable stays masked.
            throw new HttpError(400, { message: { masked: ["cannot be unset for a hidden variable"] } });
        }
        this.validateVariable(project, next, current);
        Object.assign(current, next);
        return current;
    }

    private validateVariable(project: DoubleProject, v: DoubleVariable, self: DoubleVariable | undefined): void {
        const errors: Record<string, string[]> = {};
        const add = (k: string, msg: string) => (errors[k] ??= []).push(msg);
        // [vars] "must have no more than 255 characters; only A-Z, a-z, 0-9, and _ are allowed".
        if (v.key.length > 255) add("key", "is too long (maximum is 255 characters)");
        if (!/^[a-zA-Z0-9_]+$/.test(v.key)) add("key", "can contain only letters, digits and '_'.");
        // [vars] "If a variable with the same key already exists, the new variable must have a different
        // environment_scope. Otherwise, GitLab returns ... VARIABLE_NAME has already been taken" (the
        // model's uniqueness message is "(%{value}) has already been taken").
        if (project.variables.some((o) => o !== self && o.key === v.key && o.environment_scope === v.environment_scope)) {
            add("key", `(${v.key}) has already been taken`);
        }
        // [mask] masked and expanded: REGEX; masked and raw: MASK_AND_RAW_REGEX.
        if (v.masked && !(v.raw ? MASK_AND_RAW_REGEX : MASK_REGEX).test(v.value)) {
            add("value", "is invalid");
        }
        if (!/^[a-zA-Z0-9_/${}. *-]{1,255}$/.test(v.environment_scope)) add("environment_scope", "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', '*' and spaces");
        if (Object.keys(errors).length > 0) {
            throw new HttpError(400, { message: errors });
        }
    }

    private listEnvironments(project: DoubleProject, params: Params): DoubleEnvironment[] {
        // [envs] `name` and `search` are mutually exclusive; search needs at least 3 characters.
        if (params.name !== undefined && params.search !== undefined) {
            throw new HttpError(400, { error: "name, search are mutually exclusive" });
        }
        if (params.search !== undefined && String(params.search).length < 3) {
            throw new HttpError(400, { message: "400 Bad request - Search query is less than 3 characters" });
        }
        const states = params.states === undefined ? undefined : oneOf(params, "states", ["available", "stopping", "stopped"]);
        return project.environments.filter(
            (e) =>
                (params.name === undefined || e.name === String(params.name)) &&
                (params.search === undefined || e.name.includes(String(params.search))) &&
                (states === undefined || e.state === states),
        );
    }

    private findEnvironment(project: DoubleProject, id: string): DoubleEnvironment {
        const env = /^[0-9]+$/.test(id) ? project.environments.find((e) => e.id === Number(id)) : undefined;
        if (!env) {
            throw new HttpError(404, { message: "404 Not found" });
        }
        return env;
    }

    private createEnvironment(project: DoubleProject, params: Params): DoubleEnvironment {
        if (params.name === undefined) {
            throw new HttpError(400, { error: "name is missing" });
        }
        const name = String(params.name);
        const tier = params.tier === undefined ? guessTier(name) : oneOf(params, "tier", ["production", "staging", "testing", "development", "other"]);
        const errors: Record<string, string[]> = {};
        if (!/^[a-zA-Z0-9_/${}. -]+$/.test(name) || name.startsWith("/") || name.endsWith("/")) {
            errors.name = ["can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'"];
        } else if (project.environments.some((e) => e.name === name)) {
            errors.name = ["has already been taken"];
        }
        const externalUrl = params.external_url === undefined || params.external_url === null ? null : String(params.external_url);
        if (externalUrl !== null && !/^https?:\/\/[^\s]+$/.test(externalUrl)) {
            errors.external_url = ["is blocked: Only allowed schemes are http, https"];
        }
        if (Object.keys(errors).length > 0) {
            throw new HttpError(400, { message: errors });
        }
        const at = this.now();
        const env: DoubleEnvironment = {
            id: this.id(),
            name,
            slug: name.toLowerCase().replace(/[^a-z0-9]/g, "-").slice(0, 24),
            external_url: externalUrl,
            state: "available",
            tier,
            created_at: at,
            updated_at: at,
        };
        project.environments.push(env);
        return env;
    }

    private updateEnvironment(env: DoubleEnvironment, params: Params): DoubleEnvironment {
        // [envs] `name` can no longer be changed (removed in 16.0): only external_url and tier.
        if (params.external_url !== undefined) {
            const url = params.external_url === null ? null : String(params.external_url);
            if (url !== null && !/^https?:\/\/[^\s]+$/.test(url)) {
                throw new HttpError(400, { message: { external_url: ["is blocked: Only allowed schemes are http, https"] } });
            }
            env.external_url = url;
        }
        if (params.tier !== undefined) {
            env.tier = oneOf(params, "tier", ["production", "staging", "testing", "development", "other"]);
        }
        env.updated_at = this.now();
        return env;
    }

    private findProtected(project: DoubleProject, name: string): DoubleProtectedEnvironment {
        const pe = project.protectedEnvironments.find((p) => p.name === name);
        if (!pe) {
            throw new HttpError(404, { message: "404 Not found" });
        }
        return pe;
    }

    private createProtected(project: DoubleProject, params: Params): DoubleProtectedEnvironment {
        if (params.name === undefined) {
            throw new HttpError(400, { error: "name is missing" });
        }
        if (params.deploy_access_levels === undefined) {
            throw new HttpError(400, { error: "deploy_access_levels is missing" });
        }
        // [penvs] required_approval_count > 0 is deprecated and refused with 422.
        if (params.required_approval_count !== undefined && int(params, "required_approval_count") > 0) {
            throw new HttpError(422, { message: "Parameter 'required_approval_count' is deprecated and shouldn't be used. See https://gitlab.com/groups/gitlab-org/-/epics/9662" });
        }
        const name = String(params.name);
        if (project.protectedEnvironments.some((p) => p.name === name)) {
            throw new HttpError(409, { message: `Environment '${name}' is already protected` });
        }
        const pe: DoubleProtectedEnvironment = {
            name,
            deploy_access_levels: this.accessEntries(params.deploy_access_levels, "deploy_access_levels", []).map((e) => e as AccessEntry),
            approval_rules: params.approval_rules === undefined ? [] : (this.accessEntries(params.approval_rules, "approval_rules", [], true) as ApprovalRule[]),
        };
        if (pe.deploy_access_levels.length === 0) {
            throw new HttpError(422, { message: ["Deploy access levels can't be blank"] });
        }
        project.protectedEnvironments.push(pe);
        return pe;
    }

    private updateProtected(pe: DoubleProtectedEnvironment, params: Params): DoubleProtectedEnvironment {
        if (params.required_approval_count !== undefined && int(params, "required_approval_count") > 0) {
            throw new HttpError(422, { message: "Parameter 'required_approval_count' is deprecated and shouldn't be used. See https://gitlab.com/groups/gitlab-org/-/epics/9662" });
        }
        const deploy = params.deploy_access_levels === undefined ? pe.deploy_access_levels : (this.accessEntries(params.deploy_access_levels, "deploy_access_levels", pe.deploy_access_levels) as AccessEntry[]);
        const rules = params.approval_rules === undefined ? pe.approval_rules : (this.accessEntries(params.approval_rules, "approval_rules", pe.approval_rules, true) as ApprovalRule[]);
        if (deploy.length === 0) {
            throw new HttpError(422, { message: ["Deploy access levels can't be blank"] });
        }
        pe.deploy_access_levels = deploy;
        pe.approval_rules = rules;
        return pe;
    }

    /**
     * [penvs] Rails nested attributes as the API takes them: an entry with `id` updates that
     * entry, `id` + `_destroy: true` removes it, an entry without `id` adds one.
     */
    private accessEntries(raw: unknown, param: string, current: AccessEntry[], approval = false): (AccessEntry | ApprovalRule)[] {
        const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? Object.values(raw as object) : undefined;
        if (!list) {
            throw new HttpError(400, { error: `${param} is invalid` });
        }
        const result = current.map((e) => ({ ...e }));
        list.forEach((item, i) => {
            const p = (item ?? {}) as Params;
            const where = `${param}[${i}]`;
            const id = p.id === undefined ? undefined : int(p, "id", `${where}[id]`);
            const destroy = p._destroy !== undefined && bool(p, "_destroy", `${where}[_destroy]`);
            if (p.access_level !== undefined && ![30, 40, 60].includes(int(p, "access_level", `${where}[access_level]`))) {
                throw new HttpError(400, { error: `${where}[access_level] does not have a valid value` });
            }
            if (!destroy && p.access_level === undefined && p.user_id === undefined && p.group_id === undefined) {
                throw new HttpError(400, { error: `${where}[access_level], ${where}[user_id], ${where}[group_id] are missing, at least one parameter must be provided` });
            }
            if (id !== undefined) {
                const at = result.findIndex((e) => e.id === id);
                if (at < 0) {
                    throw new HttpError(404, { message: "404 Not found" });
                }
                if (destroy) {
                    result.splice(at, 1);
                } else {
                    Object.assign(result[at], pick(p));
                }
                return;
            }
            const entry: AccessEntry | ApprovalRule = {
                id: this.id(),
                access_level: p.access_level === undefined ? null : int(p, "access_level"),
                user_id: p.user_id === undefined ? null : int(p, "user_id"),
                group_id: p.group_id === undefined ? null : int(p, "group_id"),
                group_inheritance_type: p.group_inheritance_type === undefined ? 0 : int(p, "group_inheritance_type"),
                ...(approval ? { required_approvals: p.required_approvals === undefined ? 1 : int(p, "required_approvals") } : {}),
            };
            result.push(entry);
        });
        return result;

        function pick(p: Params): Partial<ApprovalRule> {
            const out: Partial<ApprovalRule> = {};
            if (p.access_level !== undefined) out.access_level = Number(p.access_level);
            if (p.required_approvals !== undefined && approval) out.required_approvals = Number(p.required_approvals);
            return out;
        }
    }

    private findDeployToken(project: DoubleProject, id: string): DoubleDeployToken {
        const t = /^[0-9]+$/.test(id) ? project.deployTokens.find((x) => x.id === Number(id)) : undefined;
        if (!t) {
            throw new HttpError(404, { message: "404 Not found" });
        }
        return t;
    }

    private createDeployToken(project: DoubleProject, params: Params): DoubleDeployToken {
        const missing = ["name", "scopes"].filter((k) => params[k] === undefined);
        if (missing.length > 0) {
            throw new HttpError(400, { error: missing.map((k) => `${k} is missing`).join(", ") });
        }
        const scopes = Array.isArray(params.scopes) ? params.scopes.map(String) : [String(params.scopes)];
        // [tokens] "Must be at least one of read_repository, read_registry, ...".
        if (scopes.length === 0 || scopes.some((s) => !DEPLOY_TOKEN_SCOPES.includes(s))) {
            throw new HttpError(400, { error: "scopes does not have a valid value" });
        }
        let expiresAt: string | null = null;
        if (params.expires_at !== undefined && params.expires_at !== null && params.expires_at !== "") {
            const t = Date.parse(String(params.expires_at));
            if (Number.isNaN(t)) {
                throw new HttpError(400, { error: "expires_at is invalid" });
            }
            expiresAt = new Date(t).toISOString();
        }
        const id = this.id();
        const username = params.username === undefined || params.username === "" ? `gitlab+deploy-token-${id}` : String(params.username);
        if (!/^[a-zA-Z0-9.+_-]+$/.test(username)) {
            throw new HttpError(400, { message: { username: ["can contain only letters, digits, '_', '-', '+', and '.'"] } });
        }
        const token: DoubleDeployToken = {
            id,
            name: String(params.name),
            username,
            expires_at: expiresAt,
            token: `gldt-${randomBytes(15).toString("base64url")}`,
            revoked: false,
            scopes,
        };
        project.deployTokens.push(token);
        return token;
    }

    private findMergeRequest(project: DoubleProject, iid: string) {
        const mr = /^[0-9]+$/.test(iid) ? project.mergeRequests.get(Number(iid)) : undefined;
        if (!mr) {
            throw new HttpError(404, { message: "404 Merge Request Not Found" });
        }
        return mr;
    }

    private findNote(notes: DoubleNote[], id: string): DoubleNote {
        const note = /^[0-9]+$/.test(id) ? notes.find((n) => n.id === Number(id)) : undefined;
        if (!note) {
            throw new HttpError(404, { message: "404 Note Not Found" });
        }
        return note;
    }

    private noteBody(params: Params): string {
        if (params.body === undefined) {
            throw new HttpError(400, { error: "body is missing" });
        }
        const body = String(params.body);
        // [notes] "body: The content of a note. Limited to 1,000,000 characters."
        if (body.length > 1_000_000) {
            throw new HttpError(400, { message: { note: ["is too long (maximum is 1000000 characters)"] } });
        }
        if (body.trim() === "") {
            throw new HttpError(400, { message: { note: ["can't be blank"] } });
        }
        return body;
    }

    /**
     * [rest] Offset pagination: `page` (default 1), `per_page` (default 20, max 100); headers
     * x-page, x-per-page, x-next-page, x-prev-page, x-total, x-total-pages, and a Link header with
     * rel prev/next/first/last built from the request's own URL.
     */
    private paginate(items: unknown[], params: Params, path: string, query: string): { status: number; body: unknown; headers: Record<string, string> } {
        const page = Math.max(1, params.page === undefined ? 1 : int(params, "page"));
        const perPage = Math.min(100, Math.max(1, params.per_page === undefined ? 20 : int(params, "per_page")));
        const total = items.length;
        const totalPages = Math.max(1, Math.ceil(total / perPage));
        const body = items.slice((page - 1) * perPage, page * perPage);
        const link = (p: number) => {
            const sp = new URLSearchParams(query);
            sp.set("page", String(p));
            sp.set("per_page", String(perPage));
            return `${this.url}${path}?${sp.toString()}`;
        };
        const links: string[] = [];
        if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
        if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
        links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
        return {
            status: 200,
            body,
            headers: {
                link: links.join(", "),
                "x-page": String(page),
                "x-per-page": String(perPage),
                "x-next-page": page < totalPages ? String(page + 1) : "",
                "x-prev-page": page > 1 ? String(page - 1) : "",
                "x-total": String(total),
                "x-total-pages": String(totalPages),
            },
        };
    }
}

/** What a proxy (nginx, a load balancer) sends for a 502: an HTML page, not GitLab's JSON. */
const BAD_GATEWAY_PAGE =
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n" +
    "<!-- a padding to the error page to disable friendly error page in MSIE -->\n".repeat(6) +
    "</body>\n</html>\n";

function ok(body: unknown) {
    return { status: 200, body };
}

function variableEntity(v: DoubleVariable): unknown {
    // [mask] "Hide a CI/CD variable": a hidden variable's value is never revealed again.
    return { ...v, value: v.hidden ? null : v.value };
}

function environmentEntity(e: DoubleEnvironment): unknown {
    return { ...e };
}

function protectedEntity(pe: DoubleProtectedEnvironment): unknown {
    const describe = (e: AccessEntry) => ({ ...e, access_level_description: e.access_level !== null ? ACCESS_LEVEL_DESCRIPTIONS[e.access_level] : "" });
    return {
        name: pe.name,
        deploy_access_levels: pe.deploy_access_levels.map(describe),
        // The deprecated total is still reported: the sum over the rules.
        required_approval_count: pe.approval_rules.reduce((n, r) => n + r.required_approvals, 0),
        approval_rules: pe.approval_rules.map(describe),
    };
}

function deployTokenEntity(t: DoubleDeployToken, withToken: boolean): unknown {
    // [tokens] the token value is returned only by the create call.
    const { token, ...rest } = t;
    return { ...rest, expired: expired(t), ...(withToken ? { token } : {}) };
}

function noteEntity(n: DoubleNote, iid: number, mrId: number): unknown {
    return {
        id: n.id,
        type: null,
        body: n.body,
        author: { id: n.author.id, username: n.author.username, name: n.author.name },
        created_at: n.created_at,
        updated_at: n.updated_at,
        system: false,
        noteable_id: mrId,
        noteable_type: "MergeRequest",
        noteable_iid: iid,
        resolvable: false,
        confidential: false,
        internal: false,
    };
}

function expired(t: DoubleDeployToken): boolean {
    return t.expires_at !== null && Date.parse(t.expires_at) < Date.now();
}

/** GitLab's `Environment#guess_tier` (app/models/environment.rb), in its order. */
function guessTier(name: string): string {
    if (/(dev|review|trunk)/i.test(name)) return "development";
    if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return "testing";
    if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return "staging";
    if (/(pr(o|)d|live)/i.test(name)) return "production";
    return "other";
}

function bool(p: Params, key: string, label = key): boolean {
    const v = p[key];
    if (v === true || v === "true" || v === "1" || v === 1 || v === "t" || v === "yes") return true;
    if (v === false || v === "false" || v === "0" || v === 0 || v === "f" || v === "no") return false;
    throw new HttpError(400, { error: `${label} is invalid` });
}

function int(p: Params, key: string, label = key): number {
    const v = p[key];
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
        throw new HttpError(400, { error: `${label} is invalid` });
    }
    return n;
}

function oneOf(p: Params, key: string, values: string[]): string {
    const v = String(p[key]);
    if (!values.includes(v)) {
        throw new HttpError(400, { error: `${key} does not have a valid value` });
    }
    return v;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
}

function parseBody(contentType: string | undefined, body: string): Params {
    if (body === "") {
        return {};
    }
    if ((contentType ?? "").includes("application/json")) {
        try {
            const parsed = JSON.parse(body) as unknown;
            return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Params) : {};
        } catch {
            throw new HttpError(400, { error: "The provided content-type 'application/json' is not supported." });
        }
    }
    return parseQuery(body);
}

/** Rack-style nested params: `filter[environment_scope]=x`, `scopes[]=a&scopes[]=b`. */
export function parseQuery(query: string): Params {
    const out: Params = {};
    for (const [rawKey, value] of new URLSearchParams(query)) {
        const keys = rawKey.replace(/\]/g, "").split("[");
        let node: Params = out;
        for (let i = 0; i < keys.length; i++) {
            const k = keys[i];
            if (i === keys.length - 1) {
                node[k] = value;
                break;
            }
            if (keys[i + 1] === "") {
                // `a[]=x`: an array of scalars (nested arrays of hashes are not used by these endpoints).
                node[k] = Array.isArray(node[k]) ? node[k] : [];
                (node[k] as unknown[]).push(value);
                break;
            }
            node[k] = node[k] && typeof node[k] === "object" ? node[k] : {};
            node = node[k] as Params;
        }
    }
    return out;
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
