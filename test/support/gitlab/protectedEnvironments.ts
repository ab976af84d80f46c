import { found, HttpError, type Params, bool, int } from "./http";
import { type AccessEntry, type ApprovalRule, type DoubleProject, type DoubleProtectedEnvironment } from "./model";
import { type GitlabDouble } from "./server";

export const ACCESS_LEVEL_DESCRIPTIONS: Record<number, string> = { 30: "Developers + Maintainers", 40: "Maintainers", 60: "Administrators" };

export function protectedEntity(pe: DoubleProtectedEnvironment): unknown {
    const describe = (e: AccessEntry) => ({ ...e, access_level_description: e.access_level !== null ? ACCESS_LEVEL_DESCRIPTIONS[e.access_level] : "" });
    return {
        name: pe.name,
        deploy_access_levels: pe.deploy_access_levels.map(describe),
        // The deprecated total is still reported: the sum over the rules.
        required_approval_count: pe.approval_rules.reduce((n, r) => n + r.required_approvals, 0),
        approval_rules: pe.approval_rules.map(describe),
    };
}

export function findProtected(d: GitlabDouble, project: DoubleProject, name: string): DoubleProtectedEnvironment {
    return found(project.protectedEnvironments.find((p) => p.name === name));
}

export function createProtected(d: GitlabDouble, project: DoubleProject, params: Params): DoubleProtectedEnvironment {
    if (params.name === undefined) {
        throw new HttpError(400, { error: "name is missing" });
    }
    if (params.deploy_access_levels === undefined) {
        throw new HttpError(400, { error: "deploy_access_levels is missing" });
    }
    // [penvs] required_approval_count > 0 is deprecated and refused with 422.
    if (params.required_approval_count !== undefined && int(params, "required_approval_count") > 0) {
        throw new HttpError(422, {
            message: "Parameter 'required_approval_count' is deprecated and shouldn't be used. See https://gitlab.com/groups/gitlab-org/-/epics/9662",
        });
    }
    const name = String(params.name);
    if (project.protectedEnvironments.some((p) => p.name === name)) {
        throw new HttpError(409, { message: `Environment '${name}' is already protected` });
    }
    const pe: DoubleProtectedEnvironment = {
        name,
        deploy_access_levels: accessEntries(d, params.deploy_access_levels, "deploy_access_levels", []).map((e) => e as AccessEntry),
        approval_rules: params.approval_rules === undefined ? [] : (accessEntries(d, params.approval_rules, "approval_rules", [], true) as ApprovalRule[]),
    };
    if (pe.deploy_access_levels.length === 0) {
        throw new HttpError(422, { message: ["Deploy access levels can't be blank"] });
    }
    project.protectedEnvironments.push(pe);
    return pe;
}

export function updateProtected(d: GitlabDouble, pe: DoubleProtectedEnvironment, params: Params): DoubleProtectedEnvironment {
    if (params.required_approval_count !== undefined && int(params, "required_approval_count") > 0) {
        throw new HttpError(422, {
            message: "Parameter 'required_approval_count' is deprecated and shouldn't be used. See https://gitlab.com/groups/gitlab-org/-/epics/9662",
        });
    }
    const deploy =
        params.deploy_access_levels === undefined
            ? pe.deploy_access_levels
            : (accessEntries(d, params.deploy_access_levels, "deploy_access_levels", pe.deploy_access_levels) as AccessEntry[]);
    const rules =
        params.approval_rules === undefined
            ? pe.approval_rules
            : (accessEntries(d, params.approval_rules, "approval_rules", pe.approval_rules, true) as ApprovalRule[]);
    if (deploy.length === 0) {
        throw new HttpError(422, { message: ["Deploy access levels can't be blank"] });
    }
    pe.deploy_access_levels = deploy;
    pe.approval_rules = rules;
    return pe;
}

/**
 * [penvs] Rails nested attributes as the API takes them: an entry with `id` updates that
 * entry, `id` + `_destroy: true` removes it, an entry without `id` adds one.
 */
export function accessEntries(d: GitlabDouble, raw: unknown, param: string, current: AccessEntry[], approval = false): (AccessEntry | ApprovalRule)[] {
    const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? Object.values(raw as object) : undefined;
    if (!list) {
        throw new HttpError(400, { error: `${param} is invalid` });
    }
    const result = current.map((e) => ({ ...e }));
    list.forEach((item, i) => {
        const p = (item ?? {}) as Params;
        const where = `${param}[${i}]`;
        const id = p.id === undefined ? undefined : int(p, "id", `${where}[id]`);
        const destroy = p._destroy !== undefined && bool(p, "_destroy", `${where}[_destroy]`);
        if (p.access_level !== undefined && ![30, 40, 60].includes(int(p, "access_level", `${where}[access_level]`))) {
            throw new HttpError(400, { error: `${where}[access_level] does not have a valid value` });
        }
        if (!destroy && p.access_level === undefined && p.user_id === undefined && p.group_id === undefined) {
            throw new HttpError(400, {
                error: `${where}[access_level], ${where}[user_id], ${where}[group_id] are missing, at least one parameter must be provided`,
            });
        }
        if (id !== undefined) {
            const at = result.findIndex((e) => e.id === id);
            if (at < 0) {
                throw new HttpError(404, { message: "404 Not found" });
            }
            if (destroy) {
                result.splice(at, 1);
            } else {
                Object.assign(result[at], pick(p));
            }
            return;
        }
        const entry: AccessEntry | ApprovalRule = {
            id: d.id(),
            access_level: p.access_level === undefined ? null : int(p, "access_level"),
            user_id: p.user_id === undefined ? null : int(p, "user_id"),
            group_id: p.group_id === undefined ? null : int(p, "group_id"),
            group_inheritance_type: p.group_inheritance_type === undefined ? 0 : int(p, "group_inheritance_type"),
            ...(approval ? { required_approvals: p.required_approvals === undefined ? 1 : int(p, "required_approvals") } : {}),
        };
        result.push(entry);
    });
    return result;

    function pick(p: Params): Partial<ApprovalRule> {
        const out: Partial<ApprovalRule> = {};
        if (p.access_level !== undefined) out.access_level = Number(p.access_level);
        if (p.required_approvals !== undefined && approval) out.required_approvals = Number(p.required_approvals);
        return out;
    }
}
