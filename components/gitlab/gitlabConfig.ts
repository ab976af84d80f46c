import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { GitlabProjectSettingsArgs, GitlabVariableArgs } from "./gitlabProjectSettings";
import {
    type AccessLevel,
    CLEANUP_CADENCES,
    CLEANUP_DEFAULTS,
    CLEANUP_KEEP_N,
    CLEANUP_OLDER_THAN,
    cleanupRegexProblem,
    DEFAULT_DEPLOY_TOKEN_SCOPES,
    type EnvironmentTier,
    environmentNameForStack,
    environmentNameProblem,
    environmentTierProblem,
    externalUrlProblem,
    isoDateProblem,
    isProjectRef,
    parseAccessLevel,
    keepRegexLengthProblem,
    PROTECTION_DEFAULTS,
    requiredApprovalsProblem,
    RESOURCE_GROUP_DEFAULTS,
    RESOURCE_GROUP_PROCESS_MODES,
    VARIABLE_DEFAULTS,
    variableProblems,
} from "./gitlabRules";
import {
    bool,
    checkedBy,
    fixCommandFor,
    httpUrl,
    type KeySpec,
    parseKey,
    type Raw,
    readNamespaceConfig,
    SettingsError,
    spec as keySpec,
    unknownKeyProblems,
} from "../configKit";
import { HTTP_URL_PATTERN } from "../patterns";

/**
 * The stack's GitLab settings: the `gitlab:` config namespace, validated with one schema per key.
 *
 * `parseGitlabSettings` is a pure function of the raw config strings and the process environment,
 * so each bad setting is unit-tested without an engine. Every problem is reported at once, each
 * naming its key and the command that fixes it, and all of it happens before the program
 * registers any resource.
 */

export const GITLAB_NAMESPACE = "gitlab";

const accessLevel = checkedBy(parseAccessLevel, (level) =>
    level === undefined ? "must be developer, maintainer or admin (or 30, 40, 60)" : undefined,
) as z.ZodType<AccessLevel, string>;
const regex = checkedBy((s) => s, cleanupRegexProblem);
/** A keep regex must also leave room for the release tag pattern the provider adds (GitLab stores at most 255 characters). */
const keepRegex = checkedBy(
    (s) => s,
    (s) => cleanupRegexProblem(s) ?? keepRegexLengthProblem(s),
);

const VARIABLE_SHAPE = "must be a string value or an object {value, masked, protected, raw, variableType, environmentScope, description, adopt}";
/** `KEY: "value"` is shorthand for `KEY: {value: "value"}`. */
const variableSpec = z.preprocess(
    (v) => (typeof v === "string" ? { value: v } : v),
    z.strictObject(
        {
            value: z.string("needs a value (a string; quote numbers and booleans)"),
            masked: z.boolean("must be true or false").optional(),
            protected: z.boolean("must be true or false").optional(),
            raw: z.boolean("must be true or false").optional(),
            variableType: z.enum(["env_var", "file"], "must be env_var or file").optional(),
            environmentScope: z.string("must be a string").optional(),
            description: z.string("must be a string").optional(),
            adopt: z.boolean("must be true or false").optional(),
        },
        {
            error: (issue) =>
                issue.code === "unrecognized_keys"
                    ? `has unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.join(", ")}; ${VARIABLE_SHAPE.replace(/^must/, "it must")}`
                    : VARIABLE_SHAPE,
        },
    ),
);

/** A key's spec, with the sentence that documents it (the README's table says the same). */
const spec = <T>(
    schema: z.ZodType<T, string>,
    example: string,
    description: string,
    extra: Partial<KeySpec<T>> = {},
): KeySpec<T> & { readonly description: string } => ({
    ...keySpec(schema, example, extra),
    description,
});

/** Every `gitlab:` key this program reads. Pulumi.yaml and the README describe the same ones. */
export const GITLAB_KEYS = {
    enabled: spec(bool, "true", "Manage the GitLab project's settings from this stack."),
    url: spec(httpUrl, "https://gitlab.example.com", "Base URL of the GitLab instance (default: CI_SERVER_URL in a pipeline)."),
    project: spec(
        checkedBy(
            (s) => s,
            (s) => (isProjectRef(s) ? undefined : "must be a numeric project id or the full path such as group/app"),
        ),
        "group/app",
        "Project id or full path (default: CI_PROJECT_ID in a pipeline).",
    ),
    token: spec(z.string().min(1, "must not be empty"), "<token>", "API token with the api scope and the Maintainer role (default: GITLAB_TOKEN).", {
        secret: true,
    }),
    environment: spec(
        checkedBy(
            (s) => s,
            (s) => environmentNameProblem(s)?.replace(/^GitLab environment name "[^"]*" is invalid: /, "is invalid: "),
        ),
        "staging",
        "GitLab environment name (default: the stack name; review-<slug> stacks use review/<slug>).",
    ),
    environmentUrl: spec(
        httpUrl.superRefine((s, ctx) => {
            if (externalUrlProblem(s)) ctx.addIssue({ code: "custom", message: "must be an http(s) URL of at most 255 characters" });
        }),
        "https://staging.example.com",
        "External URL shown on the GitLab environment.",
    ),
    environmentTier: spec(
        checkedBy((s) => s as EnvironmentTier, environmentTierProblem),
        "staging",
        "Environment tier (default: inferred from the name).",
    ),
    variables: spec(
        z
            .string()
            .transform((s, ctx) => {
                try {
                    return JSON.parse(s) as unknown;
                } catch {
                    ctx.addIssue({ code: "custom", message: "must be a map of KEY: value or KEY: {value, masked, ...} (set entries with --path)" });
                    return z.NEVER;
                }
            })
            .pipe(z.record(z.string(), variableSpec, "must be a map of KEY: value or KEY: {value, masked, ...} (set entries with --path)")),
        "DATABASE_URL.value",
        "Project CI/CD variables: KEY: value or KEY: {value, masked (default true), protected, raw, variableType, environmentScope (default: the environment), description, adopt (take over one made by hand)}.",
        { secret: true, path: true },
    ),
    protect: spec(bool, "true", "Protect the environment (GitLab Premium)."),
    deployAccessLevel: spec(accessLevel, "maintainer", "Who may deploy to the protected environment."),
    requiredApprovals: spec(
        checkedBy((s) => (/^-?[0-9]+$/.test(s) ? Number(s) : NaN), requiredApprovalsProblem),
        "1",
        "Approvals a deployment to the protected environment needs.",
    ),
    approverAccessLevel: spec(accessLevel, "maintainer", "Who may approve deployments."),
    deployToken: spec(bool, "true", "Create a read_registry deploy token for the cluster's image pulls."),
    deployTokenName: spec(z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"), "staging-image-pulls", "Deploy token name."),
    deployTokenExpiresAt: spec(
        checkedBy((s) => s, isoDateProblem),
        "2026-12-31",
        "Deploy token expiry (default: never).",
    ),
    registryCleanup: spec(bool, "true", "Manage the project's container registry cleanup policy from this stack (one stack per project)."),
    registryCleanupKeepN: spec(
        z.enum(CLEANUP_KEEP_N.map(String) as [string, ...string[]], `must be one of ${CLEANUP_KEEP_N.join(", ")}`).transform(Number),
        "10",
        "Newest tags kept per image.",
    ),
    registryCleanupOlderThan: spec(z.enum(CLEANUP_OLDER_THAN, `must be one of ${CLEANUP_OLDER_THAN.join(", ")}`), "14d", "Delete only tags older than this."),
    registryCleanupCadence: spec(z.enum(CLEANUP_CADENCES, `must be one of ${CLEANUP_CADENCES.join(", ")}`), "1d", "How often the cleanup runs."),
    registryCleanupKeepRegex: spec(
        keepRegex,
        "'^v?[0-9]+[.][0-9]+[.][0-9]+.*$'",
        "Tags always kept (RE2); release tags (release-<stack>-v<N>-<id>) are kept whatever it says.",
    ),
    registryCleanupDeleteRegex: spec(regex, "'.*'", "Tags that may be deleted (RE2)."),
    resourceGroupProcessMode: spec(
        z.enum(RESOURCE_GROUP_PROCESS_MODES, `must be one of ${RESOURCE_GROUP_PROCESS_MODES.join(", ")}`),
        "oldest_first",
        "Process mode of the resource group the deploy jobs use (resource_group: <environment>); oldest_first runs them in pipeline order.",
    ),
} as const;

export type GitlabKey = keyof typeof GITLAB_KEYS;
type Parsed = { [K in GitlabKey]?: z.output<(typeof GITLAB_KEYS)[K]["schema"]> };

/** A settings problem report; every line names a key and the command that fixes it. */
export class GitlabConfigError extends SettingsError {
    constructor(stack: string, problems: readonly string[]) {
        super("GitLab configuration", stack, problems);
        this.name = "GitlabConfigError";
    }
}

export function fixCommand(stack: string, key: GitlabKey): string {
    return fixCommandFor(GITLAB_NAMESPACE, key, GITLAB_KEYS[key], stack);
}

/** The settings `GitlabProjectSettings` takes, plus what was read, for `index.ts`. */
export type GitlabSettings = GitlabProjectSettingsArgs & { readonly stack: string };

/**
 * Validates the raw `gitlab:` config strings (keys without the namespace). Returns undefined when
 * `gitlab:enabled` is not true; throws one GitlabConfigError listing every problem otherwise.
 * `env` supplies GITLAB_TOKEN and, in a pipeline, CI_SERVER_URL and CI_PROJECT_ID.
 */
export function parseGitlabSettings(stack: string, raw: Raw, env: Readonly<Record<string, string | undefined>> = {}): GitlabSettings | undefined {
    const problems: string[] = [];
    const v: Parsed = {};
    const parse = (key: GitlabKey, value: string | undefined) => {
        if (value === undefined) return;
        // A problem inside one variable: the command sets that entry (its value as a secret).
        const entryFix = (path: readonly PropertyKey[]) =>
            key === "variables" && path.length
                ? `pulumi config set${path.length > 1 && path[1] !== "value" ? "" : " --secret"} --path '${GITLAB_NAMESPACE}:variables.${path.join(".")}${path.length === 1 ? ".value" : ""}' <value> --stack ${stack}`
                : undefined;
        const result = parseKey(GITLAB_NAMESPACE, key, GITLAB_KEYS[key] as KeySpec<unknown>, value, stack, entryFix);
        if (result.ok) {
            (v as Record<string, unknown>)[key] = result.value;
        } else {
            problems.push(result.problem);
        }
    };

    parse("enabled", raw.enabled);
    if (problems.length > 0) {
        throw new GitlabConfigError(stack, problems);
    }
    if (v.enabled !== true) {
        // The dev stack and anything not in GitLab: no GitLab calls, no GitLab settings needed.
        return undefined;
    }

    problems.push(...unknownKeyProblems(GITLAB_NAMESPACE, GITLAB_KEYS, raw, stack, "GitLab setting"));
    for (const key of Object.keys(GITLAB_KEYS) as GitlabKey[]) {
        if (key !== "enabled") parse(key, raw[key]);
    }

    const url = v.url ?? (raw.url === undefined && env.CI_SERVER_URL && HTTP_URL_PATTERN.test(env.CI_SERVER_URL) ? env.CI_SERVER_URL : undefined);
    if (url === undefined && raw.url === undefined) {
        problems.push(
            `${GITLAB_NAMESPACE}:url: is required when ${GITLAB_NAMESPACE}:enabled is true (CI_SERVER_URL is unset). Fix: ${fixCommand(stack, "url")}`,
        );
    }
    const project = v.project ?? (raw.project === undefined && env.CI_PROJECT_ID && /^[0-9]+$/.test(env.CI_PROJECT_ID) ? env.CI_PROJECT_ID : undefined);
    if (project === undefined && raw.project === undefined) {
        problems.push(
            `${GITLAB_NAMESPACE}:project: is required when ${GITLAB_NAMESPACE}:enabled is true (CI_PROJECT_ID is unset). Fix: ${fixCommand(stack, "project")}`,
        );
    }
    const token = v.token ?? (raw.token === undefined ? env.GITLAB_TOKEN || undefined : undefined);
    if (token === undefined && raw.token === undefined) {
        problems.push(
            `${GITLAB_NAMESPACE}:token: is required when ${GITLAB_NAMESPACE}:enabled is true (GITLAB_TOKEN is unset). Fix: ${fixCommand(stack, "token")}, or export GITLAB_TOKEN=<token>`,
        );
    }

    const environment = v.environment ?? environmentNameForStack(stack);
    if (v.environment === undefined && raw.environment === undefined && environmentNameProblem(environment)) {
        problems.push(
            `${GITLAB_NAMESPACE}:environment: the stack name "${stack}" is not a valid GitLab environment name. Fix: ${fixCommand(stack, "environment")}`,
        );
    }

    const variables: Record<string, GitlabVariableArgs> = {};
    const keys = Object.keys(v.variables ?? {});
    for (const [key, entry] of Object.entries(v.variables ?? {})) {
        const spec = typeof entry === "string" ? { value: entry } : entry;
        const resolved = {
            masked: spec.masked ?? VARIABLE_DEFAULTS.masked,
            protected: spec.protected ?? VARIABLE_DEFAULTS.protected,
            raw: spec.raw ?? VARIABLE_DEFAULTS.raw,
            variableType: spec.variableType ?? VARIABLE_DEFAULTS.variableType,
            environmentScope: spec.environmentScope ?? environment,
            description: spec.description ?? `Set by the Pulumi stack ${stack}`,
        } as const;
        const adopt = spec.adopt ?? false;
        const found = variableProblems({ key, value: spec.value, otherNames: keys, ...resolved });
        for (const p of found) {
            const fix = /cannot be masked/.test(p)
                ? `pulumi config set --secret --path '${GITLAB_NAMESPACE}:variables.${key}.value' <value> --stack ${stack}, or pulumi config set --path '${GITLAB_NAMESPACE}:variables.${key}.masked' false --stack ${stack}`
                : /environment scope/.test(p)
                  ? `pulumi config set --path '${GITLAB_NAMESPACE}:variables.${key}.environmentScope' ${environment} --stack ${stack}`
                  : `rename it: pulumi config rm --path '${GITLAB_NAMESPACE}:variables.${key}' --stack ${stack}, then set it under a valid key`;
            problems.push(`${GITLAB_NAMESPACE}:variables.${key}: ${p}. Fix: ${fix}`);
        }
        variables[key] = { value: pulumi.secret(spec.value), ...resolved, adopt };
    }

    const protect = v.protect ?? stack === "production";
    if (!protect) {
        for (const key of ["deployAccessLevel", "requiredApprovals", "approverAccessLevel"] as const) {
            if (raw[key] !== undefined) {
                problems.push(
                    `${GITLAB_NAMESPACE}:${key}: only applies to a protected environment, but ${GITLAB_NAMESPACE}:protect is false. Fix: pulumi config set ${GITLAB_NAMESPACE}:protect true --stack ${stack}, or pulumi config rm ${GITLAB_NAMESPACE}:${key} --stack ${stack}`,
                );
            }
        }
    }
    const deployToken = v.deployToken ?? true;
    if (!deployToken) {
        for (const key of ["deployTokenName", "deployTokenExpiresAt"] as const) {
            if (raw[key] !== undefined) {
                problems.push(
                    `${GITLAB_NAMESPACE}:${key}: only applies with a deploy token, but ${GITLAB_NAMESPACE}:deployToken is false. Fix: pulumi config rm ${GITLAB_NAMESPACE}:${key} --stack ${stack}`,
                );
            }
        }
    }
    const cleanup = v.registryCleanup ?? false;
    if (!cleanup) {
        for (const key of [
            "registryCleanupKeepN",
            "registryCleanupOlderThan",
            "registryCleanupCadence",
            "registryCleanupKeepRegex",
            "registryCleanupDeleteRegex",
        ] as const) {
            if (raw[key] !== undefined) {
                problems.push(
                    `${GITLAB_NAMESPACE}:${key}: only applies when this stack manages the cleanup policy, but ${GITLAB_NAMESPACE}:registryCleanup is false. Fix: pulumi config set ${GITLAB_NAMESPACE}:registryCleanup true --stack ${stack}, or pulumi config rm ${GITLAB_NAMESPACE}:${key} --stack ${stack}`,
                );
            }
        }
    }

    if (problems.length > 0) {
        throw new GitlabConfigError(stack, problems);
    }

    return {
        stack,
        connection: { url: url!, project: project!, token: pulumi.secret(token!) },
        environment: { name: environment, externalUrl: v.environmentUrl, tier: v.environmentTier },
        variables,
        protect: protect
            ? {
                  deployAccessLevel: v.deployAccessLevel ?? PROTECTION_DEFAULTS.deployAccessLevel,
                  requiredApprovals: v.requiredApprovals ?? PROTECTION_DEFAULTS.requiredApprovals,
                  approverAccessLevel: v.approverAccessLevel ?? PROTECTION_DEFAULTS.approverAccessLevel,
              }
            : false,
        deployToken: deployToken
            ? { name: v.deployTokenName ?? `${environment} image pulls`, scopes: [...DEFAULT_DEPLOY_TOKEN_SCOPES], expiresAt: v.deployTokenExpiresAt }
            : false,
        cleanupPolicy: cleanup
            ? {
                  enabled: true,
                  cadence: v.registryCleanupCadence ?? CLEANUP_DEFAULTS.cadence,
                  keepN: (v.registryCleanupKeepN ?? CLEANUP_DEFAULTS.keepN) as 10,
                  olderThan: v.registryCleanupOlderThan ?? CLEANUP_DEFAULTS.olderThan,
                  nameRegexKeep: v.registryCleanupKeepRegex ?? CLEANUP_DEFAULTS.nameRegexKeep,
                  nameRegexDelete: v.registryCleanupDeleteRegex ?? CLEANUP_DEFAULTS.nameRegexDelete,
              }
            : false,
        resourceGroup: { processMode: v.resourceGroupProcessMode ?? RESOURCE_GROUP_DEFAULTS.processMode },
    };
}

/** The raw `gitlab:` config of the running stack (secrets included, decrypted: validate, then wrap). */
export function readRawGitlabConfig(): Record<string, string | undefined> {
    return readNamespaceConfig(GITLAB_NAMESPACE).raw;
}

/**
 * The program's entry point: the stack's GitLab settings, or undefined when `gitlab:enabled` is
 * not true (the dev stack). Throws GitlabConfigError before any resource is registered.
 */
export function readGitlabSettings(stack: string = pulumi.getStack()): GitlabSettings | undefined {
    return parseGitlabSettings(stack, readRawGitlabConfig(), process.env);
}
