import type * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanupPolicyProvider } from "../../components/gitlab/cleanupPolicy";
import { deployTokenProvider } from "../../components/gitlab/deployToken";
import { environmentProvider } from "../../components/gitlab/environment";
import { projectVariableProvider } from "../../components/gitlab/projectVariable";
import { protectedEnvironmentProvider } from "../../components/gitlab/protectedEnvironment";
import { resourceGroupProvider } from "../../components/gitlab/resourceGroup";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, handMadeVariable, useDouble, useRetryPolicy } from "../support/gitlab";

/**
 * The dynamic providers' CRUD against the GitLab double, called the way the engine calls them:
 * check -> create, read (refresh/import), diff -> update or replace, delete.
 */

let gitlab: GitlabDouble;
let project: DoubleProject;
let conn: { gitlabUrl: string; gitlabToken: string; project: string };

// Shorter server-error backoff for the suite (the policy is otherwise the default one).
useRetryPolicy("baseDelayMs=5");
useDouble((started) => {
    gitlab = started.gitlab;
    project = started.project;
    conn = { gitlabUrl: started.url, gitlabToken: DOUBLE_TOKEN, project: "group/app" };
});

type Provider = pulumi.dynamic.ResourceProvider;

async function checked(provider: Provider, news: Record<string, unknown>) {
    const { inputs, failures } = await provider.check!({}, news);
    expect(failures ?? []).toEqual([]);
    return inputs;
}

async function createChecked(provider: Provider, news: Record<string, unknown>) {
    const inputs = await checked(provider, news);
    const created = await provider.create(inputs);
    return { inputs, ...created };
}

describe("ProjectVariable", () => {
    const p = projectVariableProvider;

    it("creates a masked variable with its flags, and reads it back", async () => {
        const { id, outs } = await createChecked(p, {
            ...conn,
            key: "DB_PASSWORD",
            value: "s3cret-Value",
            masked: true,
            protected: true,
            environmentScope: "staging",
            description: "db",
        });
        expect(id).toBe("42:DB_PASSWORD:staging");
        expect(gitlab.variable(project, "DB_PASSWORD", "staging")).toEqual({
            variable_type: "env_var",
            key: "DB_PASSWORD",
            value: "s3cret-Value",
            protected: true,
            masked: true,
            hidden: false,
            raw: false,
            environment_scope: "staging",
            description: "db",
        });
        const read = await p.read!(id, outs);
        expect(read).toEqual({ id, props: outs });
    });

    it("sees drift on read, and puts it back with an in-place update (no replace)", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, key: "API_URL", value: "https://api.example.com", masked: false });
        gitlab.variable(project, "API_URL")!.value = "https://changed.example.com";
        gitlab.variable(project, "API_URL")!.protected = true;
        const read = await p.read!(id, outs);
        expect(read.props).toMatchObject({ value: "https://changed.example.com", protected: true });
        const diff = await p.diff!(id, read.props, inputs);
        expect(diff).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const before = gitlab.requests.length;
        const updated = await p.update!(id, read.props, inputs);
        expect(updated.outs).toMatchObject({ value: "https://api.example.com", protected: false });
        expect(gitlab.variable(project, "API_URL")).toMatchObject({ value: "https://api.example.com", protected: false });
        expect(gitlab.requests.slice(before).map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 200"]);
    });

    it("reports no changes for equal inputs, in-place for value/flags, replace for key and scope", async () => {
        const base = await checked(p, { ...conn, key: "A_KEY", value: "one-value", masked: true });
        expect((await p.diff!("x", base, base)).changes).toBe(false);
        for (const [field, value] of [
            ["value", "two-value"],
            ["masked", false],
            ["protected", true],
            ["raw", true],
            ["variableType", "file"],
            ["description", "d"],
            ["gitlabToken", "rotated"],
            ["adopt", true],
        ] as const) {
            expect(await p.diff!("x", base, { ...base, [field]: value }), field).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        }
        expect((await p.diff!("x", base, { ...base, key: "B_KEY" })).replaces).toEqual(["key"]);
        expect((await p.diff!("x", base, { ...base, environmentScope: "production" })).replaces).toEqual(["environmentScope"]);
        expect((await p.diff!("x", base, { ...base, project: "43" })).replaces).toEqual(["project"]);
        expect((await p.diff!("x", base, { ...base, gitlabUrl: "https://other.example.com" })).replaces).toEqual(["gitlabUrl"]);
    });

    it("stores a rotated token without calling GitLab", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, key: "ROTATE", value: "v", masked: false });
        const before = gitlab.requests.length;
        const updated = await p.update!(id, outs, { ...inputs, gitlabToken: "glpat-new" });
        expect(updated.outs.gitlabToken).toBe("glpat-new");
        expect(gitlab.requests.length).toBe(before);
    });

    it("handles the same key in two scopes: each read, update and delete touches only its scope", async () => {
        const staging = await createChecked(p, { ...conn, key: "DB_URL", value: "postgres://staging", masked: false, environmentScope: "staging" });
        const production = await createChecked(p, { ...conn, key: "DB_URL", value: "postgres://production", masked: false, environmentScope: "production" });
        expect(production.id).toBe("42:DB_URL:production");
        expect((await p.read!(staging.id, staging.outs)).props.value).toBe("postgres://staging");
        expect((await p.read!(production.id, production.outs)).props.value).toBe("postgres://production");
        await p.update!(staging.id, staging.outs, { ...staging.inputs, value: "postgres://staging-2" });
        expect(gitlab.variable(project, "DB_URL", "staging")!.value).toBe("postgres://staging-2");
        expect(gitlab.variable(project, "DB_URL", "production")!.value).toBe("postgres://production");
        await p.delete!(staging.id, staging.outs);
        expect(project.variables.map((v) => `${v.key}@${v.environment_scope}`)).toEqual(["DB_URL@production"]);
        // Without a filter GitLab would have answered 409 for every call above.
        expect(gitlab.requests.filter((r) => r.status === 409)).toEqual([]);
    });

    it("imports an existing variable by id from inputs alone, and reports a deleted one as gone", async () => {
        gitlab.variable(project, "X") ??
            project.variables.push({
                variable_type: "file",
                key: "KUBECONFIG",
                value: "apiVersion: v1",
                protected: false,
                masked: false,
                hidden: false,
                raw: true,
                environment_scope: "*",
                description: null,
            });
        const imported = await p.read!("group/app:KUBECONFIG:*", { ...conn, key: "KUBECONFIG" });
        expect(imported).toEqual({
            id: "group/app:KUBECONFIG:*",
            props: {
                ...conn,
                adopt: false,
                key: "KUBECONFIG",
                value: "apiVersion: v1",
                masked: false,
                protected: false,
                raw: true,
                variableType: "file",
                environmentScope: "*",
                description: "",
                projectId: 42,
                projectPath: "group/app",
            },
        });
        project.variables.length = 0;
        expect(await p.read!("group/app:KUBECONFIG:*", imported.props)).toEqual({ id: "", props: {} });
    });

    it("refuses an existing variable on create, and says how to adopt it", async () => {
        project.variables.push(handMadeVariable("TAKEN", "by hand"));
        const inputs = await checked(p, { ...conn, key: "TAKEN", value: "v", masked: false });
        await expect(p.create(inputs)).rejects.toThrow(
            /create variable TAKEN \(scope \*\) in project group\/app failed: HTTP 400 Bad Request from POST \/api\/v4\/projects\/42\/variables: \{"key":\["\(TAKEN\) has already been taken"\]\}.*adopt it \(adopt: true; in config: pulumi config set --path 'gitlab:variables.TAKEN.adopt' true\)/,
        );
        expect(gitlab.variable(project, "TAKEN")!.value).toBe("by hand");
    });

    it("adopts a variable made by hand when asked: the same GitLab variable, updated, not created", async () => {
        project.variables.push(handMadeVariable("HAND", "by hand", { protected: true, environment_scope: "staging" }));
        const existing = gitlab.variable(project, "HAND", "staging");
        const { id, outs } = await createChecked(p, { ...conn, key: "HAND", value: "from-pulumi", masked: false, environmentScope: "staging", adopt: true });
        expect(id).toBe("42:HAND:staging");
        expect(gitlab.variable(project, "HAND", "staging")).toBe(existing);
        expect(existing).toMatchObject({ value: "from-pulumi", protected: false });
        expect(outs).toMatchObject({ adopt: true, value: "from-pulumi" });
        // The project lookup, the variable lookup, the edit.
        expect(gitlab.requests.map((r) => r.method)).toEqual(["GET", "GET", "PUT"]);
        // With nothing to adopt it simply creates.
        await createChecked(p, { ...conn, key: "FRESH", value: "v", masked: false, adopt: true });
        expect(gitlab.variable(project, "FRESH")?.value).toBe("v");
    });

    it("rejects an unmaskable value in check and create, naming the key, before any API call", async () => {
        const { failures } = await p.check!({}, { ...conn, key: "SHORT_SECRET", value: "abc", masked: true });
        expect(failures).toEqual([
            {
                property: "value",
                reason: "GitLab variable SHORT_SECRET (scope *) cannot be masked: it has 3 characters; a masked value needs at least 8. Change the value, or set masked: false",
            },
        ]);
        const withSpace = await p.check!({}, { ...conn, key: "SPACED", value: "two words here", masked: true, raw: true });
        expect(withSpace.failures![0].reason).toContain("GitLab variable SPACED (scope *) cannot be masked: it contains spaces or tabs");
        await expect(p.create({ ...withSpace.inputs })).rejects.toThrow("GitLab variable SPACED (scope *) cannot be masked");
        expect(gitlab.requests).toEqual([]);
        // The value itself never appears in the message.
        expect(JSON.stringify(withSpace.failures)).not.toContain("two words here");
    });

    it("retries 5xx answers and succeeds (a failed POST is looked up before it is sent again)", async () => {
        gitlab.failNext(2, 503, { method: "POST" });
        const { id } = await createChecked(p, { ...conn, key: "RETRIED", value: "v", masked: false });
        expect(id).toBe("42:RETRIED:*");
        expect(gitlab.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["GET 200", "POST 503", "GET 404", "POST 503", "GET 404", "POST 201"]);
    });

    it("gives up after the bounded attempts and reports what failed", async () => {
        gitlab.failNext(100, 500, { method: "POST" });
        const inputs = await checked(p, { ...conn, key: "DOOMED", value: "v", masked: false });
        const error = await p.create(inputs).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error?.message).toBe(
            "GitLab: create variable DOOMED (scope *) in project group/app failed: HTTP 500 Internal Server Error from POST /api/v4/projects/42/variables (gave up after attempt 6): 500 Internal Server Error.",
        );
        expect(gitlab.requests.filter((r) => r.method === "POST")).toHaveLength(6);
    });

    it("reports a persistent 502 with its status after one bounded policy (gitbeaker's own retries are off)", async () => {
        gitlab.failNext(1000, 502);
        const inputs = await checked(p, { ...conn, key: "BAD_GATEWAY", value: "v", masked: false });
        const error = (await p.create(inputs).catch((e: Error) => e)) as Error;
        expect(error.message).toBe(
            "GitLab: look up project group/app failed: HTTP 502 Bad Gateway from GET /api/v4/projects/group%2Fapp (gave up after attempt 6): 502 Bad Gateway.",
        );
        expect(gitlab.requests).toHaveLength(6);
        expect(project.variables).toEqual([]);
    });

    it("does not retry a 4xx, and explains a 401 without leaking the token", async () => {
        const inputs = await checked(p, { ...conn, gitlabToken: "glpat-revoked-token", key: "NOAUTH", value: "v", masked: false });
        const error = (await p.create(inputs).catch((e: Error) => e)) as Error;
        expect(error.message).toContain("HTTP 401 Unauthorized");
        expect(error.message).toContain("Hint: the token is missing, expired or revoked");
        expect(error.message).not.toContain("glpat-revoked-token");
        expect(gitlab.requests).toHaveLength(1);
    });

    it("deletes, and treats an already deleted variable as deleted", async () => {
        const { id, outs } = await createChecked(p, { ...conn, key: "GONE", value: "v", masked: false });
        await p.delete!(id, outs);
        expect(project.variables).toEqual([]);
        await expect(p.delete!(id, outs)).resolves.toBeUndefined();
    });
});

describe("Environment", () => {
    const p = environmentProvider;

    it("creates with a tier inferred from the name, updates the URL in place, replaces on rename", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, name: "review/fix-login", externalUrl: "https://fix-login.example.com" });
        const env = project.environments[0];
        expect(id).toBe(`42:${env.id}`);
        expect(env).toMatchObject({ name: "review/fix-login", tier: "development", external_url: "https://fix-login.example.com", state: "available" });
        expect(outs).toMatchObject({ environmentId: env.id, tier: "development", state: "available" });
        const moved = { ...inputs, externalUrl: "https://moved.example.com" };
        expect(await p.diff!(id, outs, moved)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        await p.update!(id, outs, moved);
        expect(env.external_url).toBe("https://moved.example.com");
        expect((await p.diff!(id, outs, { ...inputs, name: "review/other" })).replaces).toEqual(["name"]);
        expect((await p.diff!(id, outs, inputs)).changes).toBe(false);
    });

    it("adopts an environment GitLab already created for a job", async () => {
        const existing = project.environments.length;
        await createChecked(p, { ...conn, name: "staging" });
        expect(project.environments.length).toBe(existing + 1);
        const again = await createChecked(p, { ...conn, name: "staging", externalUrl: "https://staging.example.com" });
        expect(project.environments).toHaveLength(existing + 1);
        expect(again.outs).toMatchObject({ name: "staging", externalUrl: "https://staging.example.com", tier: "staging" });
    });

    it("stops an available environment before deleting it", async () => {
        const { id, outs } = await createChecked(p, { ...conn, name: "review/stop-me" });
        const before = gitlab.requests.length;
        await p.delete!(id, outs);
        expect(project.environments).toEqual([]);
        expect(gitlab.requests.slice(before).map((r) => `${r.method} ${r.path.replace(/\/[0-9]+/g, "/N")} ${r.status}`)).toEqual([
            "GET /api/v4/projects/N/environments/N 200",
            "POST /api/v4/projects/N/environments/N/stop 200",
            "DELETE /api/v4/projects/N/environments/N 204",
        ]);
    });

    it("reads drift and deletion", async () => {
        const { id, outs } = await createChecked(p, { ...conn, name: "production" });
        project.environments[0].tier = "other";
        expect((await p.read!(id, outs)).props).toMatchObject({ tier: "other", name: "production" });
        project.environments.length = 0;
        expect(await p.read!(id, outs)).toEqual({ id: "", props: {} });
    });

    it("rejects invalid names and URLs in check", async () => {
        const { failures } = await p.check!({}, { ...conn, name: "/bad/", externalUrl: "ftp://x", tier: "prod" });
        expect(failures!.map((f) => f.property)).toEqual(["name", "externalUrl", "tier"]);
    });
});

describe("ProtectedEnvironment", () => {
    const p = protectedEnvironmentProvider;

    it("protects with a deploy level and an approval rule, changes them in place, unprotects", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, environment: "production", deployAccessLevel: 40, requiredApprovals: 1 });
        expect(id).toBe("42:production");
        expect(outs).toMatchObject({ deployAccessLevel: 40, requiredApprovals: 1, approverAccessLevel: 40 });
        const pe = project.protectedEnvironments[0];
        expect(pe.approval_rules.map((r) => [r.access_level, r.required_approvals])).toEqual([[40, 1]]);
        const news = { ...inputs, deployAccessLevel: 60, requiredApprovals: 2 };
        expect(await p.diff!(id, outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const updated = await p.update!(id, outs, news);
        expect(updated.outs).toMatchObject({ deployAccessLevel: 60, requiredApprovals: 2 });
        expect(project.protectedEnvironments[0].deploy_access_levels.map((e) => e.access_level)).toEqual([60]);
        expect(project.protectedEnvironments[0].approval_rules.map((r) => r.required_approvals)).toEqual([2]);
        // Never unprotected in between: no DELETE/POST during the update.
        expect(gitlab.requests.filter((r) => r.method === "DELETE")).toEqual([]);
        const none = await p.update!(id, updated.outs, { ...news, requiredApprovals: 0 });
        expect(none.outs.requiredApprovals).toBe(0);
        expect(project.protectedEnvironments[0].approval_rules).toEqual([]);
        await p.delete!(id, none.outs);
        expect(project.protectedEnvironments).toEqual([]);
    });

    it("works for names with a slash (URL-encoded) and imports by id", async () => {
        await createChecked(p, { ...conn, environment: "review/x" });
        const imported = await p.read!("group/app:review/x", { ...conn });
        expect(imported.props).toMatchObject({ environment: "review/x", deployAccessLevel: 40, requiredApprovals: 0 });
    });

    it("explains an environment that is already protected", async () => {
        await createChecked(p, { ...conn, environment: "production" });
        const inputs = await checked(p, { ...conn, environment: "production" });
        await expect(p.create(inputs)).rejects.toThrow(/HTTP 409 Conflict.*Environment 'production' is already protected.*import: "42:production"/);
    });

    it("rejects unknown access levels", async () => {
        const { failures } = await p.check!({}, { ...conn, environment: "production", deployAccessLevel: 50, requiredApprovals: -1 });
        expect(failures!.map((f) => f.property)).toEqual(["deployAccessLevel", "requiredApprovals"]);
    });
});

describe("DeployToken", () => {
    const p = deployTokenProvider;

    it("creates a read_registry token whose value is kept from creation", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, name: "staging image pulls" });
        const t = project.deployTokens[0];
        expect(id).toBe(`42:${t.id}`);
        expect(outs).toMatchObject({ tokenId: t.id, token: t.token, username: t.username, scopes: ["read_registry"], revoked: false });
        expect(t.scopes).toEqual(["read_registry"]);
        const read = await p.read!(id, outs);
        expect(read.props).toMatchObject({ token: t.token, username: t.username });
        expect((await p.diff!(id, outs, inputs)).changes).toBe(false);
    });

    it("replaces on any change (GitLab cannot update a token), creating the new one first", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, name: "pulls" });
        for (const change of [{ name: "pulls-2" }, { scopes: ["read_registry", "read_repository"] }, { expiresAt: "2030-01-01" }, { username: "puller" }]) {
            const diff = await p.diff!(id, outs, { ...inputs, ...change });
            expect(diff.replaces, JSON.stringify(change)).toEqual(Object.keys(change));
            expect(diff.deleteBeforeReplace).toBe(false);
        }
    });

    it("reports a revoked or deleted token as gone so the next up makes a new one", async () => {
        const { id, outs } = await createChecked(p, { ...conn, name: "pulls" });
        project.deployTokens[0].revoked = true;
        expect(await p.read!(id, outs)).toEqual({ id: "", props: {} });
        await p.delete!(id, outs);
        expect(project.deployTokens).toEqual([]);
        expect(await p.read!(id, outs)).toEqual({ id: "", props: {} });
    });
});

describe("ContainerRegistryCleanupPolicy", () => {
    const p = cleanupPolicyProvider;

    it("keeps release tags and the newest N, updates in place, and is disabled on delete", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn, keepN: 5 });
        expect(id).toBe("42");
        expect(project.containerExpirationPolicy).toMatchObject({
            enabled: true,
            cadence: "1d",
            keep_n: 5,
            older_than: "14d",
            name_regex: ".*",
            // The user's keep regex (the default: version tags) OR every release tag, as one group.
            name_regex_keep: "(?:(?:^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$)|(?:release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+))",
        });
        // What the preview shows (the checked input), the state and GitLab hold the same regex: no drift.
        expect(inputs.nameRegexKeep).toBe(project.containerExpirationPolicy.name_regex_keep);
        expect((await p.read!(id, outs)).props).toMatchObject({ keepN: 5, enabled: true, nameRegexKeep: inputs.nameRegexKeep });
        expect((await p.diff!(id, (await p.read!(id, outs)).props, await checked(p, { ...conn, keepN: 5 }))).changes).toBe(false);
        const news = { ...inputs, olderThan: "30d" };
        expect(await p.diff!(id, outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        await p.update!(id, outs, news);
        expect(project.containerExpirationPolicy.older_than).toBe("30d");
        await p.delete!(id, outs);
        expect(project.containerExpirationPolicy.enabled).toBe(false);
    });

    it("rejects values GitLab does not accept, and regexes RE2 cannot run", async () => {
        const { failures } = await p.check!({}, { ...conn, keepN: 7, cadence: "2d", nameRegexKeep: "^(?!v).*" });
        expect(failures!.map((f) => f.property)).toEqual(["cadence", "keepN", "nameRegexKeep"]);
    });
});

describe("ContainerRegistryCleanupPolicy keep regex", () => {
    const p = cleanupPolicyProvider;

    it("adds release tags to any user keep regex, even .* or none matching them, and never twice", async () => {
        for (const user of ["v.+", "", ".*", "main"]) {
            const inputs = await checked(p, { ...conn, nameRegexKeep: user });
            expect(inputs.nameRegexKeep).toBe(`(?:(?:${user})|(?:release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+))`);
            expect((await checked(p, { ...conn, nameRegexKeep: inputs.nameRegexKeep })).nameRegexKeep).toBe(inputs.nameRegexKeep);
        }
    });

    it("names the user's regex, not the combined one, in a problem", async () => {
        const { failures } = await p.check!({}, { ...conn, nameRegexKeep: "a".repeat(197) });
        expect(failures).toEqual([
            {
                property: "nameRegexKeep",
                reason: "cleanup policy nameRegexKeep is 197 characters; with the release tag pattern added GitLab stores at most 255, so it may have at most 196",
            },
        ]);
    });

    it("sees a keep regex changed by hand (release part dropped) as drift, and puts it back", async () => {
        const { id, inputs, outs } = await createChecked(p, { ...conn });
        project.containerExpirationPolicy.name_regex_keep = "v.+";
        const read = await p.read!(id, outs);
        expect(read.props.nameRegexKeep).toBe("v.+");
        expect((await p.diff!(id, read.props, inputs)).changes).toBe(true);
        await p.update!(id, read.props, inputs);
        expect(project.containerExpirationPolicy.name_regex_keep).toBe(inputs.nameRegexKeep);
    });
});

describe("ResourceGroup", () => {
    const p = resourceGroupProvider;
    const warnings: string[] = [];
    const warn = () => vi.spyOn(console, "warn").mockImplementation((m: string) => void warnings.push(String(m)));
    afterEach(() => {
        vi.restoreAllMocks();
        warnings.length = 0;
    });

    it("sets an existing group's mode (adopts what a pipeline made), reads it back, and changes it in place", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        const { id, inputs, outs } = await createChecked(p, { ...conn, key: "staging" });
        expect(id).toBe("42:staging");
        expect(outs).toMatchObject({ key: "staging", processMode: "oldest_first", exists: true, projectId: 42, projectPath: "group/app" });
        expect(project.resourceGroups.map((g) => [g.key, g.process_mode])).toEqual([["staging", "oldest_first"]]);
        const read = await p.read!(id, outs);
        expect(read).toEqual({ id, props: outs });
        expect((await p.diff!(id, read.props, inputs)).changes).toBe(false);
        const news = { ...inputs, processMode: "newest_ready_first" };
        expect(await p.diff!(id, read.props, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        expect((await p.update!(id, read.props, news)).outs).toMatchObject({ processMode: "newest_ready_first", exists: true });
        expect(project.resourceGroups[0].process_mode).toBe("newest_ready_first");
        expect((await p.diff!(id, read.props, { ...inputs, key: "production" })).replaces).toEqual(["key"]);
    });

    it("URL-encodes a review key (review%2Ffix-login)", async () => {
        gitlab.runJobInResourceGroup(project, "review/fix-login");
        const before = gitlab.requests.length;
        const { id } = await createChecked(p, { ...conn, key: "review/fix-login" });
        expect(id).toBe("42:review/fix-login");
        expect(gitlab.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
            "GET /api/v4/projects/group%2Fapp 200",
            "PUT /api/v4/projects/42/resource_groups/review%2Ffix-login 200",
        ]);
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
    });

    it("does not fail when the group is not there yet: records it, warns, and the next up sets the mode once a job has run", async () => {
        warn();
        const { id, inputs, outs } = await createChecked(p, { ...conn, key: "staging" });
        expect(outs).toMatchObject({ key: "staging", processMode: "oldest_first", exists: false });
        expect(warnings).toEqual([
            "GitLab: resource group staging does not exist yet in project group/app, so its process mode is not set: GitLab creates it when the first job with resource_group: staging runs (the API cannot create one), and the next pulumi up sets it to oldest_first.",
        ]);
        // The API has no create: nothing was made.
        expect(project.resourceGroups).toEqual([]);
        // Refresh keeps it (not there yet is not gone), and every later up tries again.
        const read = await p.read!(id, outs);
        expect(read).toEqual({ id, props: outs });
        expect(await p.diff!(id, read.props, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
        const still = await p.update!(id, read.props, inputs);
        expect(still.outs).toMatchObject({ exists: false });
        expect(warnings).toHaveLength(2);

        gitlab.runJobInResourceGroup(project, "staging");
        expect(project.resourceGroups[0].process_mode).toBe("unordered");
        const set = await p.update!(id, still.outs, inputs);
        expect(set.outs).toMatchObject({ processMode: "oldest_first", exists: true });
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
        expect((await p.diff!(id, set.outs, inputs)).changes).toBe(false);
        expect(warnings).toHaveLength(2);
    });

    it("reports a mode changed by hand as drift on refresh, and the update puts it back", async () => {
        gitlab.runJobInResourceGroup(project, "production");
        const { id, inputs, outs } = await createChecked(p, { ...conn, key: "production" });
        project.resourceGroups[0].process_mode = "unordered";
        const read = await p.read!(id, outs);
        expect(read.props).toMatchObject({ processMode: "unordered", exists: true });
        expect((await p.diff!(id, read.props, inputs)).changes).toBe(true);
        await p.update!(id, read.props, inputs);
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
    });

    it("imports a group by id alone, with the mode GitLab has", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        expect((await p.read!("group/app:staging", { ...conn })).props).toMatchObject({
            key: "staging",
            processMode: "unordered",
            exists: true,
            projectId: 42,
        });
    });

    it("retries a PUT whose answer was lost (idempotent): one group, the mode set", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        for (const kind of ["502", "reset"] as const) {
            project.resourceGroups[0].process_mode = "unordered";
            gitlab.failAfterCommit(1, kind, { method: "PUT", pathIncludes: "/resource_groups/" });
            const before = gitlab.requests.length;
            const { outs } = await createChecked(p, { ...conn, project: "42", key: "staging" });
            expect(outs).toMatchObject({ processMode: "oldest_first", exists: true });
            expect(
                gitlab.requests
                    .slice(before)
                    .filter((r) => r.method === "PUT")
                    .map((r) => r.status),
            ).toEqual([kind === "502" ? 502 : 0, 200]);
        }
        expect(project.resourceGroups).toHaveLength(1);
    });

    it("refuses an unknown mode or key in check, before any API call", async () => {
        const before = gitlab.requests.length;
        const { failures } = await p.check!({}, { ...conn, key: "/bad", processMode: "fifo" });
        expect(failures).toEqual([
            {
                property: "key",
                reason: 'resource group key: GitLab environment name "/bad" is invalid: use letters, digits, _ / $ { } . - or space (at most 255), not starting or ending with /',
            },
            {
                property: "processMode",
                reason: 'resource group processMode must be one of unordered, oldest_first, newest_first, newest_ready_first (got "fifo")',
            },
        ]);
        await expect(p.create({ ...conn, key: "staging", processMode: "fifo" } as never)).rejects.toThrow(
            'resource group processMode must be one of unordered, oldest_first, newest_first, newest_ready_first (got "fifo")',
        );
        expect(gitlab.requests.length).toBe(before);
    });

    it("a token that cannot see the project fails (naming the settings) instead of recording 'not there yet'", async () => {
        gitlab.hideProject(project, DOUBLE_TOKEN);
        await expect(p.read!("42:staging", { ...conn, projectId: 42, projectPath: "group/app", key: "staging" } as never)).rejects.toThrow(
            /^GitLab: project 42 is not visible to the token .*, so whether resource group staging exists cannot be told\. Check gitlab:project/,
        );
    });

    it("delete changes nothing in GitLab (no delete in the API; the mode stays on purpose)", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        const { id, outs } = await createChecked(p, { ...conn, key: "staging" });
        const before = gitlab.requests.length;
        await p.delete!(id, outs);
        expect(gitlab.requests.length).toBe(before);
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
    });
});
