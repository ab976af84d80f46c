import { found, HttpError, type Params } from "./http";
import { type DoubleProject, type DoubleResourceGroup } from "./model";
import { type GitlabDouble } from "./server";

/**
 * [rgroups] doc/api/resource_groups.md (list, get, "Edit an existing resource group"; the key is
 * URL-encoded in the path) and app/models/ci/resource_group.rb (`process_mode` enum: unordered,
 * oldest_first, newest_first, newest_ready_first; a new group is `unordered`). The API has no
 * create: GitLab makes a group when a job using it first runs (ci/resource_groups/_index.md), which
 * tests do with `GitlabDouble.runJobInResourceGroup`.
 */
export const PROCESS_MODES = ["unordered", "oldest_first", "newest_first", "newest_ready_first"];

export function resourceGroupEntity(g: DoubleResourceGroup): unknown {
    return { ...g };
}

export function findResourceGroup(d: GitlabDouble, project: DoubleProject, key: string): DoubleResourceGroup {
    return found(project.resourceGroups.find((g) => g.key === key));
}

/** What a pipeline does for a job with `resource_group: <key>`: the group exists from then on (unordered when new). */
export function ensureResourceGroup(d: GitlabDouble, project: DoubleProject, key: string): DoubleResourceGroup {
    const existing = project.resourceGroups.find((g) => g.key === key);
    if (existing) return existing;
    const at = d.now();
    const group: DoubleResourceGroup = { id: d.id(), key, process_mode: "unordered", created_at: at, updated_at: at };
    project.resourceGroups.push(group);
    return group;
}

export function updateResourceGroup(d: GitlabDouble, group: DoubleResourceGroup, params: Params): DoubleResourceGroup {
    if (params.process_mode !== undefined) {
        // [grape] `values:` validation of an optional parameter.
        if (!PROCESS_MODES.includes(String(params.process_mode))) {
            throw new HttpError(400, { error: "process_mode does not have a valid value" });
        }
        group.process_mode = String(params.process_mode);
        group.updated_at = d.now();
    }
    return group;
}
