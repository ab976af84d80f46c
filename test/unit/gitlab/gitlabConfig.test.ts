import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { GITLAB_KEYS, GitlabConfigError, parseGitlabSettings, readGitlabSettings } from "../../../components/gitlab/gitlabConfig";

const base = { enabled: "true", url: "https://gitlab.example.com", project: "group/app", token: "glpat-config-token" };

function problemsOf(raw: Record<string, string | undefined>, stack = "staging", env: Record<string, string | undefined> = {}): readonly string[] {
    try {
        parseGitlabSettings(stack, raw, env);
    } catch (e) {
        expect(e).toBeInstanceOf(GitlabConfigError);
        return (e as GitlabConfigError).problems;
    }
    return [];
}

function valueOf<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

describe("readGitlabSettings: enabled or not", () => {
    it("is off unless gitlab:enabled is true (the dev stack needs no GitLab)", () => {
        expect(parseGitlabSettings("dev", {})).toBeUndefined();
        expect(parseGitlabSettings("dev", { enabled: "false", url: "not checked" })).toBeUndefined();
    });

    it("reads the stack's config through the Pulumi runtime", () => {
        pulumi.runtime.setAllConfig(
            {
                "gitlab:enabled": "true",
                "gitlab:url": "https://gitlab.example.com",
                "gitlab:project": "7",
                "gitlab:token": "t0k3n-value",
                "delivery:other": "x",
            },
            ["gitlab:token"],
        );
        try {
            const s = readGitlabSettings("production");
            expect(s?.connection).toMatchObject({ url: "https://gitlab.example.com", project: "7" });
            expect(s?.environment.name).toBe("production");
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });

    it("returns typed settings with defaults that depend on the stack", async () => {
        const staging = parseGitlabSettings("staging", {
            ...base,
            variables: JSON.stringify({ DATABASE_URL: { value: "postgres://u:pw@db/app", masked: false }, API_TOKEN: "abcdefgh12345" }),
        })!;
        expect(staging.stack).toBe("staging");
        expect(staging.connection.url).toBe("https://gitlab.example.com");
        expect(staging.environment).toEqual({ name: "staging", externalUrl: undefined, tier: undefined });
        expect(staging.protect).toBe(false);
        expect(staging.deployToken).toEqual({ name: "staging image pulls", scopes: ["read_registry"], expiresAt: undefined });
        expect(staging.cleanupPolicy).toBe(false);
        const api = staging.variables!.API_TOKEN;
        expect({ ...api, value: undefined }).toEqual({
            value: undefined,
            masked: true,
            protected: false,
            raw: false,
            variableType: "env_var",
            environmentScope: "staging",
            description: "Set by the Pulumi stack staging",
            adopt: false,
        });
        expect(staging.variables!.DATABASE_URL.masked).toBe(false);
        // Every value and the token leave this module as secrets.
        expect(await pulumi.isSecret(pulumi.output(api.value))).toBe(true);
        expect(await valueOf(api.value)).toBe("abcdefgh12345");
        expect(await pulumi.isSecret(pulumi.output(staging.connection.token))).toBe(true);

        const production = parseGitlabSettings("production", {
            ...base,
            requiredApprovals: "2",
            deployAccessLevel: "admin",
            registryCleanup: "true",
            registryCleanupKeepN: "25",
        })!;
        expect(production.protect).toEqual({ deployAccessLevel: 60, requiredApprovals: 2, approverAccessLevel: 40 });
        expect(production.cleanupPolicy).toEqual({
            enabled: true,
            cadence: "1d",
            keepN: 25,
            olderThan: "14d",
            nameRegexKeep: "^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$",
            nameRegexDelete: ".*",
        });
        expect(parseGitlabSettings("review-fix-login", base)!.environment.name).toBe("review/fix-login");
        // The deploy jobs' resource group runs oldest first unless set otherwise.
        expect(staging.resourceGroup).toEqual({ processMode: "oldest_first" });
        expect(parseGitlabSettings("staging", { ...base, resourceGroupProcessMode: "newest_ready_first" })!.resourceGroup).toEqual({
            processMode: "newest_ready_first",
        });
    });

    it("takes URL, project and token from a GitLab pipeline's environment when config omits them", async () => {
        const s = parseGitlabSettings(
            "staging",
            { enabled: "true" },
            { CI_SERVER_URL: "https://gitlab.ci.example", CI_PROJECT_ID: "99", GITLAB_TOKEN: "env-token-123" },
        )!;
        expect(s.connection).toMatchObject({ url: "https://gitlab.ci.example", project: "99" });
        expect(await valueOf(s.connection.token)).toBe("env-token-123");
        // Config wins over the environment.
        expect(await valueOf(parseGitlabSettings("staging", base, { GITLAB_TOKEN: "env-token-123" })!.connection.token)).toBe("glpat-config-token");
    });
});

describe("readGitlabSettings: every wrong or missing setting has its own message naming the key and the fix", () => {
    it("reports missing url, project and token together", () => {
        expect(problemsOf({ enabled: "true" })).toEqual([
            "gitlab:url: is required when gitlab:enabled is true (CI_SERVER_URL is unset). Fix: pulumi config set gitlab:url https://gitlab.example.com --stack staging",
            "gitlab:project: is required when gitlab:enabled is true (CI_PROJECT_ID is unset). Fix: pulumi config set gitlab:project group/app --stack staging",
            "gitlab:token: is required when gitlab:enabled is true (GITLAB_TOKEN is unset). Fix: pulumi config set --secret gitlab:token <token> --stack staging, or export GITLAB_TOKEN=<token>",
        ]);
    });

    const cases: [string, Record<string, string>, string][] = [
        ["enabled", { enabled: "yes" }, 'gitlab:enabled: must be true or false (got "yes"). Fix: pulumi config set gitlab:enabled true --stack staging'],
        [
            "url",
            { url: "gitlab.example.com" },
            'gitlab:url: must be an http:// or https:// URL (got "gitlab.example.com"). Fix: pulumi config set gitlab:url https://gitlab.example.com --stack staging',
        ],
        [
            "project",
            { project: "app" },
            'gitlab:project: must be a numeric project id or the full path such as group/app (got "app"). Fix: pulumi config set gitlab:project group/app --stack staging',
        ],
        ["environment", { environment: "/prod" }, "gitlab:environment: is invalid: use letters"],
        ["environmentUrl", { environmentUrl: "staging.example.com" }, "gitlab:environmentUrl: must be an http:// or https:// URL"],
        [
            "environmentTier",
            { environmentTier: "prod" },
            'gitlab:environmentTier: must be one of production, staging, testing, development, other (got "prod")',
        ],
        [
            "variables JSON",
            { variables: "DB=1" },
            "gitlab:variables: must be a map of KEY: value or KEY: {value, masked, ...} (set entries with --path). Fix: pulumi config set --secret --path 'gitlab:variables.DATABASE_URL.value' <value> --stack staging",
        ],
        [
            "variables entry",
            { variables: JSON.stringify({ A: { value: "v", masked: "yes" } }) },
            "gitlab:variables.A.masked: must be true or false. Fix: pulumi config set --path 'gitlab:variables.A.masked' <value> --stack staging",
        ],
        [
            "variables unknown field",
            { variables: JSON.stringify({ A: { value: "abcdefgh", mask: true } }) },
            "gitlab:variables.A: has unknown field mask; it must be a string value or an object {value, masked, protected, raw, variableType, environmentScope, description, adopt}. Fix: pulumi config set --secret --path 'gitlab:variables.A.value' <value> --stack staging",
        ],
        ["variable key", { variables: JSON.stringify({ "DB-URL": "abcdefgh" }) }, 'gitlab:variables.DB-URL: "DB-URL" is not a valid GitLab variable key'],
        [
            "variable masking",
            { variables: JSON.stringify({ API_TOKEN: "short" }) },
            "gitlab:variables.API_TOKEN: GitLab variable API_TOKEN (scope staging) cannot be masked: it has 5 characters; a masked value needs at least 8. Change the value, or set masked: false. Fix: pulumi config set --secret --path 'gitlab:variables.API_TOKEN.value' <value> --stack staging, or pulumi config set --path 'gitlab:variables.API_TOKEN.masked' false --stack staging",
        ],
        [
            "variable scope",
            { variables: JSON.stringify({ A: { value: "x", masked: false, environmentScope: "a|b" } }) },
            "gitlab:variables.A: GitLab variable A (scope a|b): environment scope",
        ],
        [
            "deployAccessLevel",
            { protect: "true", deployAccessLevel: "owner" },
            'gitlab:deployAccessLevel: must be developer, maintainer or admin (or 30, 40, 60) (got "owner")',
        ],
        ["requiredApprovals", { protect: "true", requiredApprovals: "9" }, 'gitlab:requiredApprovals: must be a whole number from 0 to 5 (got "9")'],
        [
            "approvals without protection",
            { requiredApprovals: "1" },
            "gitlab:requiredApprovals: only applies to a protected environment, but gitlab:protect is false.",
        ],
        [
            "deployTokenExpiresAt",
            { deployTokenExpiresAt: "next year" },
            'gitlab:deployTokenExpiresAt: must be a calendar date written YYYY-MM-DD, such as 2026-12-31 (got "next year")',
        ],
        [
            "token options without a token",
            { deployToken: "false", deployTokenName: "x" },
            "gitlab:deployTokenName: only applies with a deploy token, but gitlab:deployToken is false.",
        ],
        // Each cleanup setting with a fixed set of values: the setting, a value outside it, the set.
        ...(
            [
                ["registryCleanupKeepN", "7", "1, 5, 10, 25, 50, 100"],
                ["registryCleanupOlderThan", "3d", "7d, 14d, 30d, 90d"],
                ["registryCleanupCadence", "hourly", "1d, 7d, 14d, 1month, 3month"],
            ] as const
        ).map(([key, value, allowed]): [string, Record<string, string>, string] => [
            key,
            { registryCleanup: "true", [key]: value },
            `gitlab:${key}: must be one of ${allowed} (got "${value}")`,
        ]),
        [
            "registryCleanupKeepRegex",
            { registryCleanup: "true", registryCleanupKeepRegex: "^(?!tmp)" },
            "gitlab:registryCleanupKeepRegex: uses lookaround or a backreference, which GitLab's RE2 engine does not support",
        ],
        [
            "registryCleanupKeepRegex too long for the release part",
            { registryCleanup: "true", registryCleanupKeepRegex: "a".repeat(200) },
            "gitlab:registryCleanupKeepRegex: is 200 characters; with the release tag pattern added GitLab stores at most 255, so it may have at most 196",
        ],
        [
            "resourceGroupProcessMode",
            { resourceGroupProcessMode: "fifo" },
            'gitlab:resourceGroupProcessMode: must be one of unordered, oldest_first, newest_first, newest_ready_first (got "fifo"). Fix: pulumi config set gitlab:resourceGroupProcessMode oldest_first --stack staging',
        ],
        [
            "cleanup options without cleanup",
            { registryCleanupKeepN: "5" },
            "gitlab:registryCleanupKeepN: only applies when this stack manages the cleanup policy, but gitlab:registryCleanup is false.",
        ],
        ["typo", { tokn: "x" }, "gitlab:tokn: is not a GitLab setting of this program (a typo?). Fix: pulumi config rm gitlab:tokn --stack staging"],
    ];

    for (const [what, raw, message] of cases) {
        it(`${what}`, () => {
            const problems = problemsOf({ ...base, ...raw });
            expect(problems, JSON.stringify(problems)).toHaveLength(1);
            expect(problems[0].startsWith(message) || problems[0].includes(message), problems[0]).toBe(true);
            expect(problems[0]).toMatch(/Fix: /);
        });
    }

    it("never echoes a secret: neither the token nor variable values", () => {
        const problems = problemsOf({ ...base, token: "", variables: JSON.stringify({ PW: "hunter2!" }) });
        expect(problems.join("\n")).not.toContain("hunter2");
        expect(problems[0]).toBe("gitlab:token: must not be empty. Fix: pulumi config set --secret gitlab:token <token> --stack staging");
    });

    it("throws one error listing all problems, before anything is registered", () => {
        expect(() => parseGitlabSettings("staging", { enabled: "true", url: "x", tokn: "y" })).toThrow(
            /^Invalid GitLab configuration for stack "staging" \(4 problems\); nothing was changed:\n {2}- gitlab:tokn: /,
        );
    });

    it("documents every key it reads", () => {
        for (const [key, spec] of Object.entries(GITLAB_KEYS)) {
            expect(spec.description.length, key).toBeGreaterThan(10);
        }
    });
});
