/**
 * What merging a merge request would release, against what a stack runs now: the image digest
 * (or that the image must be built), the commits, the settings keys that change, the policy
 * result. Pure: `delivery preview` (cli/commands/preview.ts) gathers the facts from one
 * Automation API preview and the stack's ledger, scripts/mr-note.ts puts the summary at the top
 * of the MR note and fits the `pulumi preview --diff` output under GitLab's note limit.
 */
import { type LedgerSettings, diffSettings, settingsDiffText } from "../components/release/ledger";

/**
 * GitLab refuses a note body over 1,000,000 characters (Notes API, `body`: "Limited to
 * 1,000,000 characters", https://docs.gitlab.com/api/notes/).
 */
export const GITLAB_NOTE_LIMIT = 1_000_000;

/** At most this many `git log --oneline` lines in a summary; the rest is counted. */
export const MAX_COMMIT_LINES = 50;

/** What the stack runs now: its ledger's current entry (or its `release` output). */
export interface RunningRelease {
    /** `v7`; absent for a stack whose release predates the ledger. */
    readonly version?: string;
    readonly digest?: string;
    readonly commitSha?: string;
    /** The current ledger entry's settings; absent when the stack exports none. */
    readonly settings?: LedgerSettings;
}

/** What the preview computed the stack would release. */
export interface CandidateRelease {
    /** `sha256:…` when known; a build in the preview leaves it unknown. */
    readonly digest?: string;
    /** The preview builds (creates or replaces) the image: the digest exists only after the build. */
    readonly rebuild: boolean;
    readonly commitSha?: string;
    /** The candidate ledger entry's settings (secrets as keyed hashes); absent when the preview did not show them. */
    readonly settings?: LedgerSettings;
}

/** One policy finding, from the engine's policyEvent. */
export interface PolicyFinding {
    readonly policyName: string;
    readonly policyPackName?: string;
    /** `mandatory`, `warning`, `advisory`, … */
    readonly enforcementLevel: string;
    readonly message: string;
    readonly resourceUrn?: string;
}

export interface SummaryInput {
    readonly stack: string;
    /** Absent: the stack runs no release yet. */
    readonly running?: RunningRelease;
    readonly candidate: CandidateRelease;
    /** `git log --oneline running..candidate`, newest first; absent when it could not be read. */
    readonly commits?: readonly string[];
    /** Why `commits` is absent (not a clone, commit not fetched, …). */
    readonly commitsNote?: string;
    readonly policy: readonly PolicyFinding[];
    /** The preview itself failed: the summary says so, and what it knows. */
    readonly previewFailed?: boolean;
}

const SHA = /^[0-9a-f]{7,64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const shortSha = (sha: string): string => (SHA.test(sha) ? sha.slice(0, 8) : sha);

/** A digest as given (`sha256:…`), or `unknown`. */
const digestText = (digest: string | undefined): string => (digest ? `\`${digest}\`` : "unknown");

/** The image line: from → to, rebuild needed, or unchanged. */
export function imageLine(running: RunningRelease | undefined, candidate: CandidateRelease): string {
    const from = running?.digest;
    if (candidate.rebuild || !candidate.digest || !DIGEST.test(candidate.digest)) {
        return from
            ? `**Image:** rebuild needed: this commit's image is built on merge, so its digest is not known yet (${running?.version ? `${running.version} runs` : "runs"} ${digestText(from)})`
            : "**Image:** rebuild needed: this commit's image is built on merge, so its digest is not known yet (nothing runs yet)";
    }
    if (!from) {
        return `**Image:** ${digestText(candidate.digest)} (nothing runs yet)`;
    }
    if (from === candidate.digest) {
        return `**Image:** unchanged, ${digestText(from)}`;
    }
    return `**Image:** ${digestText(from)} → ${digestText(candidate.digest)}`;
}

/** The commit range `from..to` and its `git log --oneline` lines (capped). */
export function commitLines(input: Pick<SummaryInput, "running" | "candidate" | "commits" | "commitsNote">): string[] {
    const from = input.running?.commitSha;
    const to = input.candidate.commitSha;
    if (!to) {
        return ["**Commits:** unknown (the preview named no commit)"];
    }
    if (!from) {
        return [`**Commits:** up to \`${shortSha(to)}\` (nothing runs yet)`];
    }
    if (from === to) {
        return [`**Commits:** none: \`${shortSha(to)}\` runs already`];
    }
    const range = `\`${shortSha(from)}..${shortSha(to)}\``;
    if (!input.commits) {
        return [`**Commits:** ${range}${input.commitsNote ? ` (${input.commitsNote})` : ""}`];
    }
    const n = input.commits.length;
    if (n === 0) {
        // from..to is empty: `to` is an ancestor of what runs (merging would go back).
        return [`**Commits:** ${range}: none (\`${shortSha(to)}\` is behind what runs)`];
    }
    const shown = input.commits.slice(0, MAX_COMMIT_LINES).map((l) => `  - \`${l.replace(/`/g, "'")}\``);
    const more = n > MAX_COMMIT_LINES ? [`  - … and ${n - MAX_COMMIT_LINES} more`] : [];
    return [`**Commits:** ${range} (${n} commit${n === 1 ? "" : "s"})`, ...shown, ...more];
}

/** Settings keys that change; never a value (secrets are keyed hashes anyway, and plain values stay out too). */
export function settingsLine(running: RunningRelease | undefined, candidate: CandidateRelease): string {
    if (!candidate.settings) {
        return "**Settings:** unknown (the preview did not show the candidate's settings)";
    }
    if (!running) {
        const keys = [
            ...Object.keys(candidate.settings.env ?? {}).map((k) => `env.${k}`),
            ...Object.keys(candidate.settings.secrets ?? {}).map((k) => `secretEnv.${k}`),
        ];
        return `**Settings:** ${
            keys.length > 0
                ? keys
                      .sort()
                      .map((k) => `\`${k}\``)
                      .join(", ")
                : "none"
        } (first release; keys only)`;
    }
    if (!running.settings) {
        return "**Settings:** unknown (what runs has no recorded settings)";
    }
    const text = settingsDiffText(diffSettings(running.settings, candidate.settings));
    return `**Settings:** ${text.replace(/((?:env|secretEnv)\.[^\s,]+)/g, "`$1`")} (keys only, values are not shown)`;
}

/** `passed`, or the violations; advisory notes (a check skipped on an unknown value) are counted, not failures. */
export function policyLine(policy: readonly PolicyFinding[]): string[] {
    const violations = policy.filter((p) => p.enforcementLevel === "mandatory" || p.enforcementLevel === "warning");
    const advisory = policy.length - violations.length;
    const notes = advisory > 0 ? ` (${advisory} advisory note${advisory === 1 ? "" : "s"})` : "";
    if (violations.length === 0) {
        return [`**Policy:** passed${notes}`];
    }
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const head = `**Policy:** ${violations.length} violation${violations.length === 1 ? "" : "s"}${mandatory > 0 ? ` (${mandatory} mandatory: merging would fail)` : ""}${notes}`;
    const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
    return [
        head,
        ...violations.map((v) => {
            const resource = v.resourceUrn ? ` on \`${v.resourceUrn.split("::").pop()}\`` : "";
            return `  - \`${v.policyName}\` (${v.enforcementLevel})${resource}: ${oneLine(v.message)}`;
        }),
    ];
}

/** The summary, Markdown: what merging would release into `stack` against what it runs now. */
export function buildReleaseSummary(input: SummaryInput): string {
    const against = input.running
        ? input.running.version
            ? `${input.running.version}, what \`${input.stack}\` runs now`
            : `what \`${input.stack}\` runs now`
        : `\`${input.stack}\`, which runs no release yet`;
    return [
        `**Merging releases into \`${input.stack}\`** (against ${against}):`,
        "",
        ...(input.previewFailed ? ["**The preview failed**: what follows is what it showed before it stopped; the reason is in the preview below.", ""] : []),
        `- ${imageLine(input.running, input.candidate)}`,
        ...commitLines(input).map((l, i) => (i === 0 ? `- ${l}` : l)),
        `- ${settingsLine(input.running, input.candidate)}`,
        ...policyLine(input.policy).map((l, i) => (i === 0 ? `- ${l}` : l)),
    ].join("\n");
}

/** Cuts at a line boundary so that at most `max` characters remain (0 or less: nothing). */
export function cutAtLine(text: string, max: number): { text: string; cut: boolean } {
    if (text.length <= max) return { text, cut: false };
    if (max <= 0) return { text: "", cut: true };
    const slice = text.slice(0, max);
    const nl = slice.lastIndexOf("\n");
    return { text: nl > max / 2 ? slice.slice(0, nl) : slice, cut: true };
}

/**
 * How much of the preview a note can hold: at most `maxPreviewChars`, and no more than what is
 * left of `noteLimit` once everything else (`fixedChars`: marker, summary, fences, the cut
 * notice) is in. The summary is never cut; only the preview gives way.
 */
export function previewBudget(options: { fixedChars: number; maxPreviewChars: number; noteLimit?: number }): number {
    const limit = options.noteLimit ?? GITLAB_NOTE_LIMIT;
    return Math.max(0, Math.min(options.maxPreviewChars, limit - options.fixedChars));
}

export interface NoteParts {
    /** Before the preview (marker, title, summary): always kept whole. */
    readonly head: string;
    /** Wraps the preview part; `{fence}` is replaced with a fence that the preview cannot close. */
    readonly previewOpen: string;
    readonly previewClose: string;
    /** After the preview, always kept. */
    readonly tail: string;
    /** The full preview text (masked). */
    readonly preview: string;
    readonly maxPreviewChars: number;
    readonly noteLimit?: number;
    /** The cut notice for `shown` of `total` characters; its text must not depend on more than those numbers. */
    readonly cutNotice: (shown: number, total: number) => string;
}

/** A backtick fence longer than any run of backticks inside, so the content cannot close it. */
export function fenceFor(content: string): string {
    const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
    return "`".repeat(Math.max(3, longest + 1));
}

/**
 * The note: head, then as much preview as fits, then (when cut) where the full preview is, then
 * the tail. The result never exceeds `noteLimit` unless head and tail alone do (the summary is
 * kept whole whatever its size).
 */
export function composeNote(parts: NoteParts): { body: string; cut: boolean; shownChars: number } {
    const limit = parts.noteLimit ?? GITLAB_NOTE_LIMIT;
    const total = parts.preview.length;
    const assemble = (shown: string, cut: boolean): string => {
        const fence = fenceFor(shown);
        return [
            parts.head,
            parts.previewOpen.replace("{fence}", fence),
            shown,
            parts.previewClose.replace("{fence}", fence),
            ...(cut ? [parts.cutNotice(shown.length, total)] : []),
            parts.tail,
        ].join("\n");
    };
    const whole = assemble(parts.preview, false);
    if (total <= parts.maxPreviewChars && whole.length <= limit) {
        return { body: whole, cut: false, shownChars: total };
    }
    // The fence may grow by the backtick runs inside and the notice's numbers by a few digits:
    // reserve for both, then check and shrink once more if need be.
    const fixed = assemble("", true).length + 2 * (fenceFor(parts.preview).length - 3) + 20;
    let budget = previewBudget({ fixedChars: fixed, maxPreviewChars: parts.maxPreviewChars, noteLimit: limit });
    for (;;) {
        const shown = cutAtLine(parts.preview, budget).text;
        const body = assemble(shown, true);
        if (body.length <= limit || budget === 0) {
            return { body, cut: true, shownChars: shown.length };
        }
        budget = Math.max(0, budget - (body.length - limit) - 1);
    }
}
