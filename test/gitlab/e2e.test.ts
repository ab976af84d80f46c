import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, handMadeVariable, startDouble } from "../support/gitlab";
import { engineCommand } from "../../cli/engineCommand";

/**
 * GitlabProjectSettings with the real engine (CLI, nodejs language host, dynamic provider host)
 * against the GitLab double, driven through the Automation API the way Pulumi's ProgramTest does:
 * preview -> up -> (a job uses the resource group) up -> empty preview/up -> refresh -> edit -> up -> destroy, checking GitLab's side
 * and the state file at each step.
 */

const fixture = resolve(__dirname, "fixture");
const ENGINE_BINARIES = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"];

function onPath(bin: string): boolean {
    try {
        execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** Every file below dir, by path. */
function walk(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: "utf8" })
        .map((name) => join(dir, name))
        .filter((path) => statSync(path).isFile());
}

const missingEngine = ENGINE_BINARIES.filter((b) => !onPath(b));
// Locally, a clone without the engine skips this (and says so); in CI (`.ci/run` bootstraps
// first) a missing engine is a failure, not a silent skip.
const skip = missingEngine.length > 0 && !process.env.CI;
const title =
    missingEngine.length === 0
        ? "GitLab settings with the real engine"
        : `GitLab settings with the real engine (not run: ${missingEngine.join(", ")} not on PATH; run scripts/bootstrap)`;

const DB_URL = "postgres://app:Db-Passw0rd-e2e@db.internal/app";
const DB_URL_2 = "postgres://app:Db-Passw0rd-e2e-ROTATED@db.internal/app";
const API_TOKEN = "api-token-e2e-0123456789";

describe.skipIf(skip)(title, () => {
    let gitlab: GitlabDouble;
    let project: DoubleProject;
    let stack: Stack;
    let backend: string;
    /** loader.js's cache for this test's runs; the providers' texts go beside it (components/dynamicResource.ts). */
    let tsCache: string;
    const stackName = `gitlab-e2e-${process.pid}`;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    /** A preview and an up that leave all `same` resources unchanged and write nothing to GitLab. */
    async function expectNoChange(same: number) {
        const preview = await stack.preview({ onOutput });
        expect(preview.changeSummary).toEqual({ same });
        const before = gitlab.requests.filter((r) => r.method !== "GET").length;
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same });
        expect(gitlab.requests.filter((r) => r.method !== "GET").length).toBe(before);
    }
    /** Every deploy token value GitLab handed out during the test. */
    const deployTokenValues = new Set<string>();

    beforeAll(async () => {
        if (missingEngine.length > 0) {
            throw new Error(`${missingEngine.join(", ")} not on PATH: run scripts/bootstrap`);
        }
        ({ gitlab, project } = await startDouble());
        backend = mkdtempSync(join(tmpdir(), "gitlab-e2e-state-"));
        tsCache = join(mkdtempSync(join(tmpdir(), "gitlab-e2e-cache-")), "delivery-ts");
        stack = await LocalWorkspace.createOrSelectStack(
            { stackName, workDir: fixture },
            {
                envVars: {
                    PULUMI_BACKEND_URL: `file://${backend}`,
                    PULUMI_CONFIG_PASSPHRASE: "gitlab-e2e-passphrase",
                    DELIVERY_TS_CACHE: tsCache,
                    // The token must come from config, not from the test runner's environment.
                    GITLAB_TOKEN: "",
                    GITLAB_URL: "",
                },
                pulumiCommand: await engineCommand(),
            },
        );
        await stack.setAllConfig({
            "gitlab:enabled": { value: "true" },
            "gitlab:url": { value: gitlab.url },
            "gitlab:project": { value: "group/app" },
            "gitlab:token": { value: DOUBLE_TOKEN, secret: true },
            "gitlab:environment": { value: "staging" },
            "gitlab:environmentUrl": { value: "https://staging.example.com" },
            "gitlab:protect": { value: "true" },
            "gitlab:requiredApprovals": { value: "1" },
            "gitlab:registryCleanup": { value: "true" },
        });
        // Structured and secret, as the README tells users to set them (`--secret --path`).
        await stack.setConfig("gitlab:variables.DATABASE_URL.value", { value: DB_URL, secret: true }, true);
        await stack.setConfig("gitlab:variables.DATABASE_URL.masked", { value: "false" }, true);
        await stack.setConfig("gitlab:variables.API_TOKEN", { value: API_TOKEN, secret: true }, true);
    }, 600_000);

    afterAll(async () => {
        try {
            await stack?.destroy({ onOutput });
            await stack?.workspace.removeStack(stackName);
        } catch {
            // Best effort: the assertions have already reported what went wrong.
        }
        rmSync(join(fixture, `Pulumi.${stackName}.yaml`), { force: true });
        if (backend) rmSync(backend, { recursive: true, force: true });
        if (tsCache) rmSync(dirname(tsCache), { recursive: true, force: true });
        await gitlab?.stop();
    }, 600_000);

    it("previews the creation of every GitLab resource", async () => {
        const preview = await stack.preview({ onOutput, diff: true });
        expect(preview.changeSummary).toEqual({ create: 9 });
    });

    it("up creates the variables, environment, protection, token and cleanup policy in GitLab, and warns that the resource group is not there yet", async () => {
        const from = log.length;
        const up = await stack.up({ onOutput });
        expect(up.summary.result).toBe("succeeded");
        expect(up.summary.resourceChanges).toEqual({ create: 9 });
        // No job has run with resource_group: staging yet, and the API cannot create the group.
        expect(project.resourceGroups).toEqual([]);
        expect(log.slice(from).join("")).toContain(
            "GitLab: resource group staging does not exist yet in project group/app, so its process mode is not set: GitLab creates it when the first job with resource_group: staging runs",
        );
        expect(project.variables.map((v) => [v.key, v.environment_scope, v.masked, v.value])).toEqual(
            expect.arrayContaining([
                ["DATABASE_URL", "staging", false, DB_URL],
                ["API_TOKEN", "staging", true, API_TOKEN],
            ]),
        );
        expect(project.variables).toHaveLength(2);
        expect(project.environments.map((e) => [e.name, e.external_url, e.tier, e.state])).toEqual([
            ["staging", "https://staging.example.com", "staging", "available"],
        ]);
        expect(project.protectedEnvironments.map((p) => [p.name, p.deploy_access_levels[0].access_level, p.approval_rules[0].required_approvals])).toEqual([
            ["staging", 40, 1],
        ]);
        expect(project.deployTokens.map((t) => [t.name, t.scopes])).toEqual([["staging image pulls", ["read_registry"]]]);
        project.deployTokens.forEach((t) => deployTokenValues.add(t.token));
        expect(project.containerExpirationPolicy).toMatchObject({ enabled: true, keep_n: 10, older_than: "14d" });
        // The default keep regex (version tags) OR every release tag, as the state shows it too.
        const keep = "(?:(?:^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$)|(?:release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+))";
        expect(project.containerExpirationPolicy.name_regex_keep).toBe(keep);
        const state = await stack.exportStack();
        const policy = state.deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/gitlab:ContainerRegistryCleanupPolicy");
        expect(policy.outputs.nameRegexKeep).toBe(keep);
        expect(policy.inputs.nameRegexKeep).toBe(keep);

        expect(up.outputs.pullCredentials.secret).toBe(true);
        expect(up.outputs.pullCredentials.value).toEqual({ username: project.deployTokens[0].username, password: project.deployTokens[0].token });
        expect(up.outputs.environmentId.value).toBe(project.environments[0].id);
    });

    it("the first run cached each GitLab provider's text, which every later run checks against a fresh serialization (DELIVERY_PROVIDER_CACHE=verify)", () => {
        // The program runs through loader.js (fixture/entry.js): outside it the cache is not used, and verify checks nothing.
        expect(process.env.DELIVERY_PROVIDER_CACHE).toBe("verify");
        const dir = join(dirname(tsCache), "delivery-providers");
        const entries = existsSync(dir) ? walk(dir) : [];
        const isProviderText = entries.map((f) => /^exports\.handler = /.test(readFileSync(f, "utf8")));
        // One text per provider: variables, environment, protection, deploy token, cleanup policy, resource group.
        expect(isProviderText).toEqual([true, true, true, true, true, true]);
    });

    it("once a job has used the resource group, the next up sets it to oldest_first; a mode changed by hand is drift that up puts back", async () => {
        gitlab.runJobInResourceGroup(project, "staging");
        const preview = await stack.preview({ onOutput });
        expect(preview.changeSummary).toEqual({ same: 8, update: 1 });
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        expect(project.resourceGroups.map((g) => [g.key, g.process_mode])).toEqual([["staging", "oldest_first"]]);
        await expectNoChange(9);
        project.resourceGroups[0].process_mode = "unordered";
        const drift = await stack.refresh({ onOutput });
        expect(drift.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        const back = await stack.up({ onOutput });
        expect(back.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        expect(project.resourceGroups[0].process_mode).toBe("oldest_first");
    });

    it("a second preview and up change nothing", async () => {
        await expectNoChange(9);
    });

    it("refresh finds no drift, then sees a value changed by hand and up puts it back", async () => {
        const clean = await stack.refresh({ onOutput });
        expect(clean.summary.resourceChanges).toEqual({ same: 9 });
        gitlab.variable(project, "DATABASE_URL", "staging")!.value = "postgres://changed-by-hand";
        const drift = await stack.refresh({ onOutput });
        expect(drift.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        expect(gitlab.variable(project, "DATABASE_URL", "staging")!.value).toBe(DB_URL);
    });

    it("a changed value is updated in place: the same GitLab variable, no delete and create", async () => {
        await stack.setConfig("gitlab:variables.DATABASE_URL.value", { value: DB_URL_2, secret: true }, true);
        const variable = gitlab.variable(project, "DATABASE_URL", "staging")!;
        const before = gitlab.requests.length;
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 8, update: 1 });
        expect(gitlab.variable(project, "DATABASE_URL", "staging")).toBe(variable);
        expect(variable.value).toBe(DB_URL_2);
        const writes = gitlab.requests.slice(before).filter((r) => r.method !== "GET");
        expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /api/v4/projects/42/variables/DATABASE_URL"]);
    });

    it("adopts a variable made by hand (adopt: true) instead of failing on it", async () => {
        project.variables.push(handMadeVariable("HAND_MADE", "made-by-hand", { protected: true, environment_scope: "staging" }));
        const existing = gitlab.variable(project, "HAND_MADE", "staging")!;
        await stack.setConfig("gitlab:variables.HAND_MADE.value", { value: "now-from-pulumi", secret: true }, true);
        await stack.setConfig("gitlab:variables.HAND_MADE.masked", { value: "false" }, true);
        await stack.setConfig("gitlab:variables.HAND_MADE.adopt", { value: "true" }, true);
        const before = gitlab.requests.length;
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 9, create: 1 });
        expect(gitlab.variable(project, "HAND_MADE", "staging")).toBe(existing);
        expect(existing).toMatchObject({ value: "now-from-pulumi", protected: false });
        expect(gitlab.requests.slice(before).filter((r) => r.method === "POST")).toEqual([]);
    });

    it("keeps every secret out of the state in plain text", async () => {
        project.deployTokens.forEach((t) => deployTokenValues.add(t.token));
        expect(deployTokenValues.size).toBeGreaterThan(0);
        const secrets = [DOUBLE_TOKEN, DB_URL, DB_URL_2, API_TOKEN, "made-by-hand", "now-from-pulumi", ...deployTokenValues];
        // Everything the file backend wrote (current state, history, backups) and the stack's config file.
        const files = [...walk(backend), join(fixture, `Pulumi.${stackName}.yaml`)];
        expect(files.some((f) => f.endsWith(`${stackName}.json`))).toBe(true);
        for (const file of files) {
            const raw = readFileSync(file);
            const text = file.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
            for (const secret of secrets) {
                expect(text.includes(secret), `${file} contains ${secret.slice(0, 6)}…`).toBe(false);
            }
        }
        // They are in the state, encrypted, and marked secret where the engine would otherwise infer nothing.
        const state = JSON.parse(
            readFileSync(
                files.find((f) => f.endsWith(`stacks/gitlab-fixture/${stackName}.json`))!,
                "utf8",
            ),
        );
        const resources = state.checkpoint.latest.resources as { type: string; outputs: Record<string, unknown>; additionalSecretOutputs?: string[] }[];
        const token = resources.find((r) => r.type === "pulumi-nodejs:dynamic/gitlab:DeployToken")!;
        expect(token.additionalSecretOutputs).toEqual(["token", "gitlabToken"]);
        expect(Object.keys(token.outputs.token as object)).toEqual(["4dabf18193072939515e22adb298388d", "ciphertext"]);
        const variable = resources.find((r) => r.type === "pulumi-nodejs:dynamic/gitlab:ProjectVariable")!;
        expect(Object.keys(variable.outputs.value as object)).toEqual(["4dabf18193072939515e22adb298388d", "ciphertext"]);
        expect(variable.outputs.gitlabUrl).toBe(gitlab.url);
        // Each provider's text is stored as plain text: one that captured a secret (a token the
        // program set on a module variable, say) would be stored encrypted, as a secret.
        const dynamic = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/gitlab:"));
        expect(new Set(dynamic.map((r) => r.type)).size).toBeGreaterThanOrEqual(5);
        for (const r of dynamic) {
            expect(typeof r.outputs.__provider, r.type).toBe("string");
        }
    });

    it("a rotated token reaches every resource without touching GitLab, and the old one can be revoked", async () => {
        const rotated = "glpat-rotated-token-0002";
        gitlab.users.set(rotated, { id: 2, username: "maintainer", name: "maintainer", accessLevel: 40 });
        await stack.setConfig("gitlab:token", { value: rotated, secret: true });
        // Revoked before the update: the update must not need it.
        gitlab.users.delete(DOUBLE_TOKEN);
        const before = gitlab.requests.length;
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 2, update: 8 });
        expect(gitlab.requests.slice(before)).toEqual([]);
        const state = walk(backend)
            .filter((f) => f.endsWith(".json"))
            .map((f) => readFileSync(f, "utf8"))
            .join("\n");
        expect(state.includes(rotated)).toBe(false);
    });

    it("a deploy token create whose answer was lost: the token GitLab made is revoked, the run says so, one live token", async () => {
        gitlab.failAfterCommit(1, "502", { method: "POST", pathIncludes: "/deploy_tokens" });
        await stack.setConfig("gitlab:deployTokenName", { value: "staging pulls 2" });
        const from = log.length;
        const up = await stack.up({ onOutput });
        expect(up.summary.resourceChanges).toEqual({ same: 9, replace: 1 });
        const live = project.deployTokens.filter((t) => !t.revoked);
        expect(live.map((t) => t.name)).toEqual(["staging pulls 2"]);
        expect(up.outputs.pullCredentials.value).toEqual({ username: live[0].username, password: live[0].token });
        expect(log.slice(from).join("")).toMatch(/revoked deploy token [0-9]+ "staging pulls 2"/);
    });

    it("gitlab:project by id instead of by path (the same project) is no change: nothing replaced or deleted", async () => {
        await stack.setConfig("gitlab:project", { value: "42" });
        await expectNoChange(10);
        expect(project.environments.map((e) => e.state)).toEqual(["available"]);
        expect(project.containerExpirationPolicy.enabled).toBe(true);
    });

    it("a token that lost access: refresh and destroy fail naming gitlab:token and gitlab:project, and nothing is dropped or left untracked", async () => {
        const token = [...gitlab.users.keys()][0];
        gitlab.hideProject(project, token);
        try {
            const from = log.length;
            const refresh = (await stack.refresh({ onOutput }).then(
                () => undefined,
                (e: Error) => e,
            )) as Error;
            const destroy = (await stack.destroy({ onOutput }).then(
                () => undefined,
                (e: Error) => e,
            )) as Error;
            expect(String(refresh)).toMatch(
                /GitLab: project 42 is not visible to the token .*, so whether variable DATABASE_URL \(scope staging\) in project 42 still exists cannot be told; the state keeps it/,
            );
            expect(String(destroy)).toMatch(
                /GitLab: project 42 is not visible to the token .*, so .* cannot be removed and may still exist; nothing was deleted and the state keeps it/,
            );
            const said = `${refresh}\n${destroy}\n${log.slice(from).join("")}`;
            expect(said).not.toContain("Unknown Error");
            expect(said).toContain("gitlab:token");
            expect(said).toContain("gitlab:project");
            expect(said).not.toContain(token);
            const state = await stack.exportStack();
            // The resource group's delete makes no call (GitLab has none), so the engine may have dropped it; every other one stays.
            const dynamic = state.deployment.resources.filter((r: { type: string }) => r.type.startsWith("pulumi-nodejs:dynamic/gitlab:"));
            expect(dynamic.filter((r: { type: string }) => !r.type.endsWith(":ResourceGroup"))).toHaveLength(7);
            expect(project.deployTokens.filter((t) => !t.revoked)).toHaveLength(1);
            expect(project.variables.length).toBeGreaterThan(0);
        } finally {
            gitlab.showProject(project, token);
        }
    });

    it("destroy stops and deletes the environment and removes everything else", async () => {
        const tracked = (await stack.exportStack()).deployment.resources.filter((r: { type: string }) => !r.type.startsWith("pulumi:providers:")).length;
        // The stack, the component, 7 dynamic resources and (unless the failed destroy above dropped it) the resource group.
        expect([9, 10]).toContain(tracked);
        const destroy = await stack.destroy({ onOutput });
        expect(destroy.summary.result).toBe("succeeded");
        expect(destroy.summary.resourceChanges).toEqual({ delete: tracked });
        expect(project.variables).toEqual([]);
        expect(project.environments).toEqual([]);
        expect(project.protectedEnvironments).toEqual([]);
        expect(project.deployTokens).toEqual([]);
        expect(project.containerExpirationPolicy.enabled).toBe(false);
        // GitLab has no delete for a resource group, and its mode is left as it is on purpose.
        expect(project.resourceGroups.map((g) => [g.key, g.process_mode])).toEqual([["staging", "oldest_first"]]);
        const stopAt = gitlab.requests.findIndex((r) => r.method === "POST" && r.path.endsWith("/stop"));
        const deleteAt = gitlab.requests.findIndex((r) => r.method === "DELETE" && /\/environments\/[0-9]+$/.test(r.path));
        expect(stopAt).toBeGreaterThan(-1);
        expect(deleteAt).toBeGreaterThan(stopAt);
        expect(gitlab.requests.filter((r) => r.status === 403 || r.status === 409)).toEqual([]);
    });
});
