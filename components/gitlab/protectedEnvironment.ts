import * as pulumi from "@pulumi/pulumi";
import { errorStatus } from "./client";
import * as kit from "./providerKit";
import { accessLevelProblem, type AccessLevel, environmentNameProblem, PROTECTION_DEFAULTS, requiredApprovalsProblem } from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * A protected environment (docs: api/protected_environments.md; GitLab Premium): who may deploy
 * to it, and how many approvals a deployment needs. The id is `<project>:<environment name>`.
 *
 * Approvals are expressed as one approval rule (`approval_rules`), because the older
 * `required_approval_count` is deprecated and GitLab now refuses it with 422. Changes are made in
 * place with Rails nested attributes (`{id, _destroy: true}` removes an entry), so the environment
 * is never unprotected in between.
 */
export interface ProtectedEnvironmentInputs extends kit.ConnectionInputs {
    /** The environment name (need not exist yet). */
    readonly environment: string;
    /** Who may deploy: 30 developer, 40 maintainer (default), 60 admin. */
    readonly deployAccessLevel: AccessLevel;
    /** Approvals a deployment needs; 0 (default) means none. */
    readonly requiredApprovals: number;
    /** Who may approve: 30, 40 (default) or 60. */
    readonly approverAccessLevel: AccessLevel;
}

export type ProtectedEnvironmentArgs = kit.ArgsOf<ProtectedEnvironmentInputs, "environment">;

interface AccessJson {
    id: number;
    access_level: number | null;
    user_id: number | null;
    group_id: number | null;
    required_approvals?: number;
}

interface ProtectedJson {
    name: string;
    deploy_access_levels: AccessJson[];
    approval_rules?: AccessJson[];
    required_approval_count?: number;
}

function withDefaults(news: Partial<ProtectedEnvironmentInputs>): ProtectedEnvironmentInputs {
    return {
        ...kit.connectionOf(news),
        environment: String(news.environment ?? ""),
        deployAccessLevel: news.deployAccessLevel ?? PROTECTION_DEFAULTS.deployAccessLevel,
        requiredApprovals: news.requiredApprovals ?? PROTECTION_DEFAULTS.requiredApprovals,
        approverAccessLevel: news.approverAccessLevel ?? PROTECTION_DEFAULTS.approverAccessLevel,
    };
}

function problems(p: ProtectedEnvironmentInputs): kit.Failure[] {
    const out: kit.Failure[] = [];
    const nameProblem = kit.isUnknown(p.environment) ? undefined : environmentNameProblem(p.environment);
    if (nameProblem) out.push({ property: "environment", reason: nameProblem });
    for (const key of ["deployAccessLevel", "approverAccessLevel"] as const) {
        const why = kit.isUnknown(p[key]) ? undefined : accessLevelProblem(p[key]);
        if (why) out.push({ property: key, reason: `${key} ${why}; got ${JSON.stringify(p[key])}` });
    }
    const approvals = kit.isUnknown(p.requiredApprovals) ? undefined : requiredApprovalsProblem(p.requiredApprovals);
    if (approvals) out.push({ property: "requiredApprovals", reason: `requiredApprovals ${approvals}; got ${JSON.stringify(p.requiredApprovals)}` });
    return out;
}

/** The role-based entries (ours); entries for single users or groups were added by hand and are left alone. */
function roleEntries(list: AccessJson[] | undefined): AccessJson[] {
    return (list ?? []).filter((e) => e.access_level !== null && e.user_id === null && e.group_id === null);
}

function fromGitlab(inputs: ProtectedEnvironmentInputs, json: ProtectedJson): ProtectedEnvironmentInputs {
    const deploy = roleEntries(json.deploy_access_levels);
    const rules = roleEntries(json.approval_rules);
    return {
        ...inputs,
        environment: json.name,
        // Several role entries mean "any of them": the lowest level is the effective one.
        deployAccessLevel: (deploy.length > 0 ? Math.min(...deploy.map((e) => e.access_level!)) : 0) as AccessLevel,
        requiredApprovals: rules.reduce((n, r) => n + (r.required_approvals ?? 0), 0),
        approverAccessLevel: (rules.length > 0 ? rules[0].access_level! : inputs.approverAccessLevel) as AccessLevel,
    };
}

function encode(s: string): string {
    // gitbeaker's ProtectedEnvironments does not URL-encode its path parameters (a project path
    // or a `review/x` name would hit the wrong URL); GitLab requires them encoded.
    return encodeURIComponent(s);
}

export const protectedEnvironmentProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: ProtectedEnvironmentInputs, news: Partial<ProtectedEnvironmentInputs>) {
        const inputs = withDefaults(news);
        return { inputs, failures: problems(inputs) };
    },

    async diff(_id: string, olds: ProtectedEnvironmentInputs & Partial<kit.ProjectRef>, news: ProtectedEnvironmentInputs) {
        return kit.diffByKeys<ProtectedEnvironmentInputs>(
            olds,
            news,
            ["environment"],
            ["deployAccessLevel", "requiredApprovals", "approverAccessLevel", "gitlabToken"],
        );
    },

    async create(inputs: ProtectedEnvironmentInputs) {
        const { gl, ref, project } = await kit.beginCreate(
            inputs,
            problems(inputs).map((p) => p.reason),
        );
        const id = `${project}:${inputs.environment}`;
        try {
            const json = (await gl.call(
                `protect environment ${inputs.environment} in project ${inputs.project}`,
                (api) =>
                    api.ProjectProtectedEnvironments.create(
                        encode(project),
                        inputs.environment,
                        [{ access_level: inputs.deployAccessLevel }] as never,
                        {
                            approvalRules:
                                inputs.requiredApprovals > 0
                                    ? [{ access_level: inputs.approverAccessLevel, required_approvals: inputs.requiredApprovals }]
                                    : undefined,
                        } as never,
                    ),
                {
                    // An answer lost after GitLab saved it: the protection now in place is the one just made.
                    recover: async (api) => {
                        try {
                            return (await api.ProjectProtectedEnvironments.show(encode(project), encode(inputs.environment))) as never;
                        } catch (e) {
                            if (errorStatus(e) === 404) return undefined;
                            throw e;
                        }
                    },
                },
            )) as unknown as ProtectedJson;
            return { id, outs: { ...fromGitlab(inputs, json), ...ref } };
        } catch (e) {
            if (/already protected/.test((e as Error).message)) {
                throw new Error(
                    `${(e as Error).message} Adopt it with the resource option import: "${id}", or unprotect it in GitLab (Settings > CI/CD > Protected environments).`,
                );
            }
            throw e;
        }
    },

    async read(id: string, props: Partial<ProtectedEnvironmentInputs & kit.ProjectRef>) {
        const [idProject, name] = kit.splitId(id, 2, "protected environment (<project>:<environment name>)");
        const inputs = withDefaults({ ...props, project: props.project || idProject, environment: name });
        const gl = kit.clientFor(inputs);
        const project = kit.apiProject(idProject, props);
        return kit.readOrGone(gl, project, `the protection of environment ${name}`, async () => {
            const json = (await gl.call(`read protected environment ${name} in project ${project}`, (api) =>
                api.ProjectProtectedEnvironments.show(encode(project), encode(name)),
            )) as unknown as ProtectedJson;
            return { id, props: { ...fromGitlab(inputs, json), ...(await kit.storedOrResolvedRef(gl, props, project)) } };
        });
    },

    async update(id: string, olds: ProtectedEnvironmentInputs & Partial<kit.ProjectRef>, news: ProtectedEnvironmentInputs) {
        kit.throwIfProblems(problems(news).map((p) => p.reason));
        if (kit.changedKeys(olds, news, ["deployAccessLevel", "requiredApprovals", "approverAccessLevel"]).length === 0) {
            return kit.connectionOnlyUpdate(olds, news);
        }
        const [idProject, name] = kit.splitId(id, 2, "protected environment (<project>:<environment name>)");
        const project = kit.apiProject(idProject, olds);
        const gl = kit.clientFor(news);
        const where = `protected environment ${name} in project ${project}`;
        // The entry ids are needed to replace entries; read them fresh rather than trusting state.
        const current = (await gl.call(`read ${where}`, (api) =>
            api.ProjectProtectedEnvironments.show(encode(project), encode(name)),
        )) as unknown as ProtectedJson;
        const deploy = roleEntries(current.deploy_access_levels);
        const rules = roleEntries(current.approval_rules);
        const deployChanges =
            deploy.length === 1 && deploy[0].access_level === news.deployAccessLevel
                ? undefined
                : [{ access_level: news.deployAccessLevel }, ...deploy.map((e) => ({ id: e.id, _destroy: true }))];
        const wantRules = news.requiredApprovals > 0 ? [{ access_level: news.approverAccessLevel, required_approvals: news.requiredApprovals }] : [];
        const rulesSame =
            rules.length === wantRules.length &&
            rules.every((r, i) => r.access_level === wantRules[i].access_level && r.required_approvals === wantRules[i].required_approvals);
        const ruleChanges = rulesSame ? undefined : [...wantRules, ...rules.map((r) => ({ id: r.id, _destroy: true }))];
        const json = (await gl.call(`update ${where}`, (api) =>
            api.ProjectProtectedEnvironments.edit(encode(project), encode(name), { deployAccessLevels: deployChanges, approvalRules: ruleChanges } as never),
        )) as unknown as ProtectedJson;
        return { outs: { ...fromGitlab(news, json), ...kit.projectRefOf(olds) } };
    },

    async delete(id: string, props: ProtectedEnvironmentInputs & Partial<kit.ProjectRef>) {
        const [idProject, name] = kit.splitId(id, 2, "protected environment (<project>:<environment name>)");
        const project = kit.apiProject(idProject, props);
        const gl = kit.clientFor({ ...props, project });
        await kit.ignoreNotFound(gl, project, `the protection of environment ${name}`, () =>
            gl.call(`unprotect environment ${name} in project ${project}`, (api) => api.ProjectProtectedEnvironments.remove(encode(project), encode(name))),
        );
    },
};

/** A GitLab protected environment as a Pulumi resource. */
export class ProtectedEnvironment extends DynamicResource {
    constructor(name: string, args: ProtectedEnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
        super(protectedEnvironmentProvider, name, kit.resourceProps(args), kit.withSecretOutputs(opts), "gitlab", "ProtectedEnvironment");
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface ProtectedEnvironment extends kit.OutputsOf<
    Pick<ProtectedEnvironmentInputs, "environment" | "deployAccessLevel" | "requiredApprovals" | "approverAccessLevel">
> {}
