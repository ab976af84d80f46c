import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { GitlabProjectSettings, type GitlabProjectSettingsArgs } from "../../../components/gitlab/gitlabProjectSettings";
import { cleanupPolicyProvider } from "../../../components/gitlab/cleanupPolicy";
import { deployTokenProvider } from "../../../components/gitlab/deployToken";
import { environmentProvider } from "../../../components/gitlab/environment";
import { projectVariableProvider } from "../../../components/gitlab/projectVariable";
import { protectedEnvironmentProvider } from "../../../components/gitlab/protectedEnvironment";
import { resourceGroupProvider } from "../../../components/gitlab/resourceGroup";
import { isSecretValue, plain, providerOf, settle, useMocks, valueOf } from "../harness";

/**
 * GitlabProjectSettings under `pulumi.runtime.setMocks` (the shared harness): which resources it
 * registers, with which inputs, and which of them are secrets (the mock monitor keeps the
 * engine's secret wrapper).
 */

const rec = useMocks({
    stack: "staging",
    // What the providers' create returns for the outputs the component reads.
    dynamicState: (type, inputs) =>
        type === "pulumi-nodejs:dynamic/gitlab:DeployToken"
            ? { username: "gitlab+deploy-token-501", token: "gldt-pull-secret", tokenId: 501 }
            : type === "pulumi-nodejs:dynamic/gitlab:Environment"
              ? { environmentId: 77, state: "available", tier: inputs.tier ?? "staging" }
              : undefined,
});

/** Each dynamic type's provider, by the type's name. */
const PROVIDERS = {
    ProjectVariable: projectVariableProvider,
    Environment: environmentProvider,
    ProtectedEnvironment: protectedEnvironmentProvider,
    DeployToken: deployTokenProvider,
    ContainerRegistryCleanupPolicy: cleanupPolicyProvider,
    ResourceGroup: resourceGroupProvider,
};

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
        await settle(rec());
        // Registration order depends on when each serialized provider resolves; the set is what matters.
        expect(
            rec()
                .resources.map((r) => `${r.type} ${r.name}`)
                .sort(),
        ).toEqual([
            "delivery:gitlab:GitlabProjectSettings gitlab",
            "pulumi-nodejs:dynamic/gitlab:ContainerRegistryCleanupPolicy gitlab-registry-cleanup",
            "pulumi-nodejs:dynamic/gitlab:DeployToken gitlab-deploy-token",
            "pulumi-nodejs:dynamic/gitlab:Environment gitlab-environment",
            "pulumi-nodejs:dynamic/gitlab:ProjectVariable gitlab-variable-API_TOKEN",
            "pulumi-nodejs:dynamic/gitlab:ProjectVariable gitlab-variable-DATABASE_URL",
            "pulumi-nodejs:dynamic/gitlab:ProtectedEnvironment gitlab-protected-environment",
            "pulumi-nodejs:dynamic/gitlab:ResourceGroup gitlab-resource-group",
        ]);
        // The parent shows in the child's URN type chain.
        expect(await valueOf(s.variables.API_TOKEN.urn)).toBe(
            "urn:pulumi:staging::delivery::delivery:gitlab:GitlabProjectSettings$pulumi-nodejs:dynamic/gitlab:ProjectVariable::gitlab-variable-API_TOKEN",
        );
        expect(rec().calls).toEqual([]);
    });

    it("passes each variable's flags, defaults the scope to the environment and masks by default", async () => {
        new GitlabProjectSettings("gitlab", args());
        await settle(rec());
        const vars = rec().resources.filter((r) => r.type.endsWith(":ProjectVariable"));
        const byKey = Object.fromEntries(vars.map((r) => [plain(r.inputs.key), plain(r.inputs)])) as Record<string, Record<string, unknown>>;
        expect(byKey.DATABASE_URL).toMatchObject({
            key: "DATABASE_URL",
            value: "postgres://app:pw@db/app",
            masked: false,
            protected: false,
            raw: false,
            variableType: "env_var",
            environmentScope: "staging",
            description: "db",
            adopt: false,
        });
        expect(byKey.API_TOKEN).toMatchObject({ key: "API_TOKEN", value: "abcdefgh12345678", masked: true, protected: true, environmentScope: "staging" });
        expect(byKey.API_TOKEN).toMatchObject({ gitlabUrl: "https://gitlab.example.com", project: "group/app", gitlabToken: "glpat-component-token" });
        expect(typeof byKey.API_TOKEN.__provider).toBe("string");
    });

    it("sends every variable value and the token as secrets, and runs each resource on its module's provider, whose text holds neither", async () => {
        new GitlabProjectSettings("gitlab", args({ protect: { requiredApprovals: 1 }, cleanupPolicy: { keepN: 5 }, deployToken: {} }));
        await settle(rec());
        const dynamic = rec().resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"));
        // The module-level providers test/gitlab/serialization.test.ts serializes and checks for a
        // captured token or URL: a provider made per resource could capture its arguments.
        expect(new Set(dynamic.map((r) => providerOf(plain(r.inputs.__provider))))).toEqual(new Set(Object.values(PROVIDERS)));
        for (const r of dynamic) {
            expect(providerOf(plain(r.inputs.__provider)), r.name).toBe(PROVIDERS[r.type.split(":").pop() as keyof typeof PROVIDERS]);
            expect(isSecretValue(r.inputs.gitlabToken), `${r.name}.gitlabToken`).toBe(true);
            if (r.type.endsWith(":ProjectVariable")) {
                expect(isSecretValue(r.inputs.value), `${r.name}.value`).toBe(true);
            }
            expect(isSecretValue(r.inputs.gitlabUrl)).toBe(false);
        }
    });

    it("protects the environment with the given levels and approvals", async () => {
        new GitlabProjectSettings("gitlab", args({ protect: { requiredApprovals: 2, deployAccessLevel: 60 } }));
        await settle(rec());
        const pe = rec().resources.find((r) => r.type.endsWith(":ProtectedEnvironment"))!;
        expect(plain(pe.inputs)).toMatchObject({ environment: "staging", deployAccessLevel: 60, requiredApprovals: 2, approverAccessLevel: 40 });
    });

    it("outputs the deploy token's pull credentials as a secret", async () => {
        const s = new GitlabProjectSettings("gitlab", args());
        await settle(rec());
        const token = rec().resources.find((r) => r.type.endsWith(":DeployToken"))!;
        expect(plain(token.inputs)).toMatchObject({ name: "staging image pulls", scopes: ["read_registry"] });
        expect(await pulumi.isSecret(s.pullCredentials!)).toBe(true);
        expect(await valueOf(s.pullCredentials!)).toEqual({ username: "gitlab+deploy-token-501", password: "gldt-pull-secret" });
        expect(await valueOf(s.environmentId)).toBe(77);
        expect(await valueOf(s.variableIds)).toEqual({ DATABASE_URL: "gitlab-variable-DATABASE_URL-id", API_TOKEN: "gitlab-variable-API_TOKEN-id" });
    });

    it("sets the resource group named like the environment to oldest_first by default, or the mode asked", async () => {
        new GitlabProjectSettings("gitlab", args({ environment: { name: "review/fix-login" } }));
        await settle(rec());
        const group = rec().resources.find((r) => r.type === "pulumi-nodejs:dynamic/gitlab:ResourceGroup")!;
        expect(plain(group.inputs)).toMatchObject({ key: "review/fix-login", processMode: "oldest_first", project: "group/app" });
        expect(() => new GitlabProjectSettings("gitlab-2", args({ resourceGroup: { processMode: "fifo" as never } }))).toThrow(
            'resourceGroup.processMode must be one of unordered, oldest_first, newest_first, newest_ready_first (got "fifo")',
        );
    });

    it("registers no protection, token, cleanup policy or resource group unless asked", async () => {
        const s = new GitlabProjectSettings("gitlab", args({ deployToken: false, variables: {}, resourceGroup: false }));
        await settle(rec());
        expect(
            rec()
                .resources.map((r) => r.name)
                .sort(),
        ).toEqual(["gitlab", "gitlab-environment"]);
        expect(s.pullCredentials).toBeUndefined();
    });

    it("accepts an Output value it cannot check yet (the provider's check does)", async () => {
        new GitlabProjectSettings("gitlab", args({ variables: { LATER: { value: pulumi.output("short") } } }));
        await settle(rec());
        expect(rec().resources.some((r) => r.name === "gitlab-variable-LATER")).toBe(true);
    });

    const bad: [string, Partial<GitlabProjectSettingsArgs>, string][] = [
        [
            "url",
            { connection: { ...connection, url: "gitlab.example.com" } },
            'connection.url "gitlab.example.com" must be the http(s) base URL of the GitLab instance',
        ],
        [
            "project",
            { connection: { ...connection, project: "app" } },
            'connection.project "app" must be a numeric project id or a full path such as group/app',
        ],
        ["token", { connection: { ...connection, token: "" } }, "connection.token is required"],
        ["environment", { environment: { name: "/staging" } }, 'environment.name: GitLab environment name "/staging" is invalid'],
        [
            "tier",
            { environment: { name: "staging", tier: "prod" as never } },
            "environment.tier must be one of production, staging, testing, development, other",
        ],
        [
            "unmaskable",
            { variables: { API_TOKEN: { value: "short" } } },
            "variables.API_TOKEN: GitLab variable API_TOKEN (scope staging) cannot be masked: it has 5 characters",
        ],
        ["key", { variables: { "NOT-A-KEY": { value: "x", masked: false } } }, 'variables.NOT-A-KEY: "NOT-A-KEY" is not a valid GitLab variable key'],
        [
            "access level",
            { protect: { deployAccessLevel: 50 as never } },
            "protect.deployAccessLevel must be 30 (developer), 40 (maintainer) or 60 (admin) (got 50)",
        ],
        ["approvals", { protect: { requiredApprovals: 1.5 } }, "protect.requiredApprovals must be a whole number from 0 to 5 (got 1.5)"],
        ["scopes", { deployToken: { scopes: [] } }, "deployToken.scopes must be one or more of read_repository"],
        ["keepN", { cleanupPolicy: { keepN: 7 as never } }, "cleanupPolicy.keepN must be one of 1, 5, 10, 25, 50, 100 (got 7)"],
    ];
    for (const [what, extra, message] of bad) {
        it(`throws before registering anything: ${what}`, async () => {
            expect(() => new GitlabProjectSettings("gitlab", args(extra))).toThrow(message);
            await settle(rec());
            expect(rec().resources).toEqual([]);
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
