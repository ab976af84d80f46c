/**
 * GitLab's own validation rules for the settings this module manages, as pure functions.
 *
 * They run in three places: when the stack's config is read (so a bad value fails before any
 * resource is registered), in each dynamic provider's `check` (values that arrive as Outputs), and
 * again right before an API call. The functions are self-contained (no captured module state
 * other than constants, here and in components/patterns.ts) because the dynamic providers that
 * call them are serialized into the state file and re-run in the provider process.
 */

import { HTTP_URL_PATTERN } from "../patterns";
import { RELEASE_TAG_REGEX } from "../release/ledger";

/**
 * GitLab docs, "Mask a CI/CD variable" (doc/ci/variables/_index.md) and the model that enforces it
 * (app/models/concerns/ci/maskable.rb, `Ci::Maskable::REGEX`): a masked value must be a single
 * line, at least 8 characters, only characters of the Base64 alphabet (RFC 4648, including the
 * URL-safe `-` and `_`) plus `@`, `:`, `.` and `~`.
 */
export const MASKABLE_VALUE = /^[a-zA-Z0-9_+=/@:.~-]{8,}$/;

/**
 * `Ci::Maskable::MASK_AND_RAW_REGEX` (GitLab 16.x+, no longer behind a flag in 17.x): a masked
 * variable that is also `raw` (not expanded) only needs to be a single line of at least 8
 * characters with no whitespace. Ruby's `\S` is ASCII-only, hence the explicit class here
 * (JavaScript's `\S` would also reject e.g. a no-break space, which GitLab accepts), and Ruby
 * counts characters, hence the `u` flag (without it an emoji would count as two).
 */
export const MASKABLE_RAW_VALUE = /^[^ \t\n\v\f\r]{8,}$/u;

/** Project-level variables API, "Create a variable": key is at most 255 of `A-Z a-z 0-9 _`. */
export const VARIABLE_KEY = /^[A-Za-z0-9_]{1,255}$/;

/**
 * `Gitlab::Regex.environment_scope_regex`: letters, digits, `_ / $ { } . - *` and space, at most
 * 255 characters. `*` alone is "all environments".
 */
export const ENVIRONMENT_SCOPE = /^[a-zA-Z0-9_/${}. *-]{1,255}$/;

/**
 * `Gitlab::Regex.environment_name_regex`: letters, digits, `_ / $ { } . -` and space; it cannot
 * start or end with `/`. At most 255 characters (the column limit).
 */
export const ENVIRONMENT_NAME = /^(?!\/)[a-zA-Z0-9_/${}. -]{1,255}(?<!\/)$/;

/** Environments API, "Create a new environment": the allowed tiers. */
export const ENVIRONMENT_TIERS = ["production", "staging", "testing", "development", "other"] as const;
export type EnvironmentTier = (typeof ENVIRONMENT_TIERS)[number];

/** Why a tier is refused; undefined when GitLab accepts it. */
export function environmentTierProblem(tier: unknown): string | undefined {
    return (ENVIRONMENT_TIERS as readonly unknown[]).includes(tier) ? undefined : `must be one of ${ENVIRONMENT_TIERS.join(", ")}`;
}

/** Protected environments API, "Valid access levels" (`DeployAccessLevel::ALLOWED_ACCESS_LEVELS`). */
export const ACCESS_LEVELS = { developer: 30, maintainer: 40, admin: 60 } as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[keyof typeof ACCESS_LEVELS];

/** Why a deploy or approver access level is refused; undefined when GitLab accepts it. */
export function accessLevelProblem(level: unknown): string | undefined {
    return (Object.values(ACCESS_LEVELS) as unknown[]).includes(level) ? undefined : "must be 30 (developer), 40 (maintainer) or 60 (admin)";
}

/**
 * An access level written as a role name or its number, in any case, with spaces around it
 * (`maintainer`, ` 40 `): the level, or undefined when GitLab has no such level.
 */
export function parseAccessLevel(written: string): AccessLevel | undefined {
    const s = written.trim().toLowerCase();
    const level = Object.prototype.hasOwnProperty.call(ACCESS_LEVELS, s)
        ? ACCESS_LEVELS[s as keyof typeof ACCESS_LEVELS]
        : /^[0-9]+$/.test(s) && String(Number(s)) === s
          ? Number(s)
          : undefined;
    return accessLevelProblem(level) === undefined ? (level as AccessLevel) : undefined;
}

/**
 * Protected environments API, `approval_rules[].required_approvals`: this program sets one rule, of
 * at most 5 approvals (the most GitLab's UI offers per rule). Undefined when `n` is fine.
 */
export function requiredApprovalsProblem(n: unknown): string | undefined {
    return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 5 ? undefined : "must be a whole number from 0 to 5";
}

/** What a protection left unsaid means, in every layer: maintainers deploy, no approvals. */
export const PROTECTION_DEFAULTS = {
    deployAccessLevel: ACCESS_LEVELS.maintainer,
    requiredApprovals: 0,
    approverAccessLevel: ACCESS_LEVELS.maintainer,
} as const;

/**
 * The path or id a project is named by in the API (`:id`): a numeric id, or a full path of at
 * least two segments (`group/app`, `group/sub/app`).
 */
export function isProjectRef(ref: string): boolean {
    return /^([0-9]+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$/.test(ref);
}

/** Deploy tokens API, "Create a project deploy token": the scopes GitLab accepts. */
export const DEPLOY_TOKEN_SCOPES = [
    "read_repository",
    "read_registry",
    "write_registry",
    "read_package_registry",
    "write_package_registry",
    "read_virtual_registry",
    "write_virtual_registry",
] as const;
export type DeployTokenScope = (typeof DEPLOY_TOKEN_SCOPES)[number];

/** The scopes a deploy token gets when none are asked for: only image pulls. */
export const DEFAULT_DEPLOY_TOKEN_SCOPES: readonly DeployTokenScope[] = ["read_registry"];

/**
 * Why a deploy token's scopes are refused (an empty list, or a scope GitLab does not know), with
 * the refused scopes; undefined when they are fine. Scopes for which `skip` is true (not known yet)
 * are not checked.
 */
export function deployTokenScopesProblem(
    scopes: readonly unknown[],
    skip: (scope: unknown) => boolean = () => false,
): { reason: string; refused: unknown[] } | undefined {
    const refused = scopes.filter((s) => !skip(s) && !(DEPLOY_TOKEN_SCOPES as readonly unknown[]).includes(s));
    return scopes.length === 0 || refused.length > 0 ? { reason: `must be one or more of ${DEPLOY_TOKEN_SCOPES.join(", ")}`, refused } : undefined;
}

/** app/models/container_expiration_policy.rb: the only values the cleanup policy accepts. */
export const CLEANUP_CADENCES = ["1d", "7d", "14d", "1month", "3month"] as const;
export const CLEANUP_KEEP_N = [1, 5, 10, 25, 50, 100] as const;
export const CLEANUP_OLDER_THAN = ["7d", "14d", "30d", "90d"] as const;
export type CleanupCadence = (typeof CLEANUP_CADENCES)[number];
export type CleanupKeepN = (typeof CLEANUP_KEEP_N)[number];
export type CleanupOlderThan = (typeof CLEANUP_OLDER_THAN)[number];

/** Version tags as promotion writes them (`v1.2.3`, `1.2.3`, `v1.2.3-rc.1`): the user's part of the keep regex when none is set. */
export const VERSION_TAG_REGEX = "^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$";

/**
 * What a cleanup policy left unsaid means, in the config reader and the provider: every day,
 * delete tags older than 14 days beyond the newest 10, never a version tag (nor, whatever the
 * settings, a release tag: see `keepRegexWithReleaseTags`).
 */
export const CLEANUP_DEFAULTS = { enabled: true, cadence: "1d", keepN: 10, olderThan: "14d", nameRegexDelete: ".*", nameRegexKeep: VERSION_TAG_REGEX } as const;

/**
 * container_expiration_policies.name_regex_keep is a text column limited to 255 characters
 * (db/migrate/…_add_name_regex_keep_to_container_expiration_policies.rb: `add_text_limit … 255`).
 */
export const CLEANUP_KEEP_REGEX_MAX = 255;

const KEEP_HEAD = "(?:(?:";
const KEEP_TAIL = `)|(?:${RELEASE_TAG_REGEX}))`;

/**
 * The keep regex the cleanup policy is sent: the user's keep regex OR every release tag
 * (components/release/ledger.ts `RELEASE_TAG_REGEX`, what `releaseTag()` makes), so that no
 * setting lets GitLab delete a release's immutable tag. The whole is one group because GitLab
 * wraps the pattern as `\A<pattern>\Z` by string concatenation: without the outer group `\A`
 * would bind to the user's alternative only. Idempotent: a regex already of this form is returned
 * as it is (it already keeps every release tag).
 */
export function keepRegexWithReleaseTags(userKeep: string): string {
    return userPartOfKeepRegex(userKeep) !== undefined ? userKeep : `${KEEP_HEAD}${userKeep}${KEEP_TAIL}`;
}

/** The user's part of a keep regex built by `keepRegexWithReleaseTags`, or undefined when `sent` is not of that form. */
export function userPartOfKeepRegex(sent: string): string | undefined {
    return sent.startsWith(KEEP_HEAD) && sent.endsWith(KEEP_TAIL) && sent.length >= KEEP_HEAD.length + KEEP_TAIL.length
        ? sent.slice(KEEP_HEAD.length, sent.length - KEEP_TAIL.length)
        : undefined;
}

/** Why a user's keep regex is too long once the release tags are added (GitLab stores at most 255 characters); undefined when it fits. */
export function keepRegexLengthProblem(keep: string): string | undefined {
    const userKeep = userPartOfKeepRegex(keep) ?? keep;
    const sent = keepRegexWithReleaseTags(userKeep).length;
    const room = CLEANUP_KEEP_REGEX_MAX - (KEEP_HEAD.length + KEEP_TAIL.length);
    return sent > CLEANUP_KEEP_REGEX_MAX
        ? `is ${userKeep.length} characters; with the release tag pattern added GitLab stores at most ${CLEANUP_KEEP_REGEX_MAX}, so it may have at most ${room}`
        : undefined;
}

/**
 * Resource groups API (doc/api/resource_groups.md, "Edit an existing resource group":
 * `process_mode`) and app/models/ci/resource_group.rb `RESOURCE_GROUP_PROCESS_MODES`
 * (`newest_ready_first` since GitLab 18.x, gitlab-org/gitlab!188049). GitLab makes every new group
 * `unordered`, which can run an older pipeline's deploy after a newer one.
 */
export const RESOURCE_GROUP_PROCESS_MODES = ["unordered", "oldest_first", "newest_first", "newest_ready_first"] as const;
export type ResourceGroupProcessMode = (typeof RESOURCE_GROUP_PROCESS_MODES)[number];

/** What a resource group left unsaid means, in the config reader, the component and the provider: deploys in pipeline order. */
export const RESOURCE_GROUP_DEFAULTS = { processMode: "oldest_first" } as const;

/** Why a process mode is refused; undefined when GitLab accepts it. */
export function processModeProblem(mode: unknown): string | undefined {
    return (RESOURCE_GROUP_PROCESS_MODES as readonly unknown[]).includes(mode) ? undefined : `must be one of ${RESOURCE_GROUP_PROCESS_MODES.join(", ")}`;
}

/**
 * What the provider prints when the stack's resource group is not there yet: GitLab makes a
 * resource group only when a job using it first runs, and its API has no create.
 */
export function resourceGroupNotYetWarning(key: string, processMode: string, project: string): string {
    return (
        `GitLab: resource group ${key} does not exist yet in project ${project}, so its process mode is not set: ` +
        `GitLab creates it when the first job with resource_group: ${key} runs (the API cannot create one), and the next pulumi up sets it to ${processMode}.`
    );
}

/**
 * What a CI/CD variable left unsaid means, in every layer (the config reader, the component, the
 * provider): masked, because these are settings that used to be typed in by hand as masked; not
 * protected, expanded, an environment variable.
 */
export const VARIABLE_DEFAULTS = { masked: true, protected: false, raw: false, variableType: "env_var" } as const;

/**
 * Why `value` cannot be masked, as short phrases (empty when it can). The value itself never
 * appears in the result: these phrases end up in error messages and logs.
 *
 * `otherNames` are names of CI/CD variables the value must not equal (GitLab docs: a masked value
 * must "not match the name of an existing predefined or custom CI/CD variable").
 */
export function maskingProblems(value: string, options: { raw?: boolean; otherNames?: readonly string[] } = {}): string[] {
    const problems: string[] = [];
    // GitLab counts characters (Ruby strings), not UTF-16 code units.
    const length = Array.from(value).length;
    if (length < 8) {
        problems.push(`it has ${length} character${length === 1 ? "" : "s"}; a masked value needs at least 8`);
    }
    if (/[\r\n]/.test(value)) {
        problems.push("it spans more than one line; a masked value must be a single line");
    }
    if (/[ \t\v\f]/.test(value)) {
        problems.push("it contains spaces or tabs");
    }
    if (!options.raw) {
        // Counted, never shown: naming the offending characters would leak part of a secret into logs.
        const bad = Array.from(value).filter((ch) => !/^[a-zA-Z0-9_+=/@:.~-]$/.test(ch) && !/^[ \t\n\v\f\r]$/.test(ch)).length;
        if (bad > 0) {
            problems.push(
                `it contains ${bad} character${bad === 1 ? "" : "s"} outside A-Z a-z 0-9 + / = - _ @ : . ~ (the only ones an expanded masked value may use; set raw: true to allow any character except whitespace)`,
            );
        }
    }
    if (options.otherNames && options.otherNames.includes(value)) {
        problems.push("it equals the name of a CI/CD variable");
    }
    return problems;
}

/** True when GitLab accepts `value` for a masked variable with the given `raw` flag. */
export function isMaskable(value: string, raw = false): boolean {
    return (raw ? MASKABLE_RAW_VALUE : MASKABLE_VALUE).test(value);
}

/**
 * Problems with one variable's settings, each a full sentence naming the variable by key and
 * scope. `value` may be undefined when it is not known yet (an unresolved Output).
 */
export function variableProblems(v: {
    key: string;
    value?: string;
    masked?: boolean;
    raw?: boolean;
    environmentScope?: string;
    variableType?: string;
    otherNames?: readonly string[];
}): string[] {
    const problems: string[] = [];
    const scope = v.environmentScope ?? "*";
    const name = `GitLab variable ${v.key} (scope ${scope})`;
    if (!VARIABLE_KEY.test(v.key)) {
        problems.push(`${JSON.stringify(v.key)} is not a valid GitLab variable key: use at most 255 of A-Z a-z 0-9 _`);
    }
    if (!ENVIRONMENT_SCOPE.test(scope)) {
        problems.push(
            `${name}: environment scope ${JSON.stringify(scope)} is invalid: use letters, digits, _ / $ { } . - * or space (at most 255), or * for all environments`,
        );
    }
    if (v.variableType !== undefined && v.variableType !== "env_var" && v.variableType !== "file") {
        problems.push(`${name}: variableType must be env_var or file (got ${JSON.stringify(v.variableType)})`);
    }
    if (v.masked && v.value !== undefined) {
        const why = maskingProblems(v.value, { raw: v.raw, otherNames: v.otherNames });
        if (why.length > 0) {
            problems.push(`${name} cannot be masked: ${why.join("; ")}. Change the value, or set masked: false`);
        }
    }
    return problems;
}

export function environmentNameProblem(name: string): string | undefined {
    if (!ENVIRONMENT_NAME.test(name)) {
        return `GitLab environment name ${JSON.stringify(name)} is invalid: use letters, digits, _ / $ { } . - or space (at most 255), not starting or ending with /`;
    }
    return undefined;
}

/** GitLab stores external_url only for http(s) URLs (Environment model: `addressable_url`). */
export function externalUrlProblem(url: string): string | undefined {
    if (!HTTP_URL_PATTERN.test(url) || url.length > 255) {
        return `GitLab environment external URL ${JSON.stringify(url)} is invalid: use an http:// or https:// URL of at most 255 characters`;
    }
    return undefined;
}

/**
 * Cleanup-policy regexes are run by GitLab with RE2 (`untrusted_regexp`), which has no
 * backreferences or lookaround. A regex that JavaScript rejects, or that uses those features,
 * would be refused by GitLab or silently behave differently.
 */
export function cleanupRegexProblem(regex: string): string | undefined {
    try {
        new RegExp(regex);
    } catch (e) {
        return `is not a valid regular expression (${(e as Error).message})`;
    }
    if (/\(\?[=!<]|\\[1-9]|\\k</.test(regex)) {
        return "uses lookaround or a backreference, which GitLab's RE2 engine does not support";
    }
    return undefined;
}

/**
 * Problems with a registry cleanup policy's settings, in the order cadence, keepN, olderThan,
 * nameRegexDelete, nameRegexKeep. Each reason is `prefix` followed by the setting's name; a value
 * for which `skip` is true (not given, or not known yet) is not checked.
 */
export function cleanupPolicyProblems(
    p: {
        readonly cadence?: unknown;
        readonly keepN?: unknown;
        readonly olderThan?: unknown;
        readonly nameRegexDelete?: unknown;
        readonly nameRegexKeep?: unknown;
    },
    prefix: string,
    skip: (value: unknown) => boolean,
): { property: string; reason: string }[] {
    const out: { property: string; reason: string }[] = [];
    const oneOf = (property: "cadence" | "keepN" | "olderThan", allowed: readonly unknown[]) => {
        const value = p[property];
        if (!skip(value) && !allowed.includes(value)) {
            out.push({ property, reason: `${prefix}${property} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})` });
        }
    };
    oneOf("cadence", CLEANUP_CADENCES);
    oneOf("keepN", CLEANUP_KEEP_N);
    oneOf("olderThan", CLEANUP_OLDER_THAN);
    for (const property of ["nameRegexDelete", "nameRegexKeep"] as const) {
        const value = p[property];
        const why = skip(value)
            ? undefined
            : (cleanupRegexProblem(value as string) ?? (property === "nameRegexKeep" ? keepRegexLengthProblem(value as string) : undefined));
        if (why) out.push({ property, reason: `${prefix}${property} ${why}` });
    }
    return out;
}

/** The GitLab environment a stack deploys to: `review-<slug>` stacks go to `review/<slug>`. */
export function environmentNameForStack(stack: string): string {
    const review = /^review-(.+)$/.exec(stack);
    return review ? `review/${review[1]}` : stack;
}

/** The tier GitLab would infer for such a name (its `guess_tier` rules, simplified). */
export function tierForEnvironment(name: string): EnvironmentTier {
    if (/^(production|prod|live)$/i.test(name)) {
        return "production";
    }
    if (/^(staging|stage|pre-?prod|model|demo)$/i.test(name)) {
        return "staging";
    }
    if (/^(review|dev|development|trunk)(\/|$)/i.test(name)) {
        return "development";
    }
    if (/^(test|testing|qa|uat|acc)/i.test(name)) {
        return "testing";
    }
    return "other";
}

/**
 * The one rule for a deploy token's expiry (GitLab: `expires_at`, "in ISO 8601 format"): a date
 * written `YYYY-MM-DD` that exists on the calendar. `Date.parse` accepts `2030-02-30` (as 2 March)
 * and `12/31/2030`, which GitLab refuses or reads differently. Undefined when it is fine.
 */
export function isoDateProblem(value: string): string | undefined {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
    const why = "must be a calendar date written YYYY-MM-DD, such as 2026-12-31";
    if (!m) {
        return why;
    }
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    if (month < 1 || month > 12 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
        return why;
    }
    return undefined;
}
