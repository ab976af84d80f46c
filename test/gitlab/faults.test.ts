import type * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanupPolicyProvider } from "../../components/gitlab/cleanupPolicy";
import { deployTokenProvider } from "../../components/gitlab/deployToken";
import { environmentProvider } from "../../components/gitlab/environment";
import { projectVariableProvider } from "../../components/gitlab/projectVariable";
import { protectedEnvironmentProvider } from "../../components/gitlab/protectedEnvironment";
import { resourceGroupProvider } from "../../components/gitlab/resourceGroup";
import { markerFor, upsertNote } from "../../scripts/mr-note.js";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, handMadeVariable, useDouble, useRetryPolicy } from "../support/gitlab";

/**
 * The providers and the MR note under the faults a platform team meets: a token that lost access
 * to the project, a rate-limited GitLab, answers lost after GitLab committed a create, a project
 * named by id in one run and by path in the next, MR notes by two authors.
 */

type Provider = pulumi.dynamic.ResourceProvider;

let gitlab: GitlabDouble;
let project: DoubleProject;
let url: string;
let conn: { gitlabUrl: string; gitlabToken: string; project: string };

// Server-error backoff shortened for the suite; Retry-After waits stay real (whole seconds).
useRetryPolicy("baseDelayMs=5");
useDouble((started) => {
    ({ gitlab, project, url } = started);
    conn = { gitlabUrl: url, gitlabToken: DOUBLE_TOKEN, project: "42" };
});
afterEach(() => {
    vi.restoreAllMocks();
});

async function create(provider: Provider, news: Record<string, unknown>) {
    const { inputs, failures } = await provider.check!({}, news);
    expect(failures ?? []).toEqual([]);
    const created = await provider.create(inputs);
    return { inputs, ...created };
}

const failure = (p: Promise<unknown>) =>
    p.then(
        () => undefined,
        (e: Error) => e,
    );

describe("a token that can no longer see the project", () => {
    async function createAll() {
        return {
            variable: await create(projectVariableProvider, { ...conn, key: "DB_URL", value: "postgres://db", masked: false, environmentScope: "staging" }),
            environment: await create(environmentProvider, { ...conn, name: "staging" }),
            token: await create(deployTokenProvider, { ...conn, name: "staging image pulls" }),
            protection: await create(protectedEnvironmentProvider, { ...conn, environment: "staging" }),
            policy: await create(cleanupPolicyProvider, { ...conn }),
        };
    }
    const providers = {
        variable: projectVariableProvider,
        environment: environmentProvider,
        token: deployTokenProvider,
        protection: protectedEnvironmentProvider,
        policy: cleanupPolicyProvider,
    };
    /** Creates every resource, hides the project from the token, then runs `call` on each: the error it fails with, by name. */
    async function failuresOnceHidden(
        call: (p: Provider, r: Awaited<ReturnType<typeof create>>) => Promise<unknown>,
    ): Promise<Array<[string, Error | undefined]>> {
        const made = await createAll();
        gitlab.hideProject(project, DOUBLE_TOKEN);
        const errors: Array<[string, Error | undefined]> = [];
        for (const [name, r] of Object.entries(made)) {
            errors.push([name, await failure(call(providers[name as keyof typeof providers], r))]);
        }
        return errors;
    }

    it("refresh fails naming gitlab:token and gitlab:project instead of dropping the resources", async () => {
        for (const [name, error] of await failuresOnceHidden((p, r) => p.read!(r.id, r.outs))) {
            expect(error, name).toBeInstanceOf(Error);
            expect(error!.message, name).toContain("gitlab:token");
            expect(error!.message, name).toContain("gitlab:project");
            expect(error!.message, name).toMatch(/not visible/);
            expect(error!.message, name).not.toContain(DOUBLE_TOKEN);
        }
    });

    it("destroy fails and leaves the variables and the live deploy token in place (and in the state)", async () => {
        for (const [name, error] of await failuresOnceHidden((p, r) => p.delete!(r.id, r.outs))) {
            expect(error, name).toBeInstanceOf(Error);
            expect(error!.message, name).toMatch(/gitlab:token.*gitlab:project|gitlab:project.*gitlab:token/s);
        }
        expect(project.variables).toHaveLength(1);
        expect(project.deployTokens.filter((t) => !t.revoked)).toHaveLength(1);
        expect(project.environments).toHaveLength(1);
    });

    it("resource group: refresh fails naming the settings instead of recording 'not there yet'; destroy makes no call", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        const { id, outs } = await create(resourceGroupProvider, { ...conn, key: "staging" });
        gitlab.hideProject(project, DOUBLE_TOKEN);
        const error = await failure(resourceGroupProvider.read!(id, outs));
        expect(error?.message).toMatch(/^GitLab: project 42 is not visible to the token .*, so whether resource group staging exists cannot be told\./);
        expect(error?.message).toContain("gitlab:token");
        expect(error?.message).toContain("gitlab:project");
        const before = gitlab.requests.length;
        await expect(resourceGroupProvider.delete!(id, outs)).resolves.toBeUndefined();
        expect(gitlab.requests.length).toBe(before);
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
    });

    it("still reports an object deleted in a visible project as gone, with one project check", async () => {
        const { id, outs } = await create(projectVariableProvider, { ...conn, key: "GONE", value: "v", masked: false });
        project.variables.length = 0;
        const before = gitlab.requests.length;
        expect(await projectVariableProvider.read!(id, outs)).toEqual({ id: "", props: {} });
        await expect(projectVariableProvider.delete!(id, outs)).resolves.toBeUndefined();
        const checks = gitlab.requests.slice(before).filter((r) => r.method === "GET" && /^\/api\/v4\/projects\/42$/.test(r.path));
        expect(checks).toHaveLength(2);
    });
});

describe("rate limits (429 with Retry-After)", () => {
    const gaps = (method: string) => {
        const at = gitlab.requests.filter((r) => r.method === method).map((r) => r.at);
        return at.slice(1).map((t, i) => t - at[i]);
    };

    it("waits what Retry-After says (seconds) before each retry, one policy, no burst", async () => {
        gitlab.rateLimit({ calls: 2, retryAfterSeconds: 1, method: "POST" });
        const { outs } = await create(projectVariableProvider, { ...conn, key: "LIMITED", value: "v", masked: false });
        expect(outs.value).toBe("v");
        expect(gitlab.requests.filter((r) => r.method === "POST").map((r) => r.status)).toEqual([429, 429, 201]);
        for (const gap of gaps("POST")) expect(gap).toBeGreaterThanOrEqual(950);
    }, 20_000);

    it("waits until an HTTP-date Retry-After", async () => {
        gitlab.rateLimit({ calls: 1, retryAfterSeconds: 1, format: "date", method: "POST" });
        await create(projectVariableProvider, { ...conn, key: "DATED", value: "v", masked: false });
        expect(gitlab.requests.filter((r) => r.method === "POST").map((r) => r.status)).toEqual([429, 201]);
        expect(gaps("POST")[0]).toBeGreaterThanOrEqual(950);
    }, 20_000);

    it("rides out a rate-limit window with one wait, not a burst of requests", async () => {
        gitlab.rateLimit({ windowMs: 1500, method: "POST" });
        await create(projectVariableProvider, { ...conn, key: "WINDOW", value: "v", masked: false });
        expect(gitlab.requests.filter((r) => r.method === "POST").map((r) => r.status)).toEqual([429, 201]);
    }, 20_000);

    it("gives up at once when Retry-After is longer than the per-wait limit, naming method, path, status and attempts", async () => {
        gitlab.rateLimit({ calls: 100, retryAfterSeconds: 120, method: "POST" });
        const started = Date.now();
        const error = await failure(create(projectVariableProvider, { ...conn, key: "TOO_LONG", value: "v", masked: false }));
        expect(Date.now() - started).toBeLessThan(2000);
        expect(error?.message).toMatch(
            /^GitLab: create variable TOO_LONG \(scope \*\) in project 42 failed: HTTP 429 Too Many Requests from POST \/api\/v4\/projects\/42\/variables/,
        );
        expect(error?.message).toContain("attempt 1");
        expect(error?.message).toMatch(/asked to wait 120 s \(Retry-After\)/);
        expect(gitlab.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    });

    it("stops within the total wait budget", async () => {
        process.env.DELIVERY_GITLAB_RETRY = "baseDelayMs=5,budgetMs=1500";
        try {
            gitlab.rateLimit({ calls: 100, retryAfterSeconds: 1, method: "POST" });
            const error = await failure(create(projectVariableProvider, { ...conn, key: "BUDGET", value: "v", masked: false }));
            expect(error?.message).toContain("HTTP 429 Too Many Requests from POST /api/v4/projects/42/variables");
            expect(error?.message).toContain("attempt 2");
            expect(error?.message).toMatch(/budget/);
            expect(gitlab.requests.filter((r) => r.method === "POST")).toHaveLength(2);
        } finally {
            process.env.DELIVERY_GITLAB_RETRY = "baseDelayMs=5";
        }
    }, 20_000);
});

describe("persistent server errors", () => {
    it("a persistent 502 is one readable line with method, path, attempts and a short excerpt, after one bounded policy", async () => {
        gitlab.failNext(1000, 502);
        const error = await failure(environmentProvider.read!("42:1", { ...conn, name: "staging" }));
        expect(error?.message.split("\n")).toHaveLength(1);
        expect(error?.message).toMatch(
            /^GitLab: read environment 1 in project 42 failed: HTTP 502 Bad Gateway from GET \/api\/v4\/projects\/42\/environments\/1 \(gave up after attempt 6\): 502 Bad Gateway/,
        );
        expect(error?.message).not.toContain("<");
        expect(error!.message.length).toBeLessThan(400);
        expect(gitlab.requests).toHaveLength(6);
    });
});

describe("a create whose answer was lost", () => {
    for (const kind of ["502", "reset"] as const) {
        it(`variable: commit then ${kind} takes over the variable just created`, async () => {
            gitlab.failAfterCommit(1, kind, { method: "POST" });
            const { id, outs } = await create(projectVariableProvider, {
                ...conn,
                key: "LOST",
                value: "v4lue-lost",
                masked: true,
                environmentScope: "staging",
            });
            expect(id).toBe("42:LOST:staging");
            expect(outs).toMatchObject({ value: "v4lue-lost", masked: true, environmentScope: "staging" });
            expect(project.variables).toHaveLength(1);
        });

        it(`deploy token: commit then ${kind} leaves exactly one live token, the one in the state`, async () => {
            const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
            gitlab.failAfterCommit(1, kind, { method: "POST" });
            const { outs } = await create(deployTokenProvider, { ...conn, name: "staging image pulls" });
            const live = project.deployTokens.filter((t) => !t.revoked);
            expect(live).toHaveLength(1);
            expect(live[0].id).toBe(outs.tokenId);
            expect(live[0].token).toBe(outs.token);
            // The first one's value was lost with the answer: it was revoked, and we are told.
            expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/revoked deploy token [0-9]+ "staging image pulls"/);
        });

        it(`environment and its protection: commit then ${kind} take over what was created`, async () => {
            gitlab.failAfterCommit(1, kind, { method: "POST", pathIncludes: "/environments" });
            const env = await create(environmentProvider, { ...conn, name: "review/lost", adoptExisting: false });
            expect(project.environments).toHaveLength(1);
            expect(env.outs.environmentId).toBe(project.environments[0].id);
            gitlab.failAfterCommit(1, kind, { method: "POST", pathIncludes: "/protected_environments" });
            const pe = await create(protectedEnvironmentProvider, { ...conn, environment: "review/lost" });
            expect(pe.id).toBe("42:review/lost");
            expect(project.protectedEnvironments).toHaveLength(1);
        });

        it(`resource group: a PUT committed then ${kind} is sent again (idempotent), and the mode is set`, async () => {
            gitlab.runJobInResourceGroup(project, "review/lost");
            gitlab.failAfterCommit(1, kind, { method: "PUT", pathIncludes: "/resource_groups/" });
            const { id, outs } = await create(resourceGroupProvider, { ...conn, key: "review/lost" });
            expect(id).toBe("42:review/lost");
            expect(outs).toMatchObject({ processMode: "oldest_first", exists: true });
            expect(project.resourceGroups.map((g) => [g.key, g.process_mode])).toEqual([["review/lost", "oldest_first"]]);
            expect(gitlab.requests.filter((r) => r.method === "PUT").map((r) => r.status)).toEqual([kind === "502" ? 502 : 0, 200]);
        });

        it(`MR note: commit then ${kind} posts one note, not two`, async () => {
            gitlab.failAfterCommit(1, kind, { method: "POST", pathIncludes: "/notes" });
            const result = await upsertNote({
                apiUrl: `${url}/api/v4`,
                token: DOUBLE_TOKEN,
                projectId: "42",
                mrIid: 7,
                stack: "staging",
                body: `${markerFor("staging")}\nhello`,
            });
            expect(result.action).toBe("created");
            expect(project.mergeRequests.get(7)!.notes).toHaveLength(1);
            expect(result.noteId).toBe(project.mergeRequests.get(7)!.notes[0].id);
        });
    }

    it("a variable someone else made meanwhile is not taken over: the adopt message stays", async () => {
        gitlab.failNext(1, 502, { method: "POST" });
        // The 502 came before GitLab saw the request; a hand-made variable appears in between.
        project.variables.push(handMadeVariable("RACE", "by hand"));
        const error = await failure(create(projectVariableProvider, { ...conn, key: "RACE", value: "ours", masked: false }));
        expect(error?.message).toMatch(/adopt/);
        expect(gitlab.variable(project, "RACE")!.value).toBe("by hand");
    });
});

describe("the same project by id and by path", () => {
    const cases: [string, Provider, Record<string, unknown>][] = [
        ["variable", projectVariableProvider, { key: "SAME", value: "v", masked: false }],
        ["environment", environmentProvider, { name: "staging" }],
        ["protected environment", protectedEnvironmentProvider, { environment: "staging" }],
        ["deploy token", deployTokenProvider, { name: "pulls" }],
        ["cleanup policy", cleanupPolicyProvider, {}],
        ["resource group", resourceGroupProvider, { key: "staging" }],
    ];

    beforeEach(() => {
        // As after the first deploy job: the resource group exists.
        gitlab.runJobInResourceGroup(project, "staging");
    });

    it("stores the numeric project id, whichever way the project was named", async () => {
        for (const [name, p, extra] of cases) {
            const { outs } = await create(p, { ...conn, project: "group/app", ...extra });
            expect(outs.projectId, name).toBe(42);
        }
    });

    for (const [name, p, extra] of cases) {
        it(`${name}: 42 -> group/app (and back) is no change, also for state written before the id was stored`, async () => {
            const { id, inputs, outs } = await create(p, { ...conn, ...extra });
            const byPath = (await p.check!(outs, { ...inputs, project: "group/app" })).inputs;
            expect(await p.diff!(id, outs, byPath)).toMatchObject({ changes: false, replaces: [] });
            const { projectId: _dropped, ...oldState } = outs as Record<string, unknown>;
            expect(await p.diff!(id, oldState, byPath)).toMatchObject({ changes: false, replaces: [] });
            const back = (await p.check!(outs, { ...inputs, project: "42" })).inputs;
            expect(await p.diff!(id, { ...outs, project: "group/app" }, back)).toMatchObject({ changes: false, replaces: [] });
        });
    }

    it("a move to a different project replaces, and the old resource's delete touches only the old project", async () => {
        const other = gitlab.addProject("group/other", 43);
        const env = await create(environmentProvider, { ...conn, name: "staging" });
        const policy = await create(cleanupPolicyProvider, { ...conn });
        const variable = await create(projectVariableProvider, { ...conn, key: "MOVED", value: "v", masked: false, adopt: true });
        for (const [p, r] of [
            [environmentProvider, env],
            [cleanupPolicyProvider, policy],
            [projectVariableProvider, variable],
        ] as const) {
            const moved = (await p.check!(r.outs, { ...r.inputs, project: "group/other" })).inputs;
            expect((await p.diff!(r.id, r.outs, moved)).replaces).toContain("project");
            // Create-before-delete, as the engine does it.
            const created = await p.create(moved);
            expect(created.id.startsWith("43")).toBe(true);
            await p.delete!(r.id, r.outs);
        }
        expect(other.environments.map((e) => e.state)).toEqual(["available"]);
        expect(other.containerExpirationPolicy.enabled).toBe(true);
        expect(other.variables.map((v) => v.key)).toEqual(["MOVED"]);
        expect(project.environments).toEqual([]);
        expect(project.variables).toEqual([]);
        expect(project.containerExpirationPolicy.enabled).toBe(false);
    });
});

describe("MR notes by two authors", () => {
    const DEV_TOKEN = "glpat-developer-bot-0001";
    const note = (token: string, body: string) =>
        upsertNote({ apiUrl: `${url}/api/v4`, token, projectId: "42", mrIid: 7, stack: "staging", body: `${markerFor("staging")}\n${body}` });

    it("a Developer-role token edits its own note and leaves the old bot's alone: 3 runs, 1 new note", async () => {
        gitlab.addUser(DEV_TOKEN, "developer-bot", 30);
        const old = await note(DOUBLE_TOKEN, "by the old bot");
        for (let run = 1; run <= 3; run++) await note(DEV_TOKEN, `run ${run}`);
        const notes = project.mergeRequests.get(7)!.notes;
        expect(notes).toHaveLength(2);
        expect(notes[0]).toMatchObject({ id: old.noteId, body: `${markerFor("staging")}\nby the old bot` });
        expect(notes[1].author.username).toBe("developer-bot");
        expect(notes[1].body).toContain("run 3");
        expect(notes[1].body).toContain(`supersedes note ${old.noteId}`);
    });

    it("a Maintainer token (which GitLab would let edit anyone's note) still edits only its own", async () => {
        gitlab.addUser(DEV_TOKEN, "developer-bot", 30);
        const theirs = await note(DEV_TOKEN, "by someone else");
        const ours = await note(DOUBLE_TOKEN, "ours");
        expect(ours.action).toBe("created");
        const again = await note(DOUBLE_TOKEN, "ours again");
        expect(again).toEqual({ action: "updated", noteId: ours.noteId });
        const notes = project.mergeRequests.get(7)!.notes;
        expect(notes.find((n) => n.id === theirs.noteId)!.body).toBe(`${markerFor("staging")}\nby someone else`);
        expect(notes).toHaveLength(2);
        expect(gitlab.requests.filter((r) => r.path === "/api/v4/user")).toHaveLength(3);
    });

    it("its error hints name what mr-note reads, not the stack's gitlab: keys", async () => {
        gitlab.hideProject(project, DOUBLE_TOKEN);
        const error = await failure(note(DOUBLE_TOKEN, "x"));
        expect(error?.message).toContain("CI_PROJECT_ID");
        expect(error?.message).toMatch(/GITLAB_TOKEN|MR_NOTE_TOKEN/);
        expect(error?.message).not.toContain("gitlab:");
        const unauthorized = await failure(note("glpat-revoked-0000", "x"));
        expect(unauthorized?.message).toContain("GITLAB_TOKEN (or MR_NOTE_TOKEN)");
        expect(unauthorized?.message).not.toContain("gitlab:token");
        expect(unauthorized?.message).not.toContain("glpat-revoked-0000");
    });
});

describe("state written before the project id was stored", () => {
    it("a refresh stores the numeric id, also for ids that name the project by path", async () => {
        const made: [Provider, { id: string; outs?: Record<string, unknown> }][] = [
            [projectVariableProvider, await create(projectVariableProvider, { ...conn, project: "group/app", key: "OLD_STATE", value: "v", masked: false })],
            [environmentProvider, await create(environmentProvider, { ...conn, project: "group/app", name: "staging" })],
            [deployTokenProvider, await create(deployTokenProvider, { ...conn, project: "group/app", name: "pulls" })],
            [protectedEnvironmentProvider, await create(protectedEnvironmentProvider, { ...conn, project: "group/app", environment: "staging" })],
            [cleanupPolicyProvider, await create(cleanupPolicyProvider, { ...conn, project: "group/app" })],
        ];
        for (const [p, r] of made) {
            // What the state of an earlier version looked like: the path in the id, no projectId.
            const { projectId: _id, projectPath: _path, ...outs } = r.outs ?? {};
            const id = r.id.replace(/^42/, "group/app");
            const read = await p.read!(id, outs);
            expect(read.id, id).toBe(id);
            expect(read.props, id).toMatchObject({ projectId: 42, projectPath: "group/app" });
        }
    });
});
