import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cleanupPolicyProvider } from "../../../components/gitlab/cleanupPolicy";
import { type CleanupSelectionPolicy, type RegistryTagInfo, tagsToDelete } from "../../../components/gitlab/cleanupSelection";
import {
    CLEANUP_DEFAULTS,
    CLEANUP_KEEP_N,
    CLEANUP_OLDER_THAN,
    cleanupRegexProblem,
    keepRegexLengthProblem,
    VERSION_TAG_REGEX,
} from "../../../components/gitlab/gitlabRules";
import { releaseTag, RELEASE_TAG_REGEX, versionOf } from "../../../components/release/ledger";

/**
 * GitLab's documented cleanup selection (user/packages/container_registry/
 * reduce_container_registry_storage.md, "How the cleanup policy works"), one example per rule,
 * then the property the program's keep regex exists for: no release tag is ever deleted.
 */

const DAY = 86_400_000;
const NOW = Date.parse("2026-06-01T00:00:00Z");
const daysAgo = (n: number) => NOW - n * DAY;
const tag = (name: string, ageDays: number): RegistryTagInfo => ({ name, createdAt: daysAgo(ageDays) });
const policy = (p: Partial<CleanupSelectionPolicy> = {}): CleanupSelectionPolicy => ({
    nameRegexDelete: ".*",
    nameRegexKeep: null,
    keepN: null,
    olderThan: null,
    ...p,
});

describe("tagsToDelete: GitLab's rules, one example each", () => {
    it("considers all tags: with nothing kept, every tag is deleted", () => {
        expect(tagsToDelete([tag("a", 1), tag("b", 2)], policy(), NOW)).toEqual(["a", "b"]);
    });

    it("always keeps `latest`, even when the delete regex matches it and it is old", () => {
        expect(tagsToDelete([tag("latest", 400), tag("old", 400)], policy({ nameRegexDelete: "latest|old" }), NOW)).toEqual(["old"]);
    });

    it("keeps tags the delete regex (name_regex) does not match, anchored \\A…\\Z: a partial match is no match", () => {
        const tags = [tag("main", 30), tag("feature-x", 30), tag("x-feature", 30)];
        expect(tagsToDelete(tags, policy({ nameRegexDelete: "feature-.*" }), NOW)).toEqual(["feature-x"]);
        // `feature` alone matches no whole name: nothing is deleted.
        expect(tagsToDelete(tags, policy({ nameRegexDelete: "feature" }), NOW)).toEqual([]);
    });

    it("keeps tags the keep regex (name_regex_keep) matches, which wins over the delete regex; also anchored", () => {
        const tags = [tag("v1.2.3", 60), tag("v1.2.3-rc.1", 60), tag("main", 60), tag("xv1.2.3", 60)];
        expect(tagsToDelete(tags, policy({ nameRegexKeep: "v.+" }), NOW)).toEqual(["main", "xv1.2.3"]);
        expect(tagsToDelete(tags, policy({ nameRegexKeep: VERSION_TAG_REGEX }), NOW)).toEqual(["main", "xv1.2.3"]);
        // An empty keep regex keeps nothing by name.
        expect(tagsToDelete(tags, policy({ nameRegexKeep: "" }), NOW)).toEqual(tags.map((t) => t.name));
    });

    it("orders the rest by created date and keeps the keep_n most recent, whatever the order given", () => {
        const tags = [tag("c", 30), tag("a", 50), tag("e", 10), tag("b", 40), tag("d", 20)];
        expect(tagsToDelete(tags, policy({ keepN: 2 }), NOW)).toEqual(["c", "a", "b"]);
        // keep_n counts only tags the regexes left: `latest` and kept names take no slot.
        expect(tagsToDelete([...tags, tag("latest", 0), tag("v9.9.9", 0)], policy({ keepN: 2, nameRegexKeep: "v.+" }), NOW)).toEqual(["c", "a", "b"]);
    });

    it("keeps tags more recent than older_than; one created before now - older_than is deleted", () => {
        const tags = [tag("new", 13), tag("edge", 14), tag("old", 15)];
        expect(tagsToDelete(tags, policy({ olderThan: "14d" }), NOW)).toEqual(["old"]);
        expect(tagsToDelete([{ name: "just-old", createdAt: daysAgo(14) - 1 }], policy({ olderThan: "14d" }), NOW)).toEqual(["just-old"]);
    });

    it("applies the rules together in GitLab's order (the default policy: keep 10, older than 14d, delete .*)", () => {
        const tags = Array.from({ length: 14 }, (_, i) => tag(`build-${i}`, i * 3)); // ages 0, 3, …, 39 days
        const deleted = tagsToDelete(
            [...tags, tag("latest", 90), tag("v1.0.0", 90)],
            policy({ keepN: 10, olderThan: "14d", nameRegexKeep: VERSION_TAG_REGEX }),
            NOW,
        );
        // The 10 most recent (ages 0..27) are kept by keep_n; of the rest (30..39 days) all are older than 14d.
        expect(deleted).toEqual(["build-10", "build-11", "build-12", "build-13"]);
    });

    it("reads ISO dates as well as milliseconds", () => {
        expect(tagsToDelete([{ name: "a", createdAt: "2026-01-01T00:00:00Z" }], policy({ olderThan: "90d" }), "2026-06-01T00:00:00Z")).toEqual(["a"]);
    });
});

describe("release tags are never deleted (the keep regex the provider sends)", () => {
    const STACK = /^[A-Za-z0-9_.-]{1,16}$/;
    const releaseTags = fc
        .tuple(fc.stringMatching(STACK), fc.integer({ min: 1, max: 999_999_999 }), fc.stringMatching(/^[0-9a-f]{1,40}$/))
        .map(([stack, n, id]) => releaseTag(stack, versionOf(n), id));
    const otherTags = fc.oneof(
        fc.constantFrom("latest", "main", "v1.2.3", "1.0.0", "release", "release-candidate", "staging", "review-fix"),
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,24}$/),
        fc.stringMatching(/^[0-9a-f]{40}$/),
    );
    const history = fc.array(
        fc.record({
            release: fc.boolean(),
            releaseName: releaseTags,
            otherName: otherTags,
            ageMs: fc.integer({ min: 0, max: 400 * DAY }),
        }),
        { maxLength: 60 },
    );
    // Plausible user settings; only those the settings validation accepts are used.
    const REGEXES = [".*", "", "release-.*", "v.+", "[a-z]+", VERSION_TAG_REGEX, "main|staging", "release", "release-staging-.*", "[0-9a-f]{40}", ".+-.+"];
    const keepRegex = fc.constantFrom(...REGEXES.filter((r) => cleanupRegexProblem(r) === undefined && keepRegexLengthProblem(r) === undefined));
    const deleteRegex = fc.constantFrom(...REGEXES.filter((r) => cleanupRegexProblem(r) === undefined));
    const settings = fc.record({
        keepN: fc.constantFrom(...CLEANUP_KEEP_N),
        olderThan: fc.constantFrom(...CLEANUP_OLDER_THAN),
        nameRegexKeep: keepRegex,
        nameRegexDelete: deleteRegex,
    });
    const tagsOf = (h: { release: boolean; releaseName: string; otherName: string; ageMs: number }[]) =>
        h.map((e) => ({ name: e.release ? e.releaseName : e.otherName, createdAt: NOW - e.ageMs }));
    const releasesIn = (tags: RegistryTagInfo[]) => new Set(tags.map((t) => t.name).filter((n) => new RegExp(`^(?:${RELEASE_TAG_REGEX})$`).test(n)));

    /** The keep regex exactly as the provider's check completes the policy from the user's settings. */
    async function sentKeepRegex(s: { keepN: number; olderThan: string; nameRegexKeep: string; nameRegexDelete: string }): Promise<string> {
        const { inputs, failures } = await cleanupPolicyProvider.check!(
            {},
            { gitlabUrl: "https://gitlab.example.com", gitlabToken: "t", project: "group/app", ...s },
        );
        expect(failures).toEqual([]);
        return inputs.nameRegexKeep as string;
    }

    it("RELEASE_TAG_REGEX matches every tag releaseTag() makes", () => {
        fc.assert(fc.property(releaseTags, (t) => new RegExp(`^(?:${RELEASE_TAG_REGEX})$`).test(t)));
    });

    it("for any tag history and any accepted settings, no release tag is selected for deletion", async () => {
        await fc.assert(
            fc.asyncProperty(history, settings, async (h, s) => {
                const tags = tagsOf(h);
                const deleted = tagsToDelete(tags, { ...s, nameRegexKeep: await sentKeepRegex(s) }, NOW);
                const releases = releasesIn(tags);
                return deleted.every((name) => !releases.has(name));
            }),
            { numRuns: 500 },
        );
    });

    it("with the user's keep regex alone (no release part) the same property fails: the release part is what keeps them", () => {
        let counterexample: unknown;
        try {
            fc.assert(
                fc.property(history, settings, (h, s) => {
                    const tags = tagsOf(h);
                    const releases = releasesIn(tags);
                    return tagsToDelete(tags, s, NOW).every((name) => !releases.has(name));
                }),
                { numRuns: 500 },
            );
        } catch (e) {
            counterexample = e;
        }
        expect(String(counterexample)).toMatch(/Property failed/);
    });

    it("the provider's default keeps version tags and release tags", async () => {
        const sent = await sentKeepRegex({ keepN: 1, olderThan: "7d", nameRegexKeep: CLEANUP_DEFAULTS.nameRegexKeep, nameRegexDelete: ".*" });
        const tags = [tag("v1.2.3", 400), tag("release-staging-v12-a1b2c3", 400), tag("main", 400), tag("build", 400)];
        expect(tagsToDelete(tags, policy({ keepN: 1, olderThan: "7d", nameRegexKeep: sent }), NOW)).toEqual(["build"]);
    });
});
