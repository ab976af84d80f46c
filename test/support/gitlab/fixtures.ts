import type { DoubleVariable } from "./model";

/** A plain env_var variable as someone would make it by hand in GitLab (unmasked, not hidden, not raw, no description). */
export function handMadeVariable(key: string, value: string, opts: { protected?: boolean; environment_scope?: string } = {}): DoubleVariable {
    return {
        variable_type: "env_var",
        key,
        value,
        protected: opts.protected ?? false,
        masked: false,
        hidden: false,
        raw: false,
        environment_scope: opts.environment_scope ?? "*",
        description: null,
    };
}
