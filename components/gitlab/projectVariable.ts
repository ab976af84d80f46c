import * as pulumi from "@pulumi/pulumi";
import {
    changedKeys,
    clientFor,
    type ConnectionArgs,
    type ConnectionInputs,
    connectionOf,
    connectionOnlyUpdate,
    connectionReplaces,
    diffResult,
    ignoreNotFound,
    isNotFound,
    isUnknown,
    readOrGone,
    splitId,
    throwIfProblems,
    withSecretOutputs,
} from "./common";
import { variableProblems } from "./rules";

/**
 * A project-level CI/CD variable (GitLab docs: project_level_variables.md).
 *
 * The id is `<project>:<key>:<environment scope>`: GitLab allows the same key once per scope, and
 * every get/update/delete must pass `filter[environment_scope]` or GitLab answers 409 when the
 * key exists in several scopes.
 */
export interface ProjectVariableInputs extends ConnectionInputs {
    readonly key: string;
    readonly value: string;
    readonly masked: boolean;
    readonly protected: boolean;
    readonly raw: boolean;
    readonly variableType: "env_var" | "file";
    readonly environmentScope: string;
    readonly description: string;
    /**
     * Take over a variable with the same key and scope that already exists (made by hand in
     * Settings > CI/CD > Variables) instead of failing: the engine cannot `import` a dynamic
     * provider's resource (pulumi/pulumi#3550), so adoption happens in create.
     */
    readonly adopt: boolean;
}

export interface ProjectVariableArgs extends ConnectionArgs {
    /** `A-Z a-z 0-9 _`, at most 255. */
    readonly key: pulumi.Input<string>;
    /** Always stored as a secret. */
    readonly value: pulumi.Input<string>;
    /** Default false. A masked value must meet GitLab's masking rules (see rules.ts). */
    readonly masked?: pulumi.Input<boolean>;
    /** Only exported to pipelines on protected branches and tags. Default false. */
    readonly protected?: pulumi.Input<boolean>;
    /** Not expanded (`$FOO` stays literal). Default false. */
    readonly raw?: pulumi.Input<boolean>;
    /** Default `env_var`. */
    readonly variableType?: pulumi.Input<"env_var" | "file">;
    /** Default `*` (all environments). */
    readonly environmentScope?: pulumi.Input<string>;
    /** Default empty. */
    readonly description?: pulumi.Input<string>;
    /** Take over an existing variable with the same key and scope. Default false. */
    readonly adopt?: pulumi.Input<boolean>;
}

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
        ...connectionOf(news),
        key: String(news.key ?? ""),
        value: news.value as string,
        masked: news.masked ?? false,
        protected: news.protected ?? false,
        raw: news.raw ?? false,
        variableType: news.variableType ?? "env_var",
        environmentScope: news.environmentScope ?? "*",
        description: news.description ?? "",
        adopt: news.adopt ?? false,
    };
}

function validate(v: ProjectVariableInputs): string[] {
    return variableProblems({
        key: v.key,
        value: isUnknown(v.value) ? undefined : v.value,
        masked: v.masked,
        raw: v.raw,
        environmentScope: v.environmentScope,
        variableType: v.variableType,
        otherNames: [v.key],
    });
}

function fromGitlab(conn: ConnectionInputs, json: VariableJson, knownValue: string | undefined, adopt = false): ProjectVariableInputs {
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
            property: /cannot be masked/.test(reason) ? "value" : /environment scope/.test(reason) ? "environmentScope" : /variableType/.test(reason) ? "variableType" : "key",
            reason,
        }));
        return { inputs, failures };
    },

    async diff(_id: string, olds: ProjectVariableInputs, news: ProjectVariableInputs) {
        const replaces = [...connectionReplaces(olds, news), ...changedKeys(olds, news, ["key", "environmentScope"])];
        const updates = changedKeys(olds, news, UPDATABLE);
        return diffResult(replaces, updates);
    },

    async create(inputs: ProjectVariableInputs) {
        throwIfProblems(validate(inputs));
        const gl = clientFor(inputs);
        const id = `${inputs.project}:${inputs.key}:${inputs.environmentScope}`;
        const what = `variable ${inputs.key} (scope ${inputs.environmentScope}) in project ${inputs.project}`;
        const attrs = {
            masked: inputs.masked,
            protected: inputs.protected,
            raw: inputs.raw,
            variableType: inputs.variableType,
            description: inputs.description,
        };
        if (inputs.adopt) {
            let exists = true;
            try {
                await gl.call(`look up ${what}`, (api) => api.ProjectVariables.show(inputs.project, inputs.key, { filter: { environment_scope: inputs.environmentScope } }));
            } catch (e) {
                if (!isNotFound(e)) throw e;
                exists = false;
            }
            if (exists) {
                const adopted = (await gl.call(`adopt ${what}`, (api) =>
                    api.ProjectVariables.edit(inputs.project, inputs.key, inputs.value, { filter: { environment_scope: inputs.environmentScope }, ...attrs } as never),
                )) as unknown as VariableJson;
                return { id, outs: fromGitlab(connectionOf(inputs), adopted, inputs.value, true) };
            }
        }
        try {
            const created = (await gl.call(`create ${what}`, (api) =>
                api.ProjectVariables.create(inputs.project, inputs.key, inputs.value, { ...attrs, environmentScope: inputs.environmentScope }),
            )) as unknown as VariableJson;
            return { id, outs: fromGitlab(connectionOf(inputs), created, inputs.value, inputs.adopt) };
        } catch (e) {
            if (/has already been taken/.test((e as Error).message)) {
                throw new Error(
                    `${(e as Error).message} The variable already exists in GitLab: adopt it (adopt: true; in config: pulumi config set --path 'gitlab:variables.${inputs.key}.adopt' true), or delete it in GitLab (Settings > CI/CD > Variables) and run again.`,
                );
            }
            throw e;
        }
    },

    async read(id: string, props: Partial<ProjectVariableInputs>) {
        const [project, key, scope] = splitId(id, 3, "project variable (<project>:<key>:<scope>)");
        const conn = { ...connectionOf(props), project };
        const gl = clientFor(conn);
        return readOrGone(async () => {
            const json = (await gl.call(`read variable ${key} (scope ${scope}) in project ${project}`, (api) =>
                api.ProjectVariables.show(project, key, { filter: { environment_scope: scope } }),
            )) as unknown as VariableJson;
            const state = fromGitlab(conn, json, props.value, props.adopt ?? false);
            return { id, props: state };
        });
    },

    async update(id: string, olds: ProjectVariableInputs, news: ProjectVariableInputs) {
        throwIfProblems(validate(news));
        const apiFields = changedKeys(olds, news, UPDATABLE).filter((k) => k !== "gitlabToken" && k !== "adopt");
        if (apiFields.length === 0) {
            return connectionOnlyUpdate(olds, news);
        }
        const gl = clientFor(news);
        const updated = (await gl.call(`update variable ${news.key} (scope ${olds.environmentScope}) in project ${news.project}`, (api) =>
            api.ProjectVariables.edit(news.project, news.key, news.value, {
                filter: { environment_scope: olds.environmentScope },
                masked: news.masked,
                protected: news.protected,
                raw: news.raw,
                variableType: news.variableType,
                description: news.description,
            } as never),
        )) as unknown as VariableJson;
        return { outs: fromGitlab(connectionOf(news), updated, news.value, news.adopt) };
    },

    async delete(id: string, props: ProjectVariableInputs) {
        const [project, key, scope] = splitId(id, 3, "project variable (<project>:<key>:<scope>)");
        const gl = clientFor({ ...props, project });
        // The filter goes in the query string, as GitLab's docs show for DELETE.
        await ignoreNotFound(() =>
            gl.call(`delete variable ${key} (scope ${scope}) in project ${project}`, (api) =>
                api.ProjectVariables.remove(project, key, { searchParams: { filter: { environment_scope: scope } } } as unknown as { filter: { environment_scope: string } }),
            ),
        );
    },
};

/**
 * A GitLab project CI/CD variable as a Pulumi resource. `value` and the token are always secrets
 * in state.
 */
export class ProjectVariable extends pulumi.dynamic.Resource {
    declare public readonly key: pulumi.Output<string>;
    declare public readonly value: pulumi.Output<string>;
    declare public readonly masked: pulumi.Output<boolean>;
    declare public readonly protected: pulumi.Output<boolean>;
    declare public readonly raw: pulumi.Output<boolean>;
    declare public readonly variableType: pulumi.Output<string>;
    declare public readonly environmentScope: pulumi.Output<string>;
    declare public readonly description: pulumi.Output<string>;

    constructor(name: string, args: ProjectVariableArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            projectVariableProvider,
            name,
            { ...args, value: pulumi.secret(args.value), gitlabToken: pulumi.secret(args.gitlabToken) },
            withSecretOutputs(opts, "value"),
            "gitlab",
            "ProjectVariable",
        );
    }
}
