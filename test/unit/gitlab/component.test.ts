import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import { GitlabProjectSettings, type GitlabProjectSettingsArgs } from "../../../components/gitlab/gitlabProjectSettings";

/**
 * GitlabProjectSettings under `pulumi.runtime.setMocks`: which resources it registers, with which
 * inputs, and which of them are secrets (the mock monitor keeps the engine's secret wrapper).
 */

const SECRET_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

function isSecretWrapped(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_KEY] === SECRET_SIG;
}

function unwrap(v: unknown): unknown {
    if (isSecretWrapped(v)) return unwrap((v as { value: unknown }).value);
    if (Array.isArray(v)) return v.map(unwrap);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    return v;
}

let registered: Registered[];
const unexpectedCalls: string[] = [];

beforeEach(() => {
    registered = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const inputs = unwrap(args.inputs) as Record<string, unknown>;
                switch (args.type) {
                    case "pulumi-nodejs:dynamic/gitlab:DeployToken":
                        // What the provider's create returns, token included (secret via the input wrapper below).
                        return { id: "group/app:501", state: { ...args.inputs, username: "gitlab+deploy-token-501", token: { [SECRET_KEY]: SECRET_SIG, value: "gldt-pull-secret" }, tokenId: 501 } };
                    case "pulumi-nodejs:dynamic/gitlab:Environment":
                        return { id: "group/app:77", state: { ...args.inputs, environmentId: 77, state: "available", tier: inputs.tier ?? "staging" } };
                    case "delivery:gitlab:GitlabProjectSettings":
                        return { id: "", state: {} };
                    default:
                        if (!args.type.startsWith("pulumi-nodejs:dynamic/gitlab:")) {
                            throw new Error(`unexpected resource type ${args.type}`);
                        }
                        return { id: `${args.name}-id`, state: args.inputs };
                }
            },
            call(args) {
                unexpectedCalls.push(args.token);
                throw new Error(`unmocked call ${args.token}`);
            },
        },
        "delivery",
        "staging",
        false,
    );
});

async function settle(): Promise<void> {
    let last = -1;
    for (let i = 0; i < 100 && registered.length !== last; i++) {
        last = registered.length;
        await new Promise((r) => setTimeout(r, 25));
    }
}

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const connection = { url: "https://gitlab.example.com", project: "group/app", token: "glpat-component-token" };

function args(extra: Partial<GitlabProjectSettingsArgs> = {}): GitlabProjectSettingsArgs {
    return {
        connection,
        environment: { name: "staging", externalUrl: "https://staging.example.com" },
        variables: {
            DATABASE_URL: { value: "postgres://app:pw@db/app", masked: false, description: "db" },
            API_TOKEN: { value: "abcdefgh12345678", protected: true },
        },
        ...extra,
    };
}

describe("GitlabProjectSettings", () => {
    it("registers itself and one child per role, named <name>-<role>, under itself", async () => {
        const s = new GitlabProjectSettings("gitlab", args({ protect: { requiredApprovals: 1 }, cleanupPolicy: { keepN: 5 } }));
        await settle();
        // Registration order depends on when each serialized provider resolves; the set is what matters.
        expect(registered.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "delivery:gitlab:GitlabProjectSettings gitlab",
            "pulumi-nodejs:dynamic/gitlab:ContainerRegistryCleanupPolicy gitlab-registry-cleanup",
            "pulumi-nodejs:dynamic/gitlab:DeployToken gitlab-deploy-token",
            "pulumi-nodejs:dynamic/gitlab:Environment gitlab-environment",
            "pulumi-nodejs:dynamic/gitlab:ProjectVariable gitlab-variable-API_TOKEN",
            "pulumi-nodejs:dynamic/gitlab:ProjectVariable gitlab-variable-DATABASE_URL",
            "pulumi-nodejs:dynamic/gitlab:ProtectedEnvironment gitlab-protected-environment",
        ]);
        // The parent shows in the child's URN type chain.
        expect(await value(s.variables.API_TOKEN.urn)).toBe("urn:pulumi:staging::delivery::delivery:gitlab:GitlabProjectSettings$pulumi-nodejs:dynamic/gitlab:ProjectVariable::gitlab-variable-API_TOKEN");
        expect(unexpectedCalls).toEqual([]);
    });

    it("passes each variable's flags, defaults the scope to the environment and masks by default", async () => {
        new GitlabProjectSettings("gitlab", args());
        await settle();
        const vars = registered.filter((r) => r.type.endsWith(":ProjectVariable"));
        const byKey = Object.fromEntries(vars.map((r) => [unwrap(r.inputs.key), unwrap(r.inputs)])) as Record<string, Record<string, unknown>>;
        expect(byKey.DATABASE_URL).toMatchObject({ key: "DATABASE_URL", value: "postgres://app:pw@db/app", masked: false, protected: false, raw: false, variableType: "env_var", environmentScope: "staging", description: "db", adopt: false });
        expect(byKey.API_TOKEN).toMatchObject({ key: "API_TOKEN", value: "abcdefgh12345678", masked: true, protected: true, environmentScope: "staging" });
        expect(byKey.API_TOKEN).toMatchObject({ gitlabUrl: "https://gitlab.example.com", project: "group/app", gitlabToken: "glpat-component-token" });
        expect(typeof byKey.API_TOKEN.__provider).toBe("string");
    });

    it("sends every variable value and the token as secrets, and never puts them in the provider text", async () => {
        new GitlabProjectSettings("gitlab", args());
        await settle();
        for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
            expect(isSecretWrapped(r.inputs.gitlabToken), `${r.name}.gitlabToken`).toBe(true);
            expect(String(unwrap(r.inputs.__provider))).not.toContain("glpat-component-token");
            expect(String(unwrap(r.inputs.__provider))).not.toContain("postgres://app:pw@db/app");
            if (r.type.endsWith(":ProjectVariable")) {
                expect(isSecretWrapped(r.inputs.value), `${r.name}.value`).toBe(true);
            }
            expect(isSecretWrapped(r.inputs.gitlabUrl)).toBe(false);
        }
    });

    it("protects the environment with the given levels and approvals", async () => {
        new GitlabProjectSettings("gitlab", args({ protect: { requiredApprovals: 2, deployAccessLevel: 60 } }));
        await settle();
        const pe = registered.find((r) => r.type.endsWith(":ProtectedEnvironment"))!;
        expect(unwrap(pe.inputs)).toMatchObject({ environment: "staging", deployAccessLevel: 60, requiredApprovals: 2, approverAccessLevel: 40 });
    });

    it("outputs the deploy token's pull credentials as a secret", async () => {
        const s = new GitlabProjectSettings("gitlab", args());
        await settle();
        const token = registered.find((r) => r.type.endsWith(":DeployToken"))!;
        expect(unwrap(token.inputs)).toMatchObject({ name: "staging image pulls", scopes: ["read_registry"] });
        expect(await pulumi.isSecret(s.pullCredentials!)).toBe(true);
        expect(await value(s.pullCredentials!)).toEqual({ username: "gitlab+deploy-token-501", password: "gldt-pull-secret" });
        expect(await value(s.environmentId)).toBe(77);
        expect(await value(s.variableIds)).toEqual({ DATABASE_URL: "gitlab-variable-DATABASE_URL-id", API_TOKEN: "gitlab-variable-API_TOKEN-id" });
    });

    it("registers no protection, token or cleanup policy unless asked", async () => {
        const s = new GitlabProjectSettings("gitlab", args({ deployToken: false, variables: {} }));
        await settle();
        expect(registered.map((r) => r.name).sort()).toEqual(["gitlab", "gitlab-environment"]);
        expect(s.pullCredentials).toBeUndefined();
    });

    it("accepts an Output value it cannot check yet (the provider's check does)", async () => {
        new GitlabProjectSettings("gitlab", args({ variables: { LATER: { value: pulumi.output("short") } } }));
        await settle();
        expect(registered.some((r) => r.name === "gitlab-variable-LATER")).toBe(true);
    });

    const bad: [string, Partial<GitlabProjectSettingsArgs>, string][] = [
        ["url", { connection: { ...connection, url: "gitlab.example.com" } }, 'connection.url "gitlab.example.com" must be the http(s) base URL of the GitLab instance'],
        ["project", { connection: { ...connection, project: "app" } }, 'connection.project "app" must be a numeric project id or a full path such as group/app'],
        ["token", { connection: { ...connection, token: "" } }, "connection.token is required"],
        ["environment", { environment: { name: "/staging" } }, 'environment.name: GitLab environment name "/staging" is invalid'],
        ["tier", { environment: { name: "staging", tier: "prod" as never } }, "environment.tier must be one of production, staging, testing, development, other"],
        ["unmaskable", { variables: { API_TOKEN: { value: "short" } } }, "variables.API_TOKEN: GitLab variable API_TOKEN (scope staging) cannot be masked: it has 5 characters"],
        ["key", { variables: { "NOT-A-KEY": { value: "x", masked: false } } }, 'variables.NOT-A-KEY: "NOT-A-KEY" is not a valid GitLab variable key'],
        ["access level", { protect: { deployAccessLevel: 50 as never } }, "protect.deployAccessLevel must be 30 (developer), 40 (maintainer) or 60 (admin) (got 50)"],
        ["approvals", { protect: { requiredApprovals: 1.5 } }, "protect.requiredApprovals must be a whole number from 0 to 5 (got 1.5)"],
        ["scopes", { deployToken: { scopes: [] } }, "deployToken.scopes must be one or more of read_repository"],
        ["keepN", { cleanupPolicy: { keepN: 7 as never } }, "cleanupPolicy.keepN must be one of 1, 5, 10, 25, 50, 100 (got 7)"],
    ];
    for (const [what, extra, message] of bad) {
        it(`throws before registering anything: ${what}`, async () => {
            expect(() => new GitlabProjectSettings("gitlab", args(extra))).toThrow(message);
            await settle();
            expect(registered).toEqual([]);
        });
    }

    it("never echoes a value in its errors", () => {
        let message = "";
        try {
            new GitlabProjectSettings("gitlab", args({ variables: { PW: { value: "hunter2 secret" } } }));
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toContain("variables.PW: GitLab variable PW (scope staging) cannot be masked");
        expect(message).not.toContain("hunter2");
    });
});
