import * as pulumi from "@pulumi/pulumi";
import type { GitlabClient } from "./client";
import * as kit from "./providerKit";
import { environmentNameProblem, processModeProblem, RESOURCE_GROUP_DEFAULTS, type ResourceGroupProcessMode, resourceGroupNotYetWarning } from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * The process mode of the stack's CI/CD resource group (docs: api/resource_groups.md, "Edit an
 * existing resource group"; ci/resource_groups/_index.md "Process modes"). The pipeline gives
 * each deploy job `resource_group: <environment name>`, and GitLab makes a new group `unordered`,
 * which can run an older pipeline's deploy after a newer one; `.gitlab-ci.yml` cannot set the
 * mode, only this API can. The id is `<project>:<key>`.
 *
 * GitLab creates a resource group only when a job using it first runs, and the API has no create
 * (nor delete). When the group is not there yet (404 in a visible project) the
 * provider does not fail: it records `exists: false`, prints a warning, and its diff asks for an
 * update on every later `pulumi up` until the group exists and its mode is set. In a pipeline the
 * group already exists when the deploy job's `pulumi up` runs (the job itself uses it).
 *
 * Delete changes nothing in GitLab, by choice: the API has no delete (GitLab keeps the group), and
 * putting back the mode found (usually `unordered`) would re-open the race this resource closes
 * for any pipeline still queued on the group, including the stop job whose `pulumi destroy`
 * runs inside it. The mode is a property of GitLab's group, not of the stack.
 */
export interface ResourceGroupInputs extends kit.ConnectionInputs {
    /** The group's key: the environment name the deploy jobs name in `resource_group:` (staging, production, review/<slug>). */
    readonly key: string;
    /** unordered, oldest_first (default), newest_first or newest_ready_first. */
    readonly processMode: ResourceGroupProcessMode;
}

export interface ResourceGroupOutputs extends ResourceGroupInputs, Partial<kit.ProjectRef> {
    /** Whether GitLab had the group at the last create, update or refresh; false: the mode is not set yet. */
    readonly exists: boolean;
}

export type ResourceGroupArgs = kit.ArgsOf<ResourceGroupInputs, "key">;

interface GroupJson {
    id: number;
    key: string;
    process_mode: string;
    created_at: string;
    updated_at: string;
}

const ID_SHAPE = "resource group (<project>:<key>)";

function withDefaults(news: Partial<ResourceGroupInputs>): ResourceGroupInputs {
    return {
        ...kit.connectionOf(news),
        key: kit.isUnknown(news.key) ? (news.key as string) : String(news.key ?? ""),
        processMode: news.processMode ?? RESOURCE_GROUP_DEFAULTS.processMode,
    };
}

function problems(p: ResourceGroupInputs): kit.Failure[] {
    const out: kit.Failure[] = [];
    // GitLab validates a group's key as an environment name (app/models/ci/resource_group.rb).
    const keyProblem = kit.isUnknown(p.key) ? undefined : environmentNameProblem(p.key);
    if (keyProblem) out.push({ property: "key", reason: `resource group key: ${keyProblem}` });
    const mode = kit.isUnknown(p.processMode) ? undefined : processModeProblem(p.processMode);
    if (mode) out.push({ property: "processMode", reason: `resource group processMode ${mode} (got ${JSON.stringify(p.processMode)})` });
    return out;
}

function fromGitlab(inputs: ResourceGroupInputs, json: GroupJson): ResourceGroupOutputs {
    return { ...inputs, key: json.key, processMode: json.process_mode as ResourceGroupProcessMode, exists: true };
}

/**
 * `call` on the group; undefined when GitLab answers 404 in a project the token can see (the
 * group is not there yet). gitbeaker's ResourceGroups URL-encodes the key (`review%2Ffoo`).
 */
async function unlessMissing(gl: GitlabClient, project: string, key: string, call: () => Promise<unknown>): Promise<GroupJson | undefined> {
    try {
        return (await call()) as GroupJson;
    } catch (e) {
        if (!kit.isNotFound(e)) throw e;
        await kit.resolveProject(gl, project, `, so whether resource group ${key} exists cannot be told`);
        return undefined;
    }
}

/** PUT the mode (idempotent: the client retries it after a lost answer); undefined, with the warning printed, when the group is not there yet. */
async function setMode(gl: GitlabClient, project: string, inputs: ResourceGroupInputs): Promise<GroupJson | undefined> {
    const json = await unlessMissing(gl, project, inputs.key, () =>
        gl.call(
            `set process mode ${inputs.processMode} of resource group ${inputs.key} in project ${inputs.project}`,
            (api) => api.ResourceGroups.edit(project, inputs.key, { processMode: inputs.processMode }),
            { idempotent: true },
        ),
    );
    if (!json) {
        console.warn(resourceGroupNotYetWarning(inputs.key, inputs.processMode, inputs.project));
    }
    return json;
}

export const resourceGroupProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: ResourceGroupInputs, news: Partial<ResourceGroupInputs>) {
        const inputs = withDefaults(news);
        return { inputs, failures: problems(inputs) };
    },

    async diff(_id: string, olds: ResourceGroupOutputs, news: ResourceGroupInputs) {
        const replaces = [...(await kit.connectionReplaces(olds, news)), ...kit.changedKeys<ResourceGroupInputs>(olds, news, ["key"])];
        // A group that was not there yet: try again (GitLab may have created it since).
        const updates = [...kit.changedKeys<ResourceGroupInputs>(olds, news, ["processMode", "gitlabToken"]), ...(olds.exists === false ? ["exists"] : [])];
        return kit.diffResult(replaces, updates);
    },

    async create(inputs: ResourceGroupInputs) {
        const { gl, ref, project } = await kit.beginCreate(
            inputs,
            problems(inputs).map((p) => p.reason),
        );
        const json = await setMode(gl, project, inputs);
        return { id: `${project}:${inputs.key}`, outs: { ...(json ? fromGitlab(inputs, json) : { ...inputs, exists: false }), ...ref } };
    },

    async read(id: string, props: Partial<ResourceGroupOutputs>) {
        const [idProject, key] = kit.splitId(id, 2, ID_SHAPE);
        const inputs = withDefaults({ ...props, project: props.project || idProject, key });
        const gl = kit.clientFor(inputs);
        const project = kit.apiProject(idProject, props);
        const json = await unlessMissing(gl, project, key, () =>
            gl.call(`read resource group ${key} in project ${project}`, (api) => api.ResourceGroups.show(project, key)),
        );
        // Not there (yet, or any more): the resource stays, and the next up tries again.
        const found = json ? fromGitlab(inputs, json) : { ...inputs, exists: false };
        return { id, props: { ...found, ...(await kit.storedOrResolvedRef(gl, props, project)) } };
    },

    async update(id: string, olds: ResourceGroupOutputs, news: ResourceGroupInputs) {
        kit.throwIfProblems(problems(news).map((p) => p.reason));
        if (olds.exists !== false && kit.changedKeys<ResourceGroupInputs>(olds, news, ["processMode"]).length === 0) {
            return kit.connectionOnlyUpdate(olds, news);
        }
        const [idProject] = kit.splitId(id, 2, ID_SHAPE);
        const project = kit.apiProject(idProject, olds);
        const json = await setMode(kit.clientFor(news), project, news);
        return { outs: { ...(json ? fromGitlab(news, json) : { ...news, exists: false }), ...kit.projectRefOf(olds) } };
    },

    async delete() {
        // Nothing to do in GitLab: the Resource groups API has no delete, and the mode is left as
        // it is on purpose (see the comment at the top of this file).
    },
};

/** The process mode of a GitLab CI/CD resource group as a Pulumi resource. */
export class ResourceGroup extends DynamicResource {
    constructor(name: string, args: ResourceGroupArgs, opts?: pulumi.CustomResourceOptions) {
        super(resourceGroupProvider, name, kit.resourceProps(args, ["exists"]), kit.withSecretOutputs(opts), "gitlab", "ResourceGroup");
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface ResourceGroup extends kit.OutputsOf<Pick<ResourceGroupOutputs, "key" | "processMode" | "exists">> {}
