import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT as root, expectSelfContained, providerModules, serializeProviders } from "../support/serializeProviders";
import { DOUBLE_TOKEN, type DoubleProject, type GitlabDouble, startDouble } from "../support/gitlab";

/**
 * The engine stores each dynamic provider as the text `pulumi.runtime.serializeFunction` makes of
 * it, and the provider process (`pulumi-resource-pulumi-nodejs`) re-creates it with
 * `require-from-string` in a fresh process. This reproduces both halves without the engine:
 * serialize with the modules loaded through loader.js (as entry.js runs the program), then run
 * the text in another process against the double. It catches providers that capture module
 * state, local files or secrets.
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "gitlab-serialize-"));
/** The GitLab providers, found in components/gitlab/ (the other providers are the process level's: test/process/serialized.test.ts). */
const PROVIDERS = Object.fromEntries(Object.entries(providerModules()).filter(([, module]) => module.startsWith(join("components", "gitlab", ""))));

let texts: Record<string, string>;
let gitlab: GitlabDouble;
let project: DoubleProject;
let url: string;

beforeAll(async () => {
    ({ gitlab, project, url } = await startDouble());
    texts = await serializeProviders(work, PROVIDERS, { allowSecrets: false });
}, 120_000);

afterAll(async () => {
    await gitlab?.stop();
    rmSync(work, { recursive: true, force: true });
});

/** Runs `script` (the body of an async function with `provider` in scope) in a fresh Node process. */
async function inProviderProcess(providerName: string, script: string): Promise<unknown> {
    const file = join(work, `${providerName}-${Math.random().toString(36).slice(2)}.js`);
    writeFileSync(
        file,
        `const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi", { paths: [process.cwd()] })] }));
const provider = requireFromString(${JSON.stringify(texts[providerName])}).handler();
(async () => { ${script} })().then((r) => process.stdout.write(JSON.stringify(r ?? null)), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`,
    );
    // The provider process runs in the program's directory; modules resolve from there.
    const { stdout } = await run(process.execPath, [file], { cwd: root, env: { ...process.env, GITLAB_TOKEN: "", GITLAB_URL: "" } });
    return JSON.parse(stdout);
}

describe("serialized providers", () => {
    it("are found: one per GitLab resource type", () => {
        expect(Object.keys(PROVIDERS).sort()).toEqual([
            "cleanupPolicyProvider",
            "deployTokenProvider",
            "environmentProvider",
            "projectVariableProvider",
            "protectedEnvironmentProvider",
            "resourceGroupProvider",
        ]);
    });

    it("are self-contained: no local requires, no captured connection or secrets", () => {
        for (const [name, text] of Object.entries(texts)) {
            expectSelfContained(text, name);
            expect(text, name).not.toContain(DOUBLE_TOKEN);
            expect(text, name).not.toContain(url);
        }
    });

    it("run the whole variable lifecycle from their text in a fresh process", async () => {
        const conn = { gitlabUrl: url, gitlabToken: DOUBLE_TOKEN, project: "group/app" };
        const result = (await inProviderProcess(
            "projectVariableProvider",
            `const conn = ${JSON.stringify(conn)};
            const { inputs, failures } = await provider.check({}, { ...conn, key: "SERIALIZED", value: "v4lue-abcdef", masked: true });
            const created = await provider.create(inputs);
            const read = await provider.read(created.id, created.outs);
            const diff = await provider.diff(created.id, read.props, { ...inputs, value: "v4lue-changed" });
            const updated = await provider.update(created.id, read.props, { ...inputs, value: "v4lue-changed" });
            const bad = await provider.check({}, { ...conn, key: "SERIALIZED", value: "short", masked: true });
            return { failures, id: created.id, diff, value: updated.outs.value, bad: bad.failures.length };`,
        )) as Record<string, unknown>;
        expect(result).toEqual({
            failures: [],
            id: "42:SERIALIZED:*",
            diff: { changes: true, replaces: [], deleteBeforeReplace: false },
            value: "v4lue-changed",
            bad: 1,
        });
        expect(gitlab.variable(project, "SERIALIZED")?.value).toBe("v4lue-changed");
        await inProviderProcess(
            "projectVariableProvider",
            `await provider.delete(${JSON.stringify("42:SERIALIZED:*")}, ${JSON.stringify({ ...conn, key: "SERIALIZED" })});`,
        );
        expect(gitlab.variable(project, "SERIALIZED")).toBeUndefined();
    }, 60_000);

    it("report GitLab's errors from their text with the whole message (not the engine's 'Unknown Error')", async () => {
        const conn = { gitlabUrl: url, gitlabToken: DOUBLE_TOKEN, project: "42" };
        const result = (await inProviderProcess(
            "projectVariableProvider",
            `const conn = ${JSON.stringify(conn)};
            const { inputs } = await provider.check({}, { ...conn, key: "TAKEN_TWICE", value: "v", masked: false });
            await provider.create(inputs);
            const e = await provider.create(inputs).then(() => undefined, (err) => err);
            return { isError: e instanceof Error, message: e && e.message, text: String(e), stack: typeof (e && e.stack) };`,
        )) as Record<string, unknown>;
        expect(result).toMatchObject({ isError: true, stack: "string" });
        expect(result.message).toMatch(/^GitLab: create variable TAKEN_TWICE \(scope \*\) in project 42 failed: HTTP 400 Bad Request/);
        expect(result.text).toContain("GitLab: create variable TAKEN_TWICE");
        project.variables = project.variables.filter((v) => v.key !== "TAKEN_TWICE");
    }, 60_000);

    it("run the environment, protection, token, cleanup and resource group providers from their text", async () => {
        const conn = { gitlabUrl: url, gitlabToken: DOUBLE_TOKEN, project: "42" };
        const lifecycle = (news: Record<string, unknown>) => `
            const { inputs, failures } = await provider.check({}, ${JSON.stringify({ ...conn, ...news })});
            if (failures.length) throw new Error(JSON.stringify(failures));
            const created = await provider.create(inputs);
            const read = await provider.read(created.id, created.outs);
            await provider.delete(created.id, read.props);
            return created.id;`;
        expect(await inProviderProcess("environmentProvider", lifecycle({ name: "review/serialized" }))).toMatch(/^42:[0-9]+$/);
        expect(await inProviderProcess("protectedEnvironmentProvider", lifecycle({ environment: "production", requiredApprovals: 1 }))).toBe("42:production");
        expect(await inProviderProcess("deployTokenProvider", lifecycle({ name: "pulls" }))).toMatch(/^42:[0-9]+$/);
        expect(await inProviderProcess("cleanupPolicyProvider", lifecycle({ keepN: 25 }))).toBe("42");
        gitlab.runJobInResourceGroup(project, "review/serialized");
        expect(await inProviderProcess("resourceGroupProvider", lifecycle({ key: "review/serialized" }))).toBe("42:review/serialized");
        expect(project.resourceGroups.map((g) => [g.key, g.process_mode])).toEqual([["review/serialized", "oldest_first"]]);
        expect(project.environments).toEqual([]);
        expect(project.protectedEnvironments).toEqual([]);
        expect(project.deployTokens).toEqual([]);
        expect(project.containerExpirationPolicy).toMatchObject({ keep_n: 25, enabled: false });
        const methods = gitlab.requests.map((r) => r.method);
        expect(methods).toContain("DELETE");
        expect(gitlab.requests.every((r) => r.auth)).toBe(true);
    }, 120_000);
});
