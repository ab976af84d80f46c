import { HttpError, type Params, bool, int } from "./http";
import { type DoubleProject } from "./model";
import { type GitlabDouble } from "./server";

export function projectEntity(d: GitlabDouble, p: DoubleProject): unknown {
    const name = p.path_with_namespace.split("/").pop()!;
    const policy = p.containerExpirationPolicy;
    return {
        id: p.id,
        name,
        path: name,
        path_with_namespace: p.path_with_namespace,
        web_url: `${d.url}/${p.path_with_namespace}`,
        container_registry_enabled: true,
        container_expiration_policy: { ...policy, name_regex_delete: policy.name_regex },
    };
}

export function editProject(d: GitlabDouble, project: DoubleProject, params: Params): unknown {
    const attrs = params.container_expiration_policy_attributes;
    if (attrs !== undefined) {
        if (typeof attrs !== "object" || attrs === null) {
            throw new HttpError(400, { error: "container_expiration_policy_attributes is invalid" });
        }
        const a = attrs as Params;
        const next = { ...project.containerExpirationPolicy };
        const errors: Record<string, string[]> = {};
        if (a.cadence !== undefined) next.cadence = String(a.cadence);
        if (a.enabled !== undefined) next.enabled = bool(a, "enabled", "container_expiration_policy_attributes[enabled]");
        if (a.keep_n !== undefined) next.keep_n = a.keep_n === null ? null : int(a, "keep_n", "container_expiration_policy_attributes[keep_n]");
        if (a.older_than !== undefined) next.older_than = a.older_than === null ? null : String(a.older_than);
        // [projects] `name_regex_delete` is the newer name of `name_regex`; either sets the same field.
        if (a.name_regex !== undefined) next.name_regex = a.name_regex === null ? null : String(a.name_regex);
        if (a.name_regex_delete !== undefined) next.name_regex = a.name_regex_delete === null ? null : String(a.name_regex_delete);
        if (a.name_regex_keep !== undefined) next.name_regex_keep = a.name_regex_keep === null ? null : String(a.name_regex_keep);
        // app/models/container_expiration_policy.rb inclusion validations.
        if (!["1d", "7d", "14d", "1month", "3month"].includes(next.cadence)) errors["container_expiration_policy.cadence"] = ["is not included in the list"];
        if (next.keep_n !== null && ![1, 5, 10, 25, 50, 100].includes(next.keep_n))
            errors["container_expiration_policy.keep_n"] = ["is not included in the list"];
        if (next.older_than !== null && !["7d", "14d", "30d", "90d"].includes(next.older_than))
            errors["container_expiration_policy.older_than"] = ["is not included in the list"];
        // [projects] db: name_regex and name_regex_keep are text columns limited to 255 characters (`add_text_limit`).
        for (const field of ["name_regex", "name_regex_keep"] as const) {
            if ((next[field] ?? "").length > 255) errors[`container_expiration_policy.${field}`] = ["is too long (maximum is 255 characters)"];
        }
        for (const field of ["name_regex", "name_regex_keep"] as const) {
            const re = next[field];
            if (next.enabled && re) {
                try {
                    new RegExp(re);
                } catch {
                    errors[`container_expiration_policy.${field}`] = ["not valid RE2 syntax"];
                }
            }
        }
        if (Object.keys(errors).length > 0) {
            throw new HttpError(400, { message: errors });
        }
        next.next_run_at = next.enabled ? new Date(d.clock + 86_400_000).toISOString() : null;
        project.containerExpirationPolicy = next;
    }
    return projectEntity(d, project);
}
