import * as pulumi from "@pulumi/pulumi";
import { ContainerRegistryCleanupPolicy } from "./cleanupPolicy";
import { DeployToken } from "./deployToken";
import { Environment } from "./environment";
import { ProjectVariable } from "./projectVariable";
import { ProtectedEnvironment } from "./protectedEnvironment";
import { ResourceGroup } from "./resourceGroup";
import {
    accessLevelProblem,
    type AccessLevel,
    type CleanupCadence,
    type CleanupKeepN,
    type CleanupOlderThan,
    cleanupPolicyProblems,
    DEFAULT_DEPLOY_TOKEN_SCOPES,
    deployTokenScopesProblem,
    type DeployTokenScope,
    type EnvironmentTier,
    environmentNameProblem,
    environmentTierProblem,
    externalUrlProblem,
    isoDateProblem,
    isProjectRef,
    processModeProblem,
    PROTECTION_DEFAULTS,
    requiredApprovalsProblem,
    RESOURCE_GROUP_DEFAULTS,
    type ResourceGroupProcessMode,
    VARIABLE_DEFAULTS,
    variableProblems,
} from "./gitlabRules";
import { HTTP_URL_PATTERN } from "../patterns";

/** How to reach the GitLab project. */
export interface GitlabConnectionArgs {
    /** Base URL of the instance, e.g. `https://gitlab.example.com`. */
    readonly url: string;
    /** Numeric project id or full path (`group/app`). */
    readonly project: string;
    /** API token (api scope, Maintainer role). Made a secret if it is not one already. */
    readonly token: pulumi.Input<string>;
}

/** One project CI/CD variable. */
export interface GitlabVariableArgs {
    /** Always stored as a secret. */
    readonly value: pulumi.Input<string>;
    /** Hide the value in job logs. Default true (`VARIABLE_DEFAULTS`: these are settings that used to be typed in by hand as masked). */
    readonly masked?: boolean;
    /** Only for protected branches and tags. Default false. */
    readonly protected?: boolean;
    /** Do not expand `$VARS` in the value. Default false. */
    readonly raw?: boolean;
    /** Default `env_var`. */
    readonly variableType?: "env_var" | "file";
    /** Default: this stack's environment name, so stacks sharing a project never touch each other's variables. */
    readonly environmentScope?: string;
    /** Default empty. */
    readonly description?: string;
    /** Take over a variable with the same key and scope made by hand, instead of failing. Default false. */
    readonly adopt?: boolean;
}

/** Deploy protection (GitLab Premium). */
export interface GitlabProtectionArgs {
    /** Who may deploy. Default 40 (maintainer). */
    readonly deployAccessLevel?: AccessLevel;
    /** Approvals required before a deployment runs. Default 0. */
    readonly requiredApprovals?: number;
    /** Who may approve. Default 40 (maintainer). */
    readonly approverAccessLevel?: AccessLevel;
}

/** The deploy token whose credentials the cluster uses to pull images. */
export interface GitlabDeployTokenArgs {
    /** Default `<environment> image pulls`. */
    readonly name?: string;
    /** Default `["read_registry"]`. */
    readonly scopes?: DeployTokenScope[];
    /** Default: GitLab's `gitlab+deploy-token-<n>`. */
    readonly username?: string;
    /** ISO 8601 date; default: never expires. */
    readonly expiresAt?: string;
}

/** The project's registry cleanup policy (one per project: manage it from one stack only). */
export interface GitlabCleanupPolicyArgs {
    /** Default true. */
    readonly enabled?: boolean;
    /** Default `1d`. */
    readonly cadence?: CleanupCadence;
    /** Newest tags kept per image. Default 10. */
    readonly keepN?: CleanupKeepN;
    /** Default `14d`. */
    readonly olderThan?: CleanupOlderThan;
    /** Tags that may be deleted. Default `.*`. */
    readonly nameRegexDelete?: string;
    /** Tags always kept. Default version tags (`^v?[0-9]+\.[0-9]+\.[0-9]+.*$`); release tags (`release-…`) are kept whatever it says. */
    readonly nameRegexKeep?: string;
}

/** The process mode of the stack's CI/CD resource group (key: the environment name, as the deploy jobs' `resource_group:`). */
export interface GitlabResourceGroupArgs {
    /** Default `oldest_first`: deploys run in pipeline order. */
    readonly processMode?: ResourceGroupProcessMode;
}

export interface GitlabProjectSettingsArgs {
    readonly connection: GitlabConnectionArgs;
    /** The GitLab environment this stack deploys to. */
    readonly environment: {
        /** `staging`, `production`, `review/<slug>`, … */
        readonly name: string;
        /** Link shown in GitLab. Default none. */
        readonly externalUrl?: pulumi.Input<string>;
        /** Default: inferred from the name, as GitLab does. */
        readonly tier?: EnvironmentTier;
    };
    /** Project CI/CD variables by key. Default none. */
    readonly variables?: Readonly<Record<string, GitlabVariableArgs>>;
    /** Protect the environment. Default: not protected. */
    readonly protect?: GitlabProtectionArgs | false;
    /** Default: a `read_registry` token is created. `false`: none (no `pullCredentials`). */
    readonly deployToken?: GitlabDeployTokenArgs | false;
    /** Default: the project's cleanup policy is left alone. */
    readonly cleanupPolicy?: GitlabCleanupPolicyArgs | false;
    /** Default: the resource group named like the environment is set to `oldest_first`. `false`: left alone. */
    readonly resourceGroup?: GitlabResourceGroupArgs | false;
}

/** Registry credentials for an image pull secret. */
export interface PullCredentials {
    readonly username: string;
    readonly password: string;
}

/**
 * Every problem with `args`, each naming the setting. Exported so callers (and tests) can check
 * args without registering anything; the constructor throws on the same list.
 */
export function gitlabProjectSettingsProblems(args: GitlabProjectSettingsArgs): string[] {
    const problems: string[] = [];
    const { connection, environment } = args;
    if (!HTTP_URL_PATTERN.test(connection?.url ?? "")) {
        problems.push(`connection.url ${JSON.stringify(connection?.url)} must be the http(s) base URL of the GitLab instance, e.g. https://gitlab.example.com`);
    }
    if (!isProjectRef(connection?.project ?? "")) {
        problems.push(`connection.project ${JSON.stringify(connection?.project)} must be a numeric project id or a full path such as group/app`);
    }
    if (connection?.token === undefined || connection.token === "") {
        problems.push("connection.token is required (an access token with the api scope)");
    }
    const envProblem = environmentNameProblem(environment?.name ?? "");
    if (envProblem) {
        problems.push(`environment.name: ${envProblem}`);
    }
    if (typeof environment?.externalUrl === "string" && environment.externalUrl !== "") {
        const urlProblem = externalUrlProblem(environment.externalUrl);
        if (urlProblem) problems.push(`environment.externalUrl: ${urlProblem}`);
    }
    const tierProblem = environment?.tier !== undefined ? environmentTierProblem(environment.tier) : undefined;
    if (tierProblem) {
        problems.push(`environment.tier ${tierProblem} (got ${JSON.stringify(environment!.tier)})`);
    }
    const keys = Object.keys(args.variables ?? {});
    for (const [key, v] of Object.entries(args.variables ?? {})) {
        for (const p of variableProblems({
            key,
            // An Output's value is not known yet; the provider's check validates it then.
            value: typeof v.value === "string" ? v.value : undefined,
            masked: v.masked ?? VARIABLE_DEFAULTS.masked,
            raw: v.raw,
            environmentScope: v.environmentScope ?? environment?.name,
            variableType: v.variableType,
            otherNames: keys,
        })) {
            problems.push(`variables.${key}: ${p}`);
        }
    }
    if (args.protect) {
        for (const k of ["deployAccessLevel", "approverAccessLevel"] as const) {
            const level = args.protect[k];
            const why = level !== undefined ? accessLevelProblem(level) : undefined;
            if (why) {
                problems.push(`protect.${k} ${why} (got ${JSON.stringify(level)})`);
            }
        }
        const n = args.protect.requiredApprovals;
        const approvals = n !== undefined ? requiredApprovalsProblem(n) : undefined;
        if (approvals) {
            problems.push(`protect.requiredApprovals ${approvals} (got ${JSON.stringify(n)})`);
        }
    }
    if (args.deployToken) {
        const scopes = args.deployToken.scopes;
        const why = scopes !== undefined ? deployTokenScopesProblem(scopes) : undefined;
        if (why) {
            problems.push(`deployToken.scopes ${why.reason} (got ${JSON.stringify(scopes)})`);
        }
        const dateProblem = args.deployToken.expiresAt !== undefined ? isoDateProblem(args.deployToken.expiresAt) : undefined;
        if (dateProblem) {
            problems.push(`deployToken.expiresAt ${dateProblem} (got ${JSON.stringify(args.deployToken.expiresAt)})`);
        }
    }
    if (args.cleanupPolicy) {
        for (const p of cleanupPolicyProblems(args.cleanupPolicy, "cleanupPolicy.", (value) => value === undefined)) {
            problems.push(p.reason);
        }
    }
    const mode = args.resourceGroup ? args.resourceGroup.processMode : undefined;
    const modeProblem = mode !== undefined ? processModeProblem(mode) : undefined;
    if (modeProblem) {
        problems.push(`resourceGroup.processMode ${modeProblem} (got ${JSON.stringify(mode)})`);
    }
    return problems;
}

/**
 * The GitLab side of a stack, as resources: the stack's environment (and its protection), the
 * process mode of its deploy jobs' resource group, its CI/CD variables, a deploy token for image
 * pulls and, optionally, the project's registry cleanup policy.
 */
export class GitlabProjectSettings extends pulumi.ComponentResource {
    /** GitLab's id of the environment. */
    public readonly environmentId: pulumi.Output<number>;
    public readonly environmentName: pulumi.Output<string>;
    /** Variable resource ids (`<project>:<key>:<scope>`) by key. */
    public readonly variableIds: pulumi.Output<Record<string, string>>;
    /** Deploy token credentials for the cluster's image pull secret (a secret); undefined without a token. */
    public readonly pullCredentials: pulumi.Output<PullCredentials> | undefined;
    public readonly variables: Readonly<Record<string, ProjectVariable>>;

    constructor(name: string, args: GitlabProjectSettingsArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = gitlabProjectSettingsProblems(args);
        if (problems.length > 0) {
            // Thrown before `super` so that nothing, not even this component, is registered.
            throw new Error(`GitlabProjectSettings "${name}" is misconfigured:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        }
        super("delivery:gitlab:GitlabProjectSettings", name, {}, opts);

        const { connection, environment } = args;
        const conn = {
            gitlabUrl: connection.url,
            gitlabToken: pulumi.secret(connection.token),
            project: connection.project,
        };

        const env = new Environment(
            `${name}-environment`,
            { ...conn, name: environment.name, externalUrl: environment.externalUrl, tier: environment.tier },
            { parent: this },
        );
        this.environmentId = env.environmentId;
        this.environmentName = env.name;

        if (args.protect) {
            new ProtectedEnvironment(
                `${name}-protected-environment`,
                {
                    ...conn,
                    environment: environment.name,
                    deployAccessLevel: args.protect.deployAccessLevel ?? PROTECTION_DEFAULTS.deployAccessLevel,
                    requiredApprovals: args.protect.requiredApprovals ?? PROTECTION_DEFAULTS.requiredApprovals,
                    approverAccessLevel: args.protect.approverAccessLevel ?? PROTECTION_DEFAULTS.approverAccessLevel,
                },
                // Unprotect before the environment goes away, and protect only once it exists.
                { parent: this, dependsOn: [env] },
            );
        }

        if (args.resourceGroup !== false) {
            // The deploy jobs run with `resource_group: <environment name>`: the same key.
            new ResourceGroup(
                `${name}-resource-group`,
                { ...conn, key: environment.name, processMode: args.resourceGroup?.processMode ?? RESOURCE_GROUP_DEFAULTS.processMode },
                { parent: this },
            );
        }

        const variables: Record<string, ProjectVariable> = {};
        for (const [key, v] of Object.entries(args.variables ?? {})) {
            variables[key] = new ProjectVariable(
                `${name}-variable-${key}`,
                {
                    ...conn,
                    key,
                    value: pulumi.secret(v.value),
                    masked: v.masked ?? VARIABLE_DEFAULTS.masked,
                    protected: v.protected ?? VARIABLE_DEFAULTS.protected,
                    raw: v.raw ?? VARIABLE_DEFAULTS.raw,
                    variableType: v.variableType ?? VARIABLE_DEFAULTS.variableType,
                    environmentScope: v.environmentScope ?? environment.name,
                    description: v.description ?? "",
                    adopt: v.adopt ?? false,
                },
                { parent: this },
            );
        }
        this.variables = variables;
        this.variableIds = pulumi.all(Object.fromEntries(Object.entries(variables).map(([k, r]) => [k, r.id]))) as pulumi.Output<Record<string, string>>;

        if (args.deployToken !== false) {
            const t = args.deployToken ?? {};
            const token = new DeployToken(
                `${name}-deploy-token`,
                {
                    ...conn,
                    name: t.name ?? `${environment.name} image pulls`,
                    scopes: t.scopes ?? [...DEFAULT_DEPLOY_TOKEN_SCOPES],
                    username: t.username,
                    expiresAt: t.expiresAt,
                },
                { parent: this },
            );
            this.pullCredentials = pulumi.secret(pulumi.all([token.username, token.token]).apply(([username, password]) => ({ username, password })));
        }

        if (args.cleanupPolicy) {
            const c = args.cleanupPolicy;
            new ContainerRegistryCleanupPolicy(
                `${name}-registry-cleanup`,
                {
                    ...conn,
                    enabled: c.enabled ?? true,
                    cadence: c.cadence,
                    keepN: c.keepN,
                    olderThan: c.olderThan,
                    nameRegexDelete: c.nameRegexDelete,
                    nameRegexKeep: c.nameRegexKeep,
                },
                { parent: this },
            );
        }

        this.registerOutputs({
            environmentId: this.environmentId,
            environmentName: this.environmentName,
            variableIds: this.variableIds,
            pullCredentials: this.pullCredentials,
        });
    }
}
