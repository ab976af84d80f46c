/**
 * Which tags GitLab's container registry cleanup policy deletes, as a pure function of the tags,
 * the policy's values and the time it runs: GitLab's documented selection, so that tests can
 * prove properties of the policy this program sends (release tags are never deleted) without a
 * registry.
 *
 * GitLab docs, user/packages/container_registry/reduce_container_registry_storage.md, "How the
 * cleanup policy works" ("collects all tags in the container registry and excludes tags until the
 * only tags you want to delete remain"); the policy:
 *   1. Collects all tags for a given repository in a list.
 *   2. Excludes the tag named `latest`.
 *   3. Evaluates the `name_regex` (tags to expire), excluding non-matching names.
 *   4. Excludes any tags matching the `name_regex_keep` value (tags to preserve).
 *   5. Excludes any tags that do not have a manifest (not part of the options in the UI).
 *   6. Orders the remaining tags by `created_date`.
 *   7. Excludes the N tags based on the `keep_n` value (Number of tags to retain): the N most
 *      recent (development/packages/cleanup_policies.md: "keep_n. Keep the n most recent tags").
 *   8. Excludes the tags more recent than the `older_than` value (Expiration interval).
 *   9. Excludes protected tags.
 *  10. Deletes the remaining tags in the list from the container registry.
 * and, same page, "Regex pattern examples": "Regex patterns are automatically surrounded with `\A`
 * and `\Z` anchors", so a pattern must match the whole tag name.
 *
 * Steps 5 and 9 depend on registry state the policy has no value for (a tag here always has a
 * manifest, and none is protected); step 8 keeps a tag created at or after `now - older_than` and
 * deletes one created before it. Tags created at the same instant keep their given order in step 7.
 *
 * GitLab runs the patterns with RE2; JavaScript's RegExp runs them here. For the patterns this
 * program sends and accepts (cleanupRegexProblem refuses lookaround and backreferences, the only
 * JavaScript features RE2 lacks that those patterns could use, and tag names are ASCII
 * `[A-Za-z0-9_.-]`, so `\Z` before a final newline never differs from the end) both engines
 * match the same names.
 */

/** One tag of a repository, with when its manifest was created. */
export interface RegistryTagInfo {
    readonly name: string;
    /** Milliseconds since the epoch, or an ISO date. */
    readonly createdAt: number | string;
}

/** The policy values the selection reads, as the API names them (null: not set). */
export interface CleanupSelectionPolicy {
    /** Tags that may be deleted (`name_regex`, also called `name_regex_delete`). */
    readonly nameRegexDelete: string;
    /** Tags always kept (`name_regex_keep`); null or empty keeps none by name. */
    readonly nameRegexKeep: string | null;
    /** The most recent tags kept (`keep_n`); null keeps none by count. */
    readonly keepN: number | null;
    /** Only tags older than this are deleted (`older_than`, `7d`, `14d`, `30d`, `90d`); null: any age. */
    readonly olderThan: string | null;
}

/** `7d` → milliseconds. The policy accepts only whole days for older_than (app/models/container_expiration_policy.rb). */
export function olderThanMs(olderThan: string): number {
    const m = /^([0-9]+)d$/.exec(olderThan);
    if (!m) {
        throw new Error(`older_than ${JSON.stringify(olderThan)} is not a number of days such as 14d`);
    }
    return Number(m[1]) * 86_400_000;
}

/** GitLab's anchoring: `\A<pattern>\Z`, the pattern as one unit. */
function anchored(pattern: string): RegExp {
    return new RegExp(`^(?:${pattern})$`);
}

/** The names of the tags GitLab's cleanup policy deletes when it runs at `now`, in the order given. */
export function tagsToDelete(tags: readonly RegistryTagInfo[], policy: CleanupSelectionPolicy, now: number | string): string[] {
    const at = (t: RegistryTagInfo) => (typeof t.createdAt === "number" ? t.createdAt : Date.parse(t.createdAt));
    const remove = anchored(policy.nameRegexDelete);
    const keep = policy.nameRegexKeep ? anchored(policy.nameRegexKeep) : undefined;
    // 1-4: all tags, but `latest`, those the delete regex does not match, and those the keep regex matches.
    const candidates = tags.filter((t) => t.name !== "latest" && remove.test(t.name) && !(keep && keep.test(t.name)));
    // 6-7: the keep_n most recent of the rest are kept.
    const newestFirst = candidates.map((t, i) => ({ t, i })).sort((a, b) => at(b.t) - at(a.t) || a.i - b.i);
    const beyondKeepN = newestFirst.slice(policy.keepN ?? 0).map((x) => x.t);
    // 8: tags more recent than older_than are kept.
    const cutoff = (typeof now === "number" ? now : Date.parse(now)) - (policy.olderThan ? olderThanMs(policy.olderThan) : 0);
    const expired = new Set(beyondKeepN.filter((t) => policy.olderThan === null || at(t) < cutoff));
    return tags.filter((t) => expired.has(t)).map((t) => t.name);
}
