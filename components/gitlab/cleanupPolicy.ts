import * as pulumi from "@pulumi/pulumi";
import * as kit from "./providerKit";
import {
    CLEANUP_DEFAULTS,
    type CleanupCadence,
    type CleanupKeepN,
    type CleanupOlderThan,
    cleanupPolicyProblems,
    keepRegexWithReleaseTags,
    userPartOfKeepRegex,
} from "./gitlabRules";
import { DynamicResource } from "../dynamicResource";

/**
 * The project's container registry cleanup policy, set through "Edit a project"
 * (`container_expiration_policy_attributes`, docs: api/projects.md and
 * user/packages/container_registry/reduce_container_registry_storage.md).
 *
 * GitLab keeps every tag matching `nameRegexKeep` (version and release tags), keeps the newest
 * `keepN` of the rest, and deletes those matching `nameRegexDelete` once older than `olderThan`,
 * every `cadence` (the whole selection, as GitLab documents it: cleanupSelection.ts).
 *
 * The keep regex sent is always the given one OR every release tag (`keepRegexWithReleaseTags`,
 * applied once, where the policy's values are completed: `withDefaults`, which `check` runs), so
 * no setting can let GitLab delete a release's immutable tag. The checked input, the state and
 * GitLab all hold that same combined regex, so the preview shows exactly what is sent.
 * A project has exactly one policy, so the id is the project's numeric id, and "deleting" the
 * resource turns the policy off (GitLab has no call to remove it).
 */
export interface CleanupPolicyInputs extends kit.ConnectionInputs {
    /** Default true. */
    readonly enabled: boolean;
    /** How often the policy runs: 1d (default), 7d, 14d, 1month, 3month. */
    readonly cadence: CleanupCadence;
    /** Tags to keep per image among those that may be deleted: 1, 5, 10 (default), 25, 50, 100. */
    readonly keepN: CleanupKeepN;
    /** Delete only tags older than this: 7d, 14d (default), 30d, 90d. */
    readonly olderThan: CleanupOlderThan;
    /** Tags that may be deleted (RE2). Default `.*`. */
    readonly nameRegexDelete: string;
    /**
     * Tags always kept (RE2). Default: version tags, `^v?[0-9]+\.[0-9]+\.[0-9]+.*$`. After check
     * it is `(?:(?:<given>)|(?:<release tag regex>))`: release tags are always kept.
     */
    readonly nameRegexKeep: string;
}

export interface CleanupPolicyOutputs extends CleanupPolicyInputs, Partial<kit.ProjectRef> {
    readonly nextRunAt: string;
}

export type CleanupPolicyArgs = kit.ArgsOf<CleanupPolicyInputs>;

interface PolicyJson {
    cadence: CleanupCadence;
    enabled: boolean;
    keep_n: CleanupKeepN | null;
    older_than: CleanupOlderThan | null;
    name_regex: string | null;
    name_regex_delete?: string | null;
    name_regex_keep: string | null;
    next_run_at: string | null;
}

function withDefaults(news: Partial<CleanupPolicyInputs>): CleanupPolicyInputs {
    return {
        ...kit.connectionOf(news),
        enabled: news.enabled ?? CLEANUP_DEFAULTS.enabled,
        cadence: news.cadence ?? CLEANUP_DEFAULTS.cadence,
        keepN: news.keepN ?? CLEANUP_DEFAULTS.keepN,
        olderThan: news.olderThan ?? CLEANUP_DEFAULTS.olderThan,
        nameRegexDelete: news.nameRegexDelete ?? CLEANUP_DEFAULTS.nameRegexDelete,
        // The one place the keep regex is built: the user's (or the default) OR every release tag.
        nameRegexKeep: kit.isUnknown(news.nameRegexKeep)
            ? (news.nameRegexKeep as string)
            : keepRegexWithReleaseTags(news.nameRegexKeep ?? CLEANUP_DEFAULTS.nameRegexKeep),
    };
}

function problems(p: CleanupPolicyInputs): kit.Failure[] {
    // The user's part is what a problem is about (the release part is ours and always valid).
    const userKeep = kit.isUnknown(p.nameRegexKeep) ? p.nameRegexKeep : (userPartOfKeepRegex(p.nameRegexKeep) ?? p.nameRegexKeep);
    return cleanupPolicyProblems({ ...p, nameRegexKeep: userKeep }, "cleanup policy ", kit.isUnknown);
}

function attributes(p: CleanupPolicyInputs) {
    return {
        enabled: p.enabled,
        cadence: p.cadence,
        keep_n: p.keepN,
        older_than: p.olderThan,
        name_regex_delete: p.nameRegexDelete,
        name_regex_keep: p.nameRegexKeep,
    };
}

function fromGitlab(inputs: CleanupPolicyInputs, json: PolicyJson): CleanupPolicyOutputs {
    return {
        ...inputs,
        enabled: Boolean(json.enabled),
        cadence: json.cadence,
        keepN: (json.keep_n ?? 0) as CleanupKeepN,
        olderThan: (json.older_than ?? "") as CleanupOlderThan,
        nameRegexDelete: json.name_regex_delete ?? json.name_regex ?? "",
        nameRegexKeep: json.name_regex_keep ?? "",
        nextRunAt: json.next_run_at ?? "",
    };
}

async function put(inputs: CleanupPolicyInputs, project: string, attrs: Record<string, unknown>, what: string): Promise<PolicyJson> {
    const gl = kit.clientFor(inputs);
    const json = (await gl.call(`${what} container registry cleanup policy of project ${inputs.project}`, (api) =>
        api.Projects.edit(project, { containerExpirationPolicyAttributes: attrs } as never),
    )) as unknown as { container_expiration_policy: PolicyJson };
    return json.container_expiration_policy;
}

export const cleanupPolicyProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: CleanupPolicyInputs, news: Partial<CleanupPolicyInputs>) {
        const inputs = withDefaults(news);
        return { inputs, failures: problems(inputs) };
    },

    async diff(_id: string, olds: CleanupPolicyOutputs, news: CleanupPolicyInputs) {
        return kit.diffByKeys<CleanupPolicyInputs>(
            olds,
            news,
            [],
            ["enabled", "cadence", "keepN", "olderThan", "nameRegexDelete", "nameRegexKeep", "gitlabToken"],
        );
    },

    async create(inputs: CleanupPolicyInputs) {
        kit.throwIfProblems(problems(inputs).map((p) => p.reason));
        const ref = await kit.resolveProject(kit.clientFor(inputs), inputs.project);
        const json = await put(inputs, String(ref.projectId), attributes(inputs), "set");
        return { id: String(ref.projectId), outs: { ...fromGitlab(inputs, json), ...ref } };
    },

    async read(id: string, props: Partial<CleanupPolicyOutputs>) {
        const inputs = withDefaults({ ...props, project: props.project || id });
        const gl = kit.clientFor(inputs);
        const project = kit.apiProject(id, props);
        return kit.readOrGone(gl, project, "its container registry cleanup policy", async () => {
            const json = (await gl.call(`read container registry cleanup policy of project ${project}`, (api) => api.Projects.show(project))) as unknown as {
                container_expiration_policy?: PolicyJson | null;
            };
            if (!json.container_expiration_policy) {
                return { id: "", props: {} };
            }
            return { id, props: { ...fromGitlab(inputs, json.container_expiration_policy), ...(await kit.storedOrResolvedRef(gl, props, project)) } };
        });
    },

    async update(id: string, olds: CleanupPolicyOutputs, news: CleanupPolicyInputs) {
        kit.throwIfProblems(problems(news).map((p) => p.reason));
        if (kit.changedKeys(olds, news, ["enabled", "cadence", "keepN", "olderThan", "nameRegexDelete", "nameRegexKeep"]).length === 0) {
            return kit.connectionOnlyUpdate(olds, news);
        }
        const json = await put(news, kit.apiProject(id, olds), attributes(news), "update");
        return { outs: { ...fromGitlab(news, json), ...kit.projectRefOf(olds) } };
    },

    async delete(id: string, props: CleanupPolicyOutputs) {
        const project = kit.apiProject(id, props);
        await kit.ignoreNotFound(kit.clientFor({ ...props, project }), project, "its container registry cleanup policy", () =>
            put(props, project, { enabled: false }, "disable"),
        );
    },
};

/** A GitLab project's container registry cleanup policy as a Pulumi resource. */
export class ContainerRegistryCleanupPolicy extends DynamicResource {
    constructor(name: string, args: CleanupPolicyArgs, opts?: pulumi.CustomResourceOptions) {
        super(cleanupPolicyProvider, name, kit.resourceProps(args, ["nextRunAt"]), kit.withSecretOutputs(opts), "gitlab", "ContainerRegistryCleanupPolicy");
    }
}

/** The outputs the class shows, typed from the provider's outputs (declaration merging: no class fields). */
export interface ContainerRegistryCleanupPolicy extends kit.OutputsOf<
    Pick<CleanupPolicyOutputs, "enabled" | "cadence" | "keepN" | "olderThan" | "nameRegexDelete" | "nameRegexKeep" | "nextRunAt">
> {}
