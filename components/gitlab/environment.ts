import * as pulumi from "@pulumi/pulumi";
import * as kit from "./providerKit";
import { type EnvironmentTier, environmentNameProblem, environmentTierProblem, externalUrlProblem, tierForEnvironment } from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * A GitLab environment (docs: api/environments.md). The id is `<project>:<environment id>`.
 *
 * GitLab cannot rename an environment (the `name` parameter was removed in 16.0), so a new name
 * replaces it. Deleting an available environment is refused (403), so delete stops it first;
 * the stop is forced, skipping `on_stop` jobs, because in this project the stop job is the one
 * that runs `pulumi destroy`.
 */
export interface EnvironmentInputs extends kit.ConnectionInputs {
    /** `staging`, `production`, `review/<slug>`, … */
    readonly name: string;
    /** Link shown in GitLab. Default none (empty). */
    readonly externalUrl: string;
    /** Default: inferred from the name like GitLab does (production, staging, development, …). */
    readonly tier: EnvironmentTier;
    /**
     * Take over an environment of the same name that already exists: GitLab creates one itself as
     * soon as a job with `environment:` runs, often before the stack's first `pulumi up`. Default true.
     */
    readonly adoptExisting: boolean;
}

export interface EnvironmentOutputs extends EnvironmentInputs, Partial<kit.ProjectRef> {
    readonly environmentId: number;
    readonly slug: string;
    readonly state: string;
}

export type EnvironmentArgs = kit.ArgsOf<EnvironmentInputs, "name">;

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
        ...kit.connectionOf(news),
        name,
        externalUrl: news.externalUrl ?? "",
        tier: news.tier ?? (kit.isUnknown(name) ? ("other" as EnvironmentTier) : tierForEnvironment(name)),
        adoptExisting: news.adoptExisting ?? true,
    };
}

function problems(e: EnvironmentInputs): kit.Failure[] {
    const out: kit.Failure[] = [];
    const nameProblem = kit.isUnknown(e.name) ? undefined : environmentNameProblem(e.name);
    if (nameProblem) out.push({ property: "name", reason: nameProblem });
    const urlProblem = e.externalUrl === "" || kit.isUnknown(e.externalUrl) ? undefined : externalUrlProblem(e.externalUrl);
    if (urlProblem) out.push({ property: "externalUrl", reason: urlProblem });
    const tierProblem = kit.isUnknown(e.tier) ? undefined : environmentTierProblem(e.tier);
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
        return kit.diffByKeys<EnvironmentInputs>(olds, news, ["name"], ["externalUrl", "tier", "adoptExisting", "gitlabToken"]);
    },

    async create(inputs: EnvironmentInputs) {
        const { gl, ref, project } = await kit.beginCreate(
            inputs,
            problems(inputs).map((p) => p.reason),
        );
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
        const created = (await gl.call(`create ${where}`, (api) => api.Environments.create(project, inputs.name, attrs), {
            recover: byName as never,
        })) as unknown as EnvironmentJson;
        return result(created);
    },

    async read(id: string, props: Partial<EnvironmentOutputs>) {
        const [idProject, envId] = kit.splitId(id, 2, "environment (<project>:<environment id>)");
        const inputs = withDefaults({ ...props, project: props.project || idProject });
        const gl = kit.clientFor(inputs);
        const project = kit.apiProject(idProject, props);
        return kit.readOrGone(gl, project, `environment ${envId}`, async () => {
            const json = (await gl.call(`read environment ${envId} in project ${project}`, (api) =>
                api.Environments.show(project, Number(envId)),
            )) as unknown as EnvironmentJson;
            return { id, props: { ...toOutputs({ ...inputs, name: json.name }, json), ...(await kit.storedOrResolvedRef(gl, props, project)) } };
        });
    },

    async update(id: string, olds: EnvironmentOutputs, news: EnvironmentInputs) {
        kit.throwIfProblems(problems(news).map((p) => p.reason));
        if (kit.changedKeys(olds, news, ["externalUrl", "tier"]).length === 0) {
            return { outs: { ...olds, ...news, ...kit.projectRefOf(olds) } };
        }
        const [idProject, envId] = kit.splitId(id, 2, "environment (<project>:<environment id>)");
        const project = kit.apiProject(idProject, olds);
        const gl = kit.clientFor(news);
        // An emptied URL is sent as null: GitLab ignores an empty string for external_url.
        const updated = (await gl.call(`update environment ${news.name} in project ${project}`, (api) =>
            api.Environments.edit(project, Number(envId), { externalUrl: (news.externalUrl || null) as unknown as string, tier: news.tier }),
        )) as unknown as EnvironmentJson;
        return { outs: { ...toOutputs(news, updated), ...kit.projectRefOf(olds) } };
    },

    async delete(id: string, props: EnvironmentOutputs) {
        const [idProject, envId] = kit.splitId(id, 2, "environment (<project>:<environment id>)");
        const project = kit.apiProject(idProject, props);
        const gl = kit.clientFor({ ...props, project });
        const where = `environment ${props.name ?? envId} in project ${project}`;
        await kit.ignoreNotFound(gl, project, where, async () => {
            const env = (await gl.call(`read ${where}`, (api) => api.Environments.show(project, Number(envId)))) as unknown as EnvironmentJson;
            if (env.state !== "stopped") {
                await gl.call(`stop ${where}`, (api) => api.Environments.stop(project, Number(envId), { force: true } as never), { idempotent: true });
            }
            await gl.call(`delete ${where}`, (api) => api.Environments.remove(project, Number(envId)));
        });
    },
};

/** A GitLab environment as a Pulumi resource. */
export class Environment extends DynamicResource {
    constructor(name: string, args: EnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
        super(environmentProvider, name, kit.resourceProps(args, ["environmentId", "slug", "state"]), kit.withSecretOutputs(opts), "gitlab", "Environment");
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface Environment extends kit.OutputsOf<Pick<EnvironmentOutputs, "name" | "externalUrl" | "tier" | "environmentId" | "slug" | "state">> {}
