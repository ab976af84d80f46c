import { describe, expect, it } from "vitest";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, parseQuery, useDouble } from "../support/gitlab";

/**
 * Conformance of the double to GitLab's documented behaviour. The provider tests trust the
 * double, so its rules are pinned here with raw HTTP, independent of gitbeaker.
 */

let gitlab: GitlabDouble;
let project: DoubleProject;
let url: string;

useDouble((started) => ({ gitlab, project, url } = started));

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = { "PRIVATE-TOKEN": DOUBLE_TOKEN }) {
    const res = await fetch(`${url}/api/v4${path}`, {
        method,
        headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
        json = text ? JSON.parse(text) : undefined;
    } catch {
        json = text;
    }
    return { status: res.status, json: json as any, headers: res.headers };
}

describe("authentication and projects", () => {
    it("answers 401 without a token or with an unknown one", async () => {
        expect(await api("GET", "/projects/42", undefined, {})).toMatchObject({ status: 401, json: { message: "401 Unauthorized" } });
        expect((await api("GET", "/projects/42", undefined, { "PRIVATE-TOKEN": "glpat-wrong" })).status).toBe(401);
    });

    it("accepts PRIVATE-TOKEN and Authorization: Bearer", async () => {
        expect((await api("GET", "/projects/42")).json.path_with_namespace).toBe("group/app");
        expect((await api("GET", "/projects/42", undefined, { Authorization: `Bearer ${DOUBLE_TOKEN}` })).status).toBe(200);
    });

    it("finds a project by id or URL-encoded path, and 404s otherwise", async () => {
        expect((await api("GET", "/projects/group%2Fapp")).json.id).toBe(42);
        expect(await api("GET", "/projects/99")).toMatchObject({ status: 404, json: { message: "404 Project Not Found" } });
        expect(await api("GET", "/projects/group%2Fother")).toMatchObject({ status: 404, json: { message: "404 Project Not Found" } });
        // An unencoded namespace path is not a route at all.
        expect((await api("GET", "/projects/group/app/variables")).status).toBe(404);
    });
});

describe("project variables", () => {
    it("creates, and refuses a duplicate key in the same scope with GitLab's message", async () => {
        const created = await api("POST", "/projects/42/variables", { key: "DB_URL", value: "postgres://a", environment_scope: "staging" });
        expect(created.status).toBe(201);
        expect(created.json).toEqual({
            variable_type: "env_var",
            key: "DB_URL",
            value: "postgres://a",
            protected: false,
            masked: false,
            hidden: false,
            raw: false,
            environment_scope: "staging",
            description: null,
        });
        const dup = await api("POST", "/projects/42/variables", { key: "DB_URL", value: "x", environment_scope: "staging" });
        expect(dup).toMatchObject({ status: 400, json: { message: { key: ["(DB_URL) has already been taken"] } } });
    });

    it("needs filter[environment_scope] once a key exists in two scopes (409 otherwise)", async () => {
        await api("POST", "/projects/42/variables", { key: "DB_URL", value: "staging-value", environment_scope: "staging" });
        expect((await api("GET", "/projects/42/variables/DB_URL")).json.value).toBe("staging-value");
        expect((await api("POST", "/projects/42/variables", { key: "DB_URL", value: "prod-value", environment_scope: "production" })).status).toBe(201);
        const conflict = "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'";
        expect(await api("GET", "/projects/42/variables/DB_URL")).toMatchObject({ status: 409, json: { message: conflict } });
        expect((await api("PUT", "/projects/42/variables/DB_URL", { value: "changed" })).status).toBe(409);
        expect((await api("DELETE", "/projects/42/variables/DB_URL")).status).toBe(409);
        expect((await api("GET", "/projects/42/variables/DB_URL?filter[environment_scope]=production")).json.value).toBe("prod-value");
        const put = await api("PUT", "/projects/42/variables/DB_URL", { value: "prod-2", filter: { environment_scope: "production" } });
        expect(put.json).toMatchObject({ value: "prod-2", environment_scope: "production" });
        expect(gitlab.variable(project, "DB_URL", "staging")?.value).toBe("staging-value");
        expect((await api("DELETE", "/projects/42/variables/DB_URL?filter%5Benvironment_scope%5D=staging")).status).toBe(204);
        expect(project.variables.map((v) => v.environment_scope)).toEqual(["production"]);
        expect(await api("GET", "/projects/42/variables/NOPE")).toMatchObject({ status: 404, json: { message: "404 Variable Not Found" } });
    });

    it("refuses a value that cannot be masked (400), by GitLab's two regexes", async () => {
        expect(await api("POST", "/projects/42/variables", { key: "A", value: "short", masked: true })).toMatchObject({
            status: 400,
            json: { message: { value: ["is invalid"] } },
        });
        expect((await api("POST", "/projects/42/variables", { key: "B", value: "has!bang!", masked: true })).status).toBe(400);
        // Raw masked values only need 8+ non-whitespace characters.
        expect((await api("POST", "/projects/42/variables", { key: "C", value: "has!bang!", masked: true, raw: true })).status).toBe(201);
        expect((await api("POST", "/projects/42/variables", { key: "D", value: "has space", masked: true, raw: true })).status).toBe(400);
        expect((await api("POST", "/projects/42/variables", { key: "E", value: "abc@def:gh.ij~kl-mn_op+qr/st=", masked: true })).status).toBe(201);
        expect(await api("POST", "/projects/42/variables", { key: "BAD-KEY", value: "v" })).toMatchObject({
            status: 400,
            json: { message: { key: ["can contain only letters, digits and '_'."] } },
        });
        expect(await api("POST", "/projects/42/variables", { key: "F" })).toMatchObject({ status: 400, json: { error: "value is missing" } });
    });

    it("paginates with x-* headers and a Link header", async () => {
        for (let i = 0; i < 25; i++) {
            await api("POST", "/projects/42/variables", { key: `K${String(i).padStart(2, "0")}`, value: "v" });
        }
        const page2 = await api("GET", "/projects/42/variables?per_page=10&page=2");
        expect(page2.json.map((v: { key: string }) => v.key)).toEqual(["K10", "K11", "K12", "K13", "K14", "K15", "K16", "K17", "K18", "K19"]);
        expect(
            Object.fromEntries(["x-page", "x-per-page", "x-next-page", "x-prev-page", "x-total", "x-total-pages"].map((h) => [h, page2.headers.get(h)])),
        ).toEqual({
            "x-page": "2",
            "x-per-page": "10",
            "x-next-page": "3",
            "x-prev-page": "1",
            "x-total": "25",
            "x-total-pages": "3",
        });
        expect(page2.headers.get("link")).toContain(`<${url}/api/v4/projects/42/variables?per_page=10&page=3>; rel="next"`);
        const last = await api("GET", "/projects/42/variables?per_page=10&page=3");
        expect(last.json).toHaveLength(5);
        expect(last.headers.get("x-next-page")).toBe("");
        expect(last.headers.get("link")).not.toContain('rel="next"');
        // Default per_page is 20, and at most 100 are returned.
        expect((await api("GET", "/projects/42/variables")).json).toHaveLength(20);
        expect((await api("GET", "/projects/42/variables?per_page=500")).headers.get("x-per-page")).toBe("100");
    });
});

describe("environments", () => {
    it("refuses to delete an available environment (403) until it is stopped", async () => {
        const env = await api("POST", "/projects/42/environments", { name: "review/fix-a", external_url: "https://a.example.com" });
        expect(env.status).toBe(201);
        expect(env.json).toMatchObject({ name: "review/fix-a", state: "available", tier: "development", external_url: "https://a.example.com" });
        expect(await api("POST", "/projects/42/environments", { name: "review/fix-a" })).toMatchObject({
            status: 400,
            json: { message: { name: ["has already been taken"] } },
        });
        expect(await api("DELETE", `/projects/42/environments/${env.json.id}`)).toMatchObject({ status: 403 });
        expect((await api("POST", `/projects/42/environments/${env.json.id}/stop`)).json.state).toBe("stopped");
        expect((await api("DELETE", `/projects/42/environments/${env.json.id}`)).status).toBe(204);
        expect(await api("GET", `/projects/42/environments/${env.json.id}`)).toMatchObject({ status: 404, json: { message: "404 Not found" } });
    });

    it("filters by exact name, updates url and tier, and validates names", async () => {
        await api("POST", "/projects/42/environments", { name: "staging" });
        await api("POST", "/projects/42/environments", { name: "staging-2" });
        const found = await api("GET", "/projects/42/environments?name=staging");
        expect(found.json.map((e: { name: string }) => e.name)).toEqual(["staging"]);
        expect(found.json[0].tier).toBe("staging");
        const put = await api("PUT", `/projects/42/environments/${found.json[0].id}`, { external_url: "https://s.example.com", tier: "other" });
        expect(put.json).toMatchObject({ external_url: "https://s.example.com", tier: "other" });
        expect((await api("POST", "/projects/42/environments", { name: "/bad" })).status).toBe(400);
        expect(await api("POST", "/projects/42/environments", { name: "x", tier: "prod" })).toMatchObject({
            status: 400,
            json: { error: "tier does not have a valid value" },
        });
    });
});

describe("protected environments", () => {
    it("protects, refuses a second protection (409) and the deprecated approval count (422)", async () => {
        const created = await api("POST", "/projects/42/protected_environments", {
            name: "production",
            deploy_access_levels: [{ access_level: 40 }],
            approval_rules: [{ access_level: 40, required_approvals: 2 }],
        });
        expect(created.status).toBe(201);
        expect(created.json).toMatchObject({
            name: "production",
            required_approval_count: 2,
            deploy_access_levels: [{ access_level: 40, access_level_description: "Maintainers" }],
        });
        expect(await api("POST", "/projects/42/protected_environments", { name: "production", deploy_access_levels: [{ access_level: 40 }] })).toMatchObject({
            status: 409,
            json: { message: "Environment 'production' is already protected" },
        });
        expect(
            (
                await api("POST", "/projects/42/protected_environments", {
                    name: "staging",
                    deploy_access_levels: [{ access_level: 40 }],
                    required_approval_count: 1,
                })
            ).status,
        ).toBe(422);
        expect(await api("POST", "/projects/42/protected_environments", { name: "x", deploy_access_levels: [{ access_level: 50 }] })).toMatchObject({
            status: 400,
            json: { error: "deploy_access_levels[0][access_level] does not have a valid value" },
        });
    });

    it("updates entries in place with nested attributes and needs encoded names", async () => {
        const created = await api("POST", "/projects/42/protected_environments", { name: "review/x", deploy_access_levels: [{ access_level: 40 }] });
        const oldId = created.json.deploy_access_levels[0].id;
        const put = await api("PUT", "/projects/42/protected_environments/review%2Fx", {
            deploy_access_levels: [{ access_level: 30 }, { id: oldId, _destroy: true }],
        });
        expect(put.json.deploy_access_levels.map((e: { access_level: number }) => e.access_level)).toEqual([30]);
        expect((await api("GET", "/projects/42/protected_environments/review%2Fx")).status).toBe(200);
        expect((await api("DELETE", "/projects/42/protected_environments/review%2Fx")).status).toBe(204);
        expect(await api("GET", "/projects/42/protected_environments/review%2Fx")).toMatchObject({ status: 404 });
    });
});

describe("deploy tokens", () => {
    it("returns the token value only on creation", async () => {
        const created = await api("POST", "/projects/42/deploy_tokens", { name: "pulls", scopes: ["read_registry"] });
        expect(created.status).toBe(201);
        expect(created.json.token).toMatch(/^gldt-/);
        expect(created.json.username).toBe(`gitlab+deploy-token-${created.json.id}`);
        const shown = await api("GET", `/projects/42/deploy_tokens/${created.json.id}`);
        expect(shown.json).not.toHaveProperty("token");
        expect(shown.json).toMatchObject({ name: "pulls", scopes: ["read_registry"], revoked: false, expired: false });
        expect(await api("POST", "/projects/42/deploy_tokens", { name: "x", scopes: ["read_everything"] })).toMatchObject({
            status: 400,
            json: { error: "scopes does not have a valid value" },
        });
        expect((await api("DELETE", `/projects/42/deploy_tokens/${created.json.id}`)).status).toBe(204);
        expect((await api("GET", `/projects/42/deploy_tokens/${created.json.id}`)).status).toBe(404);
    });
});

describe("container registry cleanup policy: regex length", () => {
    it("refuses a keep regex longer than 255 characters (the column's limit)", async () => {
        const res = await api("PUT", "/projects/42", { container_expiration_policy_attributes: { enabled: true, name_regex_keep: "a".repeat(256) } });
        expect(res).toMatchObject({
            status: 400,
            json: { message: { "container_expiration_policy.name_regex_keep": ["is too long (maximum is 255 characters)"] } },
        });
        expect((await api("PUT", "/projects/42", { container_expiration_policy_attributes: { enabled: true, name_regex_keep: "a".repeat(255) } })).status).toBe(
            200,
        );
    });
});

describe("container registry cleanup policy", () => {
    it("is edited through the project, and only with GitLab's allowed values", async () => {
        const put = await api("PUT", "/projects/42", {
            container_expiration_policy_attributes: {
                enabled: true,
                cadence: "7d",
                keep_n: 5,
                older_than: "30d",
                name_regex_delete: ".*",
                name_regex_keep: "^v.*",
            },
        });
        expect(put.json.container_expiration_policy).toMatchObject({
            enabled: true,
            cadence: "7d",
            keep_n: 5,
            older_than: "30d",
            name_regex: ".*",
            name_regex_keep: "^v.*",
        });
        expect((await api("PUT", "/projects/42", { container_expiration_policy_attributes: { cadence: "2d" } })).status).toBe(400);
        expect((await api("PUT", "/projects/42", { container_expiration_policy_attributes: { keep_n: 7 } })).status).toBe(400);
        expect(project.containerExpirationPolicy.cadence).toBe("7d");
    });
});

describe("CI/CD resource groups", () => {
    it("has no group until a job using it has run; then lists and shows it, unordered, by URL-encoded key", async () => {
        expect(await api("GET", "/projects/42/resource_groups")).toMatchObject({ status: 200, json: [] });
        expect(await api("GET", "/projects/42/resource_groups/review%2Ffix")).toMatchObject({ status: 404, json: { message: "404 Not found" } });
        expect(await api("PUT", "/projects/42/resource_groups/review%2Ffix", { process_mode: "oldest_first" })).toMatchObject({ status: 404 });
        // The API has no create.
        expect((await api("POST", "/projects/42/resource_groups", { key: "review/fix" })).status).toBe(404);
        gitlab.runJobInResourceGroup(project, "review/fix");
        const shown = await api("GET", "/projects/42/resource_groups/review%2Ffix");
        expect(shown.status).toBe(200);
        expect(shown.json).toMatchObject({ key: "review/fix", process_mode: "unordered" });
        expect(Object.keys(shown.json).sort()).toEqual(["created_at", "id", "key", "process_mode", "updated_at"]);
        expect((await api("GET", "/projects/group%2Fapp/resource_groups")).json.map((g: { key: string }) => g.key)).toEqual(["review/fix"]);
        // An unencoded key is not a route.
        expect((await api("GET", "/projects/42/resource_groups/review/fix")).status).toBe(404);
    });

    it("edits the process mode, only to one of GitLab's modes", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        for (const mode of ["oldest_first", "newest_first", "newest_ready_first", "unordered"]) {
            expect(await api("PUT", "/projects/42/resource_groups/staging", { process_mode: mode })).toMatchObject({
                status: 200,
                json: { process_mode: mode },
            });
        }
        expect(await api("PUT", "/projects/42/resource_groups/staging", { process_mode: "fifo" })).toMatchObject({
            status: 400,
            json: { error: "process_mode does not have a valid value" },
        });
        expect(project.resourceGroups[0].process_mode).toBe("unordered");
        // A second job in the same group makes no second group.
        gitlab.runJobInResourceGroup(project, "staging");
        expect(project.resourceGroups).toHaveLength(1);
    });
});

describe("merge request notes", () => {
    it("creates, lists (newest first by default) and edits notes", async () => {
        const a = await api("POST", "/projects/42/merge_requests/7/notes", { body: "first" });
        const b = await api("POST", "/projects/42/merge_requests/7/notes", { body: "second" });
        expect(a.status).toBe(201);
        expect(a.json).toMatchObject({ body: "first", noteable_type: "MergeRequest", noteable_iid: 7, author: { username: "maintainer" } });
        expect((await api("GET", "/projects/42/merge_requests/7/notes")).json.map((n: { body: string }) => n.body)).toEqual(["second", "first"]);
        expect((await api("GET", "/projects/42/merge_requests/7/notes?sort=asc")).json.map((n: { body: string }) => n.body)).toEqual(["first", "second"]);
        expect((await api("PUT", `/projects/42/merge_requests/7/notes/${b.json.id}`, { body: "edited" })).json.body).toBe("edited");
        expect(await api("GET", "/projects/42/merge_requests/8/notes")).toMatchObject({ status: 404, json: { message: "404 Merge Request Not Found" } });
        expect((await api("POST", "/projects/42/merge_requests/7/notes", { body: "x".repeat(1_000_001) })).status).toBe(400);
    });

    it("lets the author edit a note, and a Maintainer edit anyone's, but not a Developer", async () => {
        gitlab.addUser("glpat-developer-0001", "developer", 30);
        const note = await api("POST", "/projects/42/merge_requests/7/notes", { body: "mine" });
        expect(
            (await api("PUT", `/projects/42/merge_requests/7/notes/${note.json.id}`, { body: "theirs" }, { "PRIVATE-TOKEN": "glpat-developer-0001" })).status,
        ).toBe(403);
        const theirs = await api("POST", "/projects/42/merge_requests/7/notes", { body: "by a developer" }, { "PRIVATE-TOKEN": "glpat-developer-0001" });
        expect(theirs.json.author).toEqual({ id: 2, username: "developer", name: "developer" });
        expect(
            (
                await api(
                    "PUT",
                    `/projects/42/merge_requests/7/notes/${theirs.json.id}`,
                    { body: "edited by the developer" },
                    { "PRIVATE-TOKEN": "glpat-developer-0001" },
                )
            ).status,
        ).toBe(200);
        expect((await api("PUT", `/projects/42/merge_requests/7/notes/${theirs.json.id}`, { body: "edited by a maintainer" })).status).toBe(200);
    });

    it("tells the token's user (GET /user)", async () => {
        const res = await fetch(`${url}/api/v4/user`, { headers: { "PRIVATE-TOKEN": DOUBLE_TOKEN } });
        expect(await res.json()).toMatchObject({ id: 1, username: "maintainer" });
    });
});

describe("fault injection and parameters", () => {
    it("answers the next N requests with the injected status, then recovers", async () => {
        gitlab.failNext(2, 503);
        expect((await api("GET", "/projects/42")).status).toBe(503);
        expect((await api("GET", "/projects/42")).status).toBe(503);
        expect((await api("GET", "/projects/42")).status).toBe(200);
        gitlab.failNext(1, 502, { method: "POST" });
        expect((await api("GET", "/projects/42")).status).toBe(200);
        const bad = await api("POST", "/projects/42/variables", { key: "A", value: "b" });
        expect(bad.status).toBe(502);
        expect(bad.headers.get("content-type")).toBe("text/html");
    });

    it("answers a project the token cannot see exactly like a missing one", async () => {
        gitlab.hideProject(project, DOUBLE_TOKEN);
        expect(await api("GET", "/projects/42")).toMatchObject({ status: 404, json: { message: "404 Project Not Found" } });
        expect(await api("GET", "/projects/group%2Fapp/variables")).toMatchObject({ status: 404, json: { message: "404 Project Not Found" } });
        expect(await api("GET", "/projects/4242")).toMatchObject({ status: 404, json: { message: "404 Project Not Found" } });
    });

    it("throttles N calls with Retry-After in seconds or as an HTTP date, and for a time window", async () => {
        gitlab.rateLimit({ calls: 2, retryAfterSeconds: 7 });
        const first = await api("GET", "/projects/42");
        expect(first.status).toBe(429);
        expect(first.headers.get("retry-after")).toBe("7");
        expect((await api("GET", "/projects/42")).status).toBe(429);
        expect((await api("GET", "/projects/42")).status).toBe(200);
        gitlab.rateLimit({ calls: 1, retryAfterSeconds: 3, format: "date" });
        const dated = await api("GET", "/projects/42");
        const at = Date.parse(dated.headers.get("retry-after")!);
        expect(at - Date.now()).toBeGreaterThan(2000);
        expect(at - Date.now()).toBeLessThanOrEqual(4000);
        gitlab.rateLimit({ windowMs: 300 });
        const windowed = await api("GET", "/projects/42");
        expect(windowed.status).toBe(429);
        expect(windowed.headers.get("retry-after")).toBe("1");
        await new Promise((r) => setTimeout(r, 350));
        expect((await api("GET", "/projects/42")).status).toBe(200);
    });

    it("commits a request and then answers 502, or drops the connection", async () => {
        gitlab.failAfterCommit(1, "502", { method: "POST" });
        const lost = await api("POST", "/projects/42/variables", { key: "COMMITTED", value: "v" });
        expect(lost.status).toBe(502);
        expect(gitlab.variable(project, "COMMITTED")).toBeDefined();
        gitlab.failAfterCommit(1, "reset", { method: "POST" });
        await expect(api("POST", "/projects/42/variables", { key: "RESET", value: "v" })).rejects.toThrow();
        expect(gitlab.variable(project, "RESET")).toBeDefined();
    });

    it("parses Rack-style nested query parameters", () => {
        expect(parseQuery("filter[environment_scope]=production&scopes[]=a&scopes[]=b&x=1")).toEqual({
            filter: { environment_scope: "production" },
            scopes: ["a", "b"],
            x: "1",
        });
    });

    it("accepts form-encoded bodies as curl --form/--data send them", async () => {
        const res = await fetch(`${url}/api/v4/projects/42/variables`, {
            method: "POST",
            headers: { "PRIVATE-TOKEN": DOUBLE_TOKEN, "content-type": "application/x-www-form-urlencoded" },
            body: "key=FORM_VAR&value=v&masked=false&protected=true",
        });
        expect(res.status).toBe(201);
        expect(gitlab.variable(project, "FORM_VAR")).toMatchObject({ protected: true, masked: false });
    });
});
