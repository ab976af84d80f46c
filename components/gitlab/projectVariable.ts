import * as pulumi from "@pulumi/pulumi";
import { errorStatus, gitlabApiError } from "./client";
import * as kit from "./providerKit";
import { VARIABLE_DEFAULTS, variableProblems } from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * A project-level CI/CD variable (GitLab docs: project_level_variables.md).
 *
 * The id is `<project id>:<key>:<environment scope>`: GitLab allows the same key once per scope, and
 * every get/update/delete must pass `filter[environment_scope]` or GitLab answers 409 when the
 * key exists in several scopes.
 */
export interface ProjectVariableInputs extends kit.ConnectionInputs {
    /** `A-Z a-z 0-9 _`, at most 255. */
    readonly key: string;
    /** Always stored as a secret. */
    readonly value: string;
    /** Default true (`VARIABLE_DEFAULTS`). A masked value must meet GitLab's masking rules (see gitlabRules.ts). */
    readonly masked: boolean;
    /** Only exported to pipelines on protected branches and tags. Default false. */
    readonly protected: boolean;
    /** Not expanded (`$FOO` stays literal). Default false. */
    readonly raw: boolean;
    /** Default `env_var`. */
    readonly variableType: "env_var" | "file";
    /** Default `*` (all environments). */
    readonly environmentScope: string;
    /** Default empty. */
    readonly description: string;
    /**
     * Take over a variable with the same key and scope that already exists (made by hand in
     * Settings > CI/CD > Variables) instead of failing: the engine cannot `import` a dynamic
     * provider's resource (pulumi/pulumi#3550), so adoption happens in create. Default false.
     */
    readonly adopt: boolean;
}

export type ProjectVariableArgs = kit.ArgsOf<ProjectVariableInputs, "key" | "value">;

interface VariableJson {
    key: string;
    value: string | null;
    masked: boolean;
    protected: boolean;
    raw?: boolean;
    hidden?: boolean;
    variable_type: "env_var" | "file";
    environment_scope: string;
    description: string | null;
}

const UPDATABLE = ["value", "masked", "protected", "raw", "variableType", "description", "gitlabToken", "adopt"] as const;

function withDefaults(news: Partial<ProjectVariableInputs>): ProjectVariableInputs {
    return {
        ...kit.connectionOf(news),
        key: String(news.key ?? ""),
        value: news.value as string,
        masked: news.masked ?? VARIABLE_DEFAULTS.masked,
        protected: news.protected ?? VARIABLE_DEFAULTS.protected,
        raw: news.raw ?? VARIABLE_DEFAULTS.raw,
        variableType: news.variableType ?? VARIABLE_DEFAULTS.variableType,
        environmentScope: news.environmentScope ?? "*",
        description: news.description ?? "",
        adopt: news.adopt ?? false,
    };
}

function validate(v: ProjectVariableInputs): string[] {
    return variableProblems({
        key: v.key,
        value: kit.isUnknown(v.value) ? undefined : v.value,
        masked: v.masked,
        raw: v.raw,
        environmentScope: v.environmentScope,
        variableType: v.variableType,
        otherNames: [v.key],
    });
}

function fromGitlab(conn: kit.ConnectionInputs, json: VariableJson, knownValue: string | undefined, adopt = false): ProjectVariableInputs {
    return {
        ...conn,
        adopt,
        key: json.key,
        // A hidden variable's value is never returned; the last value we set is the best we know.
        value: json.value ?? knownValue ?? "",
        masked: Boolean(json.masked),
        protected: Boolean(json.protected),
        raw: Boolean(json.raw),
        variableType: json.variable_type,
        environmentScope: json.environment_scope,
        description: json.description ?? "",
    };
}

export const projectVariableProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: ProjectVariableInputs, news: Partial<ProjectVariableInputs>) {
        const inputs = withDefaults(news);
        const failures = validate(inputs).map((reason) => ({
            property: /cannot be masked/.test(reason)
                ? "value"
                : /environment scope/.test(reason)
                  ? "environmentScope"
                  : /variableType/.test(reason)
                    ? "variableType"
                    : "key",
            reason,
        }));
        return { inputs, failures };
    },

    async diff(_id: string, olds: ProjectVariableInputs & Partial<kit.ProjectRef>, news: ProjectVariableInputs) {
        return kit.diffByKeys<ProjectVariableInputs>(olds, news, ["key", "environmentScope"], UPDATABLE);
    },

    async create(inputs: ProjectVariableInputs) {
        const { gl, ref, project } = await kit.beginCreate(inputs, validate(inputs));
        const id = `${project}:${inputs.key}:${inputs.environmentScope}`;
        const what = `variable ${inputs.key} (scope ${inputs.environmentScope}) in project ${inputs.project}`;
        const outs = (json: VariableJson, adopt: boolean) => ({ id, outs: { ...fromGitlab(kit.connectionOf(inputs), json, inputs.value, adopt), ...ref } });
        const filter = { filter: { environment_scope: inputs.environmentScope } };
        const attrs = {
            masked: inputs.masked,
            protected: inputs.protected,
            raw: inputs.raw,
            variableType: inputs.variableType,
            description: inputs.description,
        };
        const adoptHint = `adopt it (adopt: true; in config: pulumi config set --path 'gitlab:variables.${inputs.key}.adopt' true), or delete it in GitLab (Settings > CI/CD > Variables) and run again.`;
        if (inputs.adopt) {
            let exists = true;
            try {
                await gl.call(`look up ${what}`, (api) => api.ProjectVariables.show(project, inputs.key, filter));
            } catch (e) {
                if (!kit.isNotFound(e)) throw e;
                exists = false;
            }
            if (exists) {
                const adopted = (await gl.call(`adopt ${what}`, (api) =>
                    api.ProjectVariables.edit(project, inputs.key, inputs.value, { ...filter, ...attrs } as never),
                )) as unknown as VariableJson;
                return outs(adopted, true);
            }
        }
        try {
            const created = (await gl.call(
                `create ${what}`,
                (api) => api.ProjectVariables.create(project, inputs.key, inputs.value, { ...attrs, environmentScope: inputs.environmentScope }),
                {
                    // The answer was lost: the variable with this key and scope is ours if it holds
                    // exactly what was sent; anything else was made by someone else meanwhile.
                    recover: async (api) => {
                        let found: VariableJson;
                        try {
                            found = (await api.ProjectVariables.show(project, inputs.key, filter)) as unknown as VariableJson;
                        } catch (e) {
                            if (errorStatus(e) === 404) return undefined;
                            throw e;
                        }
                        const ours =
                            (found.value === null || found.value === inputs.value) &&
                            Boolean(found.masked) === inputs.masked &&
                            Boolean(found.protected) === inputs.protected &&
                            Boolean(found.raw) === inputs.raw &&
                            found.variable_type === inputs.variableType &&
                            (found.description ?? "") === inputs.description;
                        if (!ours) {
                            throw gitlabApiError(
                                `GitLab: create ${what} failed: its answer was lost, and the variable with this key and scope now in GitLab holds other settings, so it was made by someone else. The variable already exists in GitLab: ${adoptHint}`,
                                400,
                                undefined,
                                1,
                            );
                        }
                        return found as never;
                    },
                },
            )) as unknown as VariableJson;
            return outs(created, inputs.adopt);
        } catch (e) {
            if (/has already been taken/.test((e as Error).message)) {
                throw new Error(`${(e as Error).message} The variable already exists in GitLab: ${adoptHint}`);
            }
            throw e;
        }
    },

    async read(id: string, props: Partial<ProjectVariableInputs & kit.ProjectRef>) {
        const [idProject, key, scope] = kit.splitId(id, 3, "project variable (<project>:<key>:<scope>)");
        const conn = { ...kit.connectionOf(props), project: props.project || idProject };
        const gl = kit.clientFor(conn);
        const project = kit.apiProject(idProject, props);
        const what = `variable ${key} (scope ${scope}) in project ${project}`;
        return kit.readOrGone(gl, project, what, async () => {
            const json = (await gl.call(`read ${what}`, (api) =>
                api.ProjectVariables.show(project, key, { filter: { environment_scope: scope } }),
            )) as unknown as VariableJson;
            const state = { ...fromGitlab(conn, json, props.value, props.adopt ?? false), ...(await kit.storedOrResolvedRef(gl, props, project)) };
            return { id, props: state };
        });
    },

    async update(id: string, olds: ProjectVariableInputs & Partial<kit.ProjectRef>, news: ProjectVariableInputs) {
        kit.throwIfProblems(validate(news));
        const apiFields = kit.changedKeys(olds, news, UPDATABLE).filter((k) => k !== "gitlabToken" && k !== "adopt");
        if (apiFields.length === 0) {
            return kit.connectionOnlyUpdate(olds, news);
        }
        const gl = kit.clientFor(news);
        const project = kit.apiProject(kit.splitId(id, 3, "project variable (<project>:<key>:<scope>)")[0], olds);
        const updated = (await gl.call(`update variable ${news.key} (scope ${olds.environmentScope}) in project ${news.project}`, (api) =>
            api.ProjectVariables.edit(project, news.key, news.value, {
                filter: { environment_scope: olds.environmentScope },
                masked: news.masked,
                protected: news.protected,
                raw: news.raw,
                variableType: news.variableType,
                description: news.description,
            } as never),
        )) as unknown as VariableJson;
        return { outs: { ...fromGitlab(kit.connectionOf(news), updated, news.value, news.adopt), ...kit.projectRefOf(olds) } };
    },

    async delete(id: string, props: ProjectVariableInputs & Partial<kit.ProjectRef>) {
        const [idProject, key, scope] = kit.splitId(id, 3, "project variable (<project>:<key>:<scope>)");
        const project = kit.apiProject(idProject, props);
        const gl = kit.clientFor({ ...props, project });
        const what = `variable ${key} (scope ${scope}) in project ${project}`;
        // The filter goes in the query string, as GitLab's docs show for DELETE.
        await kit.ignoreNotFound(gl, project, what, () =>
            gl.call(`delete ${what}`, (api) =>
                api.ProjectVariables.remove(project, key, { searchParams: { filter: { environment_scope: scope } } } as unknown as {
                    filter: { environment_scope: string };
                }),
            ),
        );
    },
};

/**
 * A GitLab project CI/CD variable as a Pulumi resource. `value` and the token are always secrets
 * in state.
 */
export class ProjectVariable extends DynamicResource {
    constructor(name: string, args: ProjectVariableArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            projectVariableProvider,
            name,
            kit.resourceProps({ ...args, value: pulumi.secret(args.value) }),
            kit.withSecretOutputs(opts, "value"),
            "gitlab",
            "ProjectVariable",
        );
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface ProjectVariable extends kit.OutputsOf<
    Pick<ProjectVariableInputs, "key" | "value" | "masked" | "protected" | "raw" | "variableType" | "environmentScope" | "description">
> {}
