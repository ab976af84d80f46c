/** The double's state: what GitLab stores for the resources this project manages (see server.ts for the sources cited). */

export interface DoubleUser {
    readonly id: number;
    readonly username: string;
    readonly name: string;
    /** The user's role on every project of the double: 30 developer, 40 maintainer (default). */
    readonly accessLevel: number;
}

export interface DoubleVariable {
    variable_type: "env_var" | "file";
    key: string;
    value: string;
    protected: boolean;
    masked: boolean;
    hidden: boolean;
    raw: boolean;
    environment_scope: string;
    description: string | null;
}

export interface DoubleEnvironment {
    id: number;
    name: string;
    slug: string;
    external_url: string | null;
    state: "available" | "stopping" | "stopped";
    tier: string;
    created_at: string;
    updated_at: string;
}

export interface AccessEntry {
    id: number;
    access_level: number | null;
    user_id: number | null;
    group_id: number | null;
    group_inheritance_type: number;
}

export interface ApprovalRule extends AccessEntry {
    required_approvals: number;
}

export interface DoubleProtectedEnvironment {
    name: string;
    deploy_access_levels: AccessEntry[];
    approval_rules: ApprovalRule[];
}

export interface DoubleDeployToken {
    id: number;
    name: string;
    username: string;
    expires_at: string | null;
    token: string;
    revoked: boolean;
    scopes: string[];
}

export interface DoubleCleanupPolicy {
    cadence: string;
    enabled: boolean;
    keep_n: number | null;
    older_than: string | null;
    name_regex: string | null;
    name_regex_keep: string | null;
    next_run_at: string | null;
}

export interface DoubleResourceGroup {
    id: number;
    key: string;
    process_mode: string;
    created_at: string;
    updated_at: string;
}

export interface DoubleNote {
    id: number;
    body: string;
    author: DoubleUser;
    created_at: string;
    updated_at: string;
}

export interface DoubleProject {
    readonly id: number;
    readonly path_with_namespace: string;
    variables: DoubleVariable[];
    environments: DoubleEnvironment[];
    protectedEnvironments: DoubleProtectedEnvironment[];
    deployTokens: DoubleDeployToken[];
    containerExpirationPolicy: DoubleCleanupPolicy;
    resourceGroups: DoubleResourceGroup[];
    mergeRequests: Map<number, { id: number; notes: DoubleNote[] }>;
}

export interface LoggedRequest {
    readonly method: string;
    /** The path as sent (still URL-encoded), e.g. `/api/v4/projects/group%2Fapp/variables`. */
    readonly path: string;
    readonly query: string;
    readonly status: number;
    readonly auth: boolean;
    /** When the request arrived (ms since epoch). */
    readonly at: number;
}

export interface Fault {
    remaining: number;
    readonly status: number;
    readonly method?: string;
    readonly pathIncludes?: string;
    /** [lost] Process the request first (commit), then answer 502 or drop the connection. */
    readonly afterCommit?: "502" | "reset";
}

export interface RateLimit {
    /** Requests still answered 429 (count-based), or undefined for a time window. */
    remaining?: number;
    /** End of the time window (ms since epoch), set at the first throttled request. */
    until?: number;
    readonly windowMs?: number;
    /** Seconds sent in Retry-After (count-based); a window sends what is left of it, rounded up. */
    readonly retryAfterSeconds: number;
    readonly format: "seconds" | "date";
    readonly method?: string;
    readonly pathIncludes?: string;
}
