import { HttpError, type Params, bool, oneOf } from "./http";
import { type DoubleProject, type DoubleVariable } from "./model";
import { type GitlabDouble } from "./server";

// [mask] Ci::Maskable::REGEX and MASK_AND_RAW_REGEX.
export const MASK_REGEX = /^[a-zA-Z0-9_+=/@:.~-]{8,}$/;

export const MASK_AND_RAW_REGEX = /^[^ \t\n\v\f\r]{8,}$/u;

export function variableEntity(v: DoubleVariable): unknown {
    // [mask] "Hide a CI/CD variable": a hidden variable's value is never revealed again.
    return { ...v, value: v.hidden ? null : v.value };
}

// [vars] find_variable: the key, narrowed by filter[environment_scope] when given; several
// matches without a filter is a 409 with GitLab's exact message.
export function findVariable(d: GitlabDouble, project: DoubleProject, key: string, params: Params): DoubleVariable {
    const filter = params.filter as Params | undefined;
    const scope = filter && typeof filter === "object" ? filter.environment_scope : undefined;
    const matches = project.variables.filter((v) => v.key === key && (scope === undefined || v.environment_scope === scope));
    if (matches.length > 1) {
        throw new HttpError(409, { message: "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'" });
    }
    if (matches.length === 0) {
        throw new HttpError(404, { message: "404 Variable Not Found" });
    }
    return matches[0];
}

export function createVariable(d: GitlabDouble, project: DoubleProject, params: Params): DoubleVariable {
    const missing = ["key", "value"].filter((k) => params[k] === undefined);
    if (missing.length > 0) {
        throw new HttpError(400, { error: missing.map((k) => `${k} is missing`).join(", ") });
    }
    const hidden = params.masked_and_hidden !== undefined && bool(params, "masked_and_hidden");
    const v: DoubleVariable = {
        variable_type: params.variable_type === undefined ? "env_var" : (oneOf(params, "variable_type", ["env_var", "file"]) as "env_var" | "file"),
        key: String(params.key),
        value: String(params.value),
        protected: params.protected !== undefined && bool(params, "protected"),
        masked: hidden || (params.masked !== undefined && bool(params, "masked")),
        hidden,
        raw: params.raw !== undefined && bool(params, "raw"),
        environment_scope: params.environment_scope === undefined ? "*" : String(params.environment_scope),
        description: params.description === undefined || params.description === null ? null : String(params.description),
    };
    validateVariable(d, project, v, undefined);
    project.variables.push(v);
    return v;
}

export function updateVariable(d: GitlabDouble, project: DoubleProject, current: DoubleVariable, params: Params): DoubleVariable {
    // [vars] update applies the declared params except key and filter.
    const next: DoubleVariable = { ...current };
    if (params.value !== undefined) next.value = String(params.value);
    if (params.protected !== undefined) next.protected = bool(params, "protected");
    if (params.masked !== undefined) next.masked = bool(params, "masked");
    if (params.raw !== undefined) next.raw = bool(params, "raw");
    if (params.variable_type !== undefined) next.variable_type = oneOf(params, "variable_type", ["env_var", "file"]) as "env_var" | "file";
    if (params.environment_scope !== undefined) next.environment_scope = String(params.environment_scope);
    if (params.description !== undefined) next.description = params.description === null ? null : String(params.description);
    if (current.hidden && params.masked !== undefined && !next.masked) {
        // [mask] "Hide a CI/CD variable": a hidden variable stays masked.
        throw new HttpError(400, { message: { masked: ["cannot be unset for a hidden variable"] } });
    }
    validateVariable(d, project, next, current);
    Object.assign(current, next);
    return current;
}

export function validateVariable(d: GitlabDouble, project: DoubleProject, v: DoubleVariable, self: DoubleVariable | undefined): void {
    const errors: Record<string, string[]> = {};
    const add = (k: string, msg: string) => (errors[k] ??= []).push(msg);
    // [vars] "must have no more than 255 characters; only A-Z, a-z, 0-9, and _ are allowed".
    if (v.key.length > 255) add("key", "is too long (maximum is 255 characters)");
    if (!/^[a-zA-Z0-9_]+$/.test(v.key)) add("key", "can contain only letters, digits and '_'.");
    // [vars] "If a variable with the same key already exists, the new variable must have a different
    // environment_scope. Otherwise, GitLab returns ... VARIABLE_NAME has already been taken" (the
    // model's uniqueness message is "(%{value}) has already been taken").
    if (project.variables.some((o) => o !== self && o.key === v.key && o.environment_scope === v.environment_scope)) {
        add("key", `(${v.key}) has already been taken`);
    }
    // [mask] masked and expanded: REGEX; masked and raw: MASK_AND_RAW_REGEX.
    if (v.masked && !(v.raw ? MASK_AND_RAW_REGEX : MASK_REGEX).test(v.value)) {
        add("value", "is invalid");
    }
    if (!/^[a-zA-Z0-9_/${}. *-]{1,255}$/.test(v.environment_scope))
        add("environment_scope", "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', '*' and spaces");
    if (Object.keys(errors).length > 0) {
        throw new HttpError(400, { message: errors });
    }
}
