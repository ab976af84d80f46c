import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    GITLAB_NOTE_LIMIT,
    MAX_COMMIT_LINES,
    buildReleaseSummary,
    commitLines,
    composeNote,
    imageLine,
    policyLine,
    previewBudget,
    settingsLine,
    type SummaryInput,
} from "../../../cli/releaseSummary";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;
const C1 = "1111111111111111111111111111111111111111";
const C2 = "2222222222222222222222222222222222222222";
const SETTINGS = { env: { APP_ENV: "staging", LOG_LEVEL: "info" }, secrets: { DB_PASSWORD: "hmac-1", API_KEY: "hmac-2" } };

const base = (over: Partial<SummaryInput> = {}): SummaryInput => ({
    stack: "staging",
    running: { version: "v7", digest: D1, commitSha: C1, settings: SETTINGS },
    candidate: { digest: D2, rebuild: false, commitSha: C2, settings: SETTINGS },
    commits: ["2222222 feature: login form", "3333333 fix: typo"],
    policy: [],
    ...over,
});

describe("release summary: the image", () => {
    it("names the digest that runs and the one merging would run", () => {
        expect(imageLine(base().running, base().candidate)).toBe(`**Image:** \`${D1}\` → \`${D2}\``);
    });

    it("says rebuild needed when the preview builds the image, with what runs now", () => {
        const line = imageLine(base().running, { rebuild: true, commitSha: C2 });
        expect(line).toContain("rebuild needed");
        expect(line).toContain(`v7 runs \`${D1}\``);
        // A digest the preview happened to show does not count once the image is rebuilt.
        expect(imageLine(base().running, { rebuild: true, digest: D2 })).toContain("rebuild needed");
        // An unknown value (the engine's placeholder for a computed output) is no digest.
        expect(imageLine(base().running, { rebuild: false, digest: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).toContain("rebuild needed");
    });

    it("says unchanged when the digest is the same, and nothing runs yet for a new stack", () => {
        expect(imageLine(base().running, { rebuild: false, digest: D1 })).toBe(`**Image:** unchanged, \`${D1}\``);
        expect(imageLine(undefined, { rebuild: false, digest: D2 })).toBe(`**Image:** \`${D2}\` (nothing runs yet)`);
        expect(imageLine(undefined, { rebuild: true })).toContain("nothing runs yet");
    });
});

describe("release summary: the commits", () => {
    it("gives the range running..candidate and the git log lines", () => {
        expect(commitLines(base())).toEqual(["**Commits:** `11111111..22222222` (2 commits)", "  - `2222222 feature: login form`", "  - `3333333 fix: typo`"]);
    });

    it("keeps the range when git log could not be read, with the reason", () => {
        expect(commitLines(base({ commits: undefined, commitsNote: "11111111 is not in this clone" }))).toEqual([
            "**Commits:** `11111111..22222222` (11111111 is not in this clone)",
        ]);
    });

    it("caps the log and counts the rest; no backtick in a subject can break the line", () => {
        const many = Array.from({ length: MAX_COMMIT_LINES + 7 }, (_, i) => `${String(i).padStart(7, "0")} subject with \`code\``);
        const lines = commitLines(base({ commits: many }));
        expect(lines[0]).toBe(`**Commits:** \`11111111..22222222\` (${MAX_COMMIT_LINES + 7} commits)`);
        expect(lines).toHaveLength(MAX_COMMIT_LINES + 2);
        expect(lines.at(-1)).toBe("  - … and 7 more");
        expect(lines[1]).toBe("  - `0000000 subject with 'code'`");
    });

    it("says none when the commit runs already, and names the commit for a first release", () => {
        expect(commitLines(base({ candidate: { ...base().candidate, commitSha: C1 } }))).toEqual(["**Commits:** none: `11111111` runs already"]);
        expect(commitLines(base({ running: undefined }))).toEqual(["**Commits:** up to `22222222` (nothing runs yet)"]);
        expect(commitLines(base({ commits: [] }))[0]).toContain("is behind what runs");
    });
});

describe("release summary: the settings, keys only", () => {
    it("lists changed, added and removed keys and never a value or a hash", () => {
        const line = settingsLine(base().running, {
            rebuild: false,
            settings: { env: { APP_ENV: "staging", LOG_LEVEL: "debug", NEW_FLAG: "flag-value-9" }, secrets: { DB_PASSWORD: "hmac-CHANGED" } },
        });
        expect(line).toBe(
            "**Settings:** `env.LOG_LEVEL` changed, `secretEnv.DB_PASSWORD` changed, `env.NEW_FLAG` added, `secretEnv.API_KEY` removed (keys only, values are not shown)",
        );
        for (const value of ["debug", "info", "hmac-CHANGED", "hmac-1", "hmac-2", "flag-value-9"]) {
            expect(line).not.toContain(value);
        }
    });

    it("says no setting changed, and unknown when either side is missing", () => {
        expect(settingsLine(base().running, base().candidate)).toBe("**Settings:** no setting changed (keys only, values are not shown)");
        expect(settingsLine(base().running, { rebuild: false })).toContain("unknown");
        expect(settingsLine({ digest: D1 }, base().candidate)).toContain("unknown (what runs has no recorded settings)");
        expect(settingsLine(undefined, base().candidate)).toBe(
            "**Settings:** `env.APP_ENV`, `env.LOG_LEVEL`, `secretEnv.API_KEY`, `secretEnv.DB_PASSWORD` (first release; keys only)",
        );
    });
});

describe("release summary: the policy result", () => {
    it("passes with no violation, counting advisory notes apart", () => {
        expect(policyLine([])).toEqual(["**Policy:** passed"]);
        expect(policyLine([{ policyName: "images-pinned-by-digest", enforcementLevel: "advisory", message: "unknown during preview" }])).toEqual([
            "**Policy:** passed (1 advisory note)",
        ]);
    });

    it("lists each violation with its policy, level and resource", () => {
        const lines = policyLine([
            {
                policyName: "promotion-only-stacks-never-build",
                enforcementLevel: "mandatory",
                message: "production must not build\n  an image",
                resourceUrn: "urn:pulumi:production::delivery::docker-build:index:Image::app-image",
            },
            { policyName: "kubernetes-deployments-hardened", enforcementLevel: "warning", message: "no liveness probe" },
        ]);
        expect(lines).toEqual([
            "**Policy:** 2 violations (1 mandatory: merging would fail)",
            "  - `promotion-only-stacks-never-build` (mandatory) on `app-image`: production must not build an image",
            "  - `kubernetes-deployments-hardened` (warning): no liveness probe",
        ]);
    });
});

describe("release summary: the whole", () => {
    it("puts image, commits, settings and policy under one heading naming the version that runs", () => {
        const text = buildReleaseSummary(base());
        expect(text.split("\n")[0]).toBe("**Merging releases into `staging`** (against v7, what `staging` runs now):");
        expect(text).toMatch(
            /- \*\*Image:\*\*[^\n]*\n- \*\*Commits:\*\*[^\n]*\n {2}- [^\n]*\n {2}- [^\n]*\n- \*\*Settings:\*\*[^\n]*\n- \*\*Policy:\*\* passed$/,
        );
    });

    it("says the preview failed, and still what it knows", () => {
        const text = buildReleaseSummary(base({ previewFailed: true, running: undefined }));
        expect(text).toContain("**The preview failed**");
        expect(text).toContain("which runs no release yet");
        expect(text).toContain("**Policy:** passed");
    });
});

describe("fitting the note under GitLab's limit: the summary is kept, the preview is cut", () => {
    const parts = (preview: string, head: string, maxPreviewChars: number, noteLimit = GITLAB_NOTE_LIMIT) => ({
        head,
        previewOpen: "{fence}diff",
        previewClose: "{fence}",
        tail: "footer",
        preview,
        maxPreviewChars,
        noteLimit,
        cutNotice: (shown: number, total: number) => `cut at ${shown} of ${total}; full preview: artifact`,
    });

    it("is the limit GitLab's Notes API documents", () => {
        expect(GITLAB_NOTE_LIMIT).toBe(1_000_000);
    });

    it("keeps a small preview whole, with no notice", () => {
        const r = composeNote(parts("line 1\nline 2", "HEAD", 60_000));
        expect(r).toEqual({ body: "HEAD\n```diff\nline 1\nline 2\n```\nfooter", cut: false, shownChars: 13 });
    });

    it("cuts at MR_NOTE_MAX_CHARS at a line, keeps the summary and says where the rest is", () => {
        const preview = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join("\n");
        const r = composeNote(parts(preview, "SUMMARY", 1000));
        expect(r.cut).toBe(true);
        expect(r.shownChars).toBeLessThanOrEqual(1000);
        expect(r.body.startsWith("SUMMARY\n```diff\nline 0\n")).toBe(true);
        expect(r.body).toContain(`cut at ${r.shownChars} of ${preview.length}; full preview: artifact`);
        expect(r.body).toMatch(/line [0-9]+\n```\ncut at/);
    });

    it("cuts a preview past GitLab's limit even under a larger MR_NOTE_MAX_CHARS, the note ending within the limit", () => {
        const preview = "x".repeat(99) + "\n" + ("y".repeat(99) + "\n").repeat(12_000);
        const summary = "S".repeat(50_000);
        const r = composeNote(parts(preview, summary, 5_000_000));
        expect(r.cut).toBe(true);
        expect(r.body.length).toBeLessThanOrEqual(GITLAB_NOTE_LIMIT);
        expect(r.body.length).toBeGreaterThan(GITLAB_NOTE_LIMIT - 1000);
        expect(r.body.startsWith(summary)).toBe(true);
    });

    it("keeps the summary whole and the note within the limit at any preview size (property)", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 400 }),
                fc.array(fc.string({ maxLength: 120 }), { maxLength: 200 }),
                fc.integer({ min: 0, max: 5000 }),
                fc.integer({ min: 1500, max: 6000 }),
                (summary, lines, max, limit) => {
                    const preview = lines.join("\n");
                    const r = composeNote(parts(preview, summary, max, limit));
                    const fixed = composeNote(parts("", summary, max, limit)).body.length;
                    return (
                        r.body.startsWith(summary + "\n") &&
                        (r.body.length <= limit || fixed + 80 > limit) &&
                        r.cut === r.shownChars < preview.length &&
                        r.body.includes(preview.slice(0, r.shownChars))
                    );
                },
            ),
            { numRuns: 300 },
        );
    });

    it("gives the preview nothing, but keeps the summary, when the summary alone fills the note", () => {
        const r = composeNote(parts("p".repeat(10_000), "S".repeat(3_000), 60_000, 3_000));
        expect(r.cut).toBe(true);
        expect(r.shownChars).toBe(0);
        expect(r.body.startsWith("S".repeat(3_000))).toBe(true);
        expect(previewBudget({ fixedChars: 3_100, maxPreviewChars: 60_000, noteLimit: 3_000 })).toBe(0);
        expect(previewBudget({ fixedChars: 100, maxPreviewChars: 500, noteLimit: 3_000 })).toBe(500);
    });
});
