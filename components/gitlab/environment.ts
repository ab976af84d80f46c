import * as pulumi from "@pulumi/pulumi";
import {
    apiProject,
    changedKeys,
    clientFor,
    type ConnectionArgs,
    type ConnectionInputs,
    connectionOf,
    connectionReplaces,
    diffResult,
    type Failure,
    ignoreNotFound,
    isUnknown,
    type ProjectRef,
    projectRefOf,
    readOrGone,
    storedOrResolvedRef,
    resolveProject,
    splitId,
    throwIfProblems,
    withSecretOutputs,
} from "./providerKit";
import { type EnvironmentTier, environmentNameProblem, environmentTierProblem, externalUrlProblem, tierForEnvironment } from "./gitlabRules";

/**
 * A GitLab environment (docs: api/environments.md). The id is `<project>:<environment id>`.
 *
 * GitLab cannot rename an environment (the `name` parameter was removed in 16.0), so a new name
 * replaces it. Deleting an available environment is refused (403), so delete stops it first;
 * the stop is forced, skipping `on_stop` jobs, because in this project the stop job is the one
 * that runs `pulumi destroy`.
 */
export interface EnvironmentInputs extends ConnectionInputs {
    readonly name: string;
    readonly externalUrl: string;
    readonly tier: EnvironmentTier;
    /**
     * Take over an environment of the same name that already exists: GitLab creates one itself as
     * soon as a job with `environment:` runs, often before the stack's first `pulumi up`.
     */
    readonly adoptExisting: boolean;
}

export interface EnvironmentOutputs extends EnvironmentInputs, Partial<ProjectRef> {
    readonly environmentId: number;
    readonly slug: string;
    readonly state: string;
}

export interface EnvironmentArgs extends ConnectionArgs {
    /** `staging`, `production`, `review/<slug>`, … */
    readonly name: pulumi.Input<string>;
    /** Link shown in GitLab. Default none. */
    readonly externalUrl?: pulumi.Input<string>;
    /** Default: inferred from the name like GitLab does (production, staging, development, …). */
    readonly tier?: pulumi.Input<EnvironmentTier>;
    /** Default true; see `EnvironmentInputs.adoptExisting`. */
    readonly adoptExisting?: pulumi.Input<boolean>;
}

interface EnvironmentJson {
    id: number;
    name: string;
    slug: string;
    external_url: string | null;
    state: string;
    tier: EnvironmentTier;
}

function withDefaults(news: Partial<EnvironmentInputs>): EnvironmentInputs {
    const name = String(news.name ?? "");
    return {
        ...connectionOf(news),
        name,
        externalUrl: news.externalUrl ?? "",
        tier: news.tier ?? (isUnknown(name) ? ("other" as EnvironmentTier) : tierForEnvironment(name)),
        adoptExisting: news.adoptExisting ?? true,
    };
}

function problems(e: EnvironmentInputs): Failure[] {
    const out: Failure[] = [];
    const nameProblem = isUnknown(e.name) ? undefined : environmentNameProblem(e.name);
    if (nameProblem) out.push({ property: "name", reason: nameProblem });
    const urlProblem = e.externalUrl === "" || isUnknown(e.externalUrl) ? undefined : externalUrlProblem(e.externalUrl);
    if (urlProblem) out.push({ property: "externalUrl", reason: urlProblem });
    const tierProblem = isUnknown(e.tier) ? undefined : environmentTierProblem(e.tier);
    if (tierProblem) out.push({ property: "tier", reason: `GitLab environment tier ${tierProblem} (got ${JSON.stringify(e.tier)})` });
    return out;
}

function toOutputs(inputs: EnvironmentInputs, json: EnvironmentJson): EnvironmentOutputs {
    return {
        ...inputs,
        name: json.name,
        externalUrl: json.external_url ?? "",
        tier: json.tier,
        environmentId: json.id,
        slug: json.slug,
        state: json.state,
    };
}

export const environmentProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: EnvironmentInputs, news: Partial<EnvironmentInputs>) {
        const inputs = withDefaults(news);
        return { inputs, failures: problems(inputs) };
    },

    async diff(_id: string, olds: EnvironmentOutputs, news: EnvironmentInputs) {
        const replaces = [...(await connectionReplaces(olds, news)), ...changedKeys(olds, news, ["name"])];
        const updates = changedKeys(olds, news, ["externalUrl", "tier", "adoptExisting", "gitlabToken"]);
        return diffResult(replaces, updates);
    },

    async create(inputs: EnvironmentInputs) {
        throwIfProblems(problems(inputs).map((p) => p.reason));
        const gl = clientFor(inputs);
        const ref = await resolveProject(gl, inputs.project);
        const project = String(ref.projectId);
        const where = `environment ${inputs.name} in project ${inputs.project}`;
        const attrs = { externalUrl: inputs.externalUrl || undefined, tier: inputs.tier };
        const result = (json: EnvironmentJson) => ({ id: `${project}:${json.id}`, outs: { ...toOutputs(inputs, json), ...ref } });
        // `name` is an exact-match filter (api/environments.md, "List environments").
        const byName = async (api: Parameters<Parameters<typeof gl.call>[1]>[0]) =>
            ((await api.Environments.all(project, { name: inputs.name } as never)) as unknown as EnvironmentJson[]).find((e) => e.name === inputs.name);
        if (inputs.adoptExisting) {
            const found = await gl.call(`look up ${where}`, byName);
            if (found) {
                const updated = (await gl.call(`adopt ${where}`, (api) => api.Environments.edit(project, found.id, attrs))) as unknown as EnvironmentJson;
                return result(updated);
            }
        }
        // An answer lost after GitLab saved it: the environment of that name is the one just made
        // (names are unique in a project).
        const created = (await gl.call(`create ${where}`, (api) => api.Environments.create(project, inputs.name, attrs), { recover: byName as never })) as unknown as EnvironmentJson;
        return result(created);
    },

    async read(id: string, props: Partial<EnvironmentOutputs>) {
        const [idProject, envId] = splitId(id, 2, "environment (<project>:<environment id>)");
        const inputs = withDefaults({ ...props, project: props.project || idProject });
        const gl = clientFor(inputs);
        const project = apiProject(idProject, props);
        return readOrGone(gl, project, `environment ${envId}`, async () => {
            const json = (await gl.call(`read environment ${envId} in project ${project}`, (api) => api.Environments.show(project, Number(envId)))) as unknown as EnvironmentJson;
            return { id, props: { ...toOutputs({ ...inputs, name: json.name }, json), ...(await storedOrResolvedRef(gl, props, project)) } };
        });
    },

    async update(id: string, olds: EnvironmentOutputs, news: EnvironmentInputs) {
        throwIfProblems(problems(news).map((p) => p.reason));
        if (changedKeys(olds, news, ["externalUrl", "tier"]).length === 0) {
            return { outs: { ...olds, ...news, ...projectRefOf(olds) } };
        }
        const [idProject, envId] = splitId(id, 2, "environment (<project>:<environment id>)");
        const project = apiProject(idProject, olds);
        const gl = clientFor(news);
        // An emptied URL is sent as null: GitLab ignores an empty string for external_url.
        const updated = (await gl.call(`update environment ${news.name} in project ${project}`, (api) =>
            api.Environments.edit(project, Number(envId), { externalUrl: (news.externalUrl || null) as unknown as string, tier: news.tier }),
        )) as unknown as EnvironmentJson;
        return { outs: { ...toOutputs(news, updated), ...projectRefOf(olds) } };
    },

    async delete(id: string, props: EnvironmentOutputs) {
        const [idProject, envId] = splitId(id, 2, "environment (<project>:<environment id>)");
        const project = apiProject(idProject, props);
        const gl = clientFor({ ...props, project });
        const where = `environment ${props.name ?? envId} in project ${project}`;
        await ignoreNotFound(gl, project, where, async () => {
            const env = (await gl.call(`read ${where}`, (api) => api.Environments.show(project, Number(envId)))) as unknown as EnvironmentJson;
            if (env.state !== "stopped") {
                await gl.call(`stop ${where}`, (api) => api.Environments.stop(project, Number(envId), { force: true } as never), { idempotent: true });
            }
            await gl.call(`delete ${where}`, (api) => api.Environments.remove(project, Number(envId)));
        });
    },
};

/** A GitLab environment as a Pulumi resource. */
export class Environment extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly externalUrl: pulumi.Output<string>;
    declare public readonly tier: pulumi.Output<EnvironmentTier>;
    declare public readonly environmentId: pulumi.Output<number>;
    declare public readonly slug: pulumi.Output<string>;
    declare public readonly state: pulumi.Output<string>;

    constructor(name: string, args: EnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            environmentProvider,
            name,
            { ...args, gitlabToken: pulumi.secret(args.gitlabToken), environmentId: undefined, slug: undefined, state: undefined, projectId: undefined, projectPath: undefined },
            withSecretOutputs(opts),
            "gitlab",
            "Environment",
        );
    }
}
