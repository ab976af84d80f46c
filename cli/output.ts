import Table from "cli-table3";
import { LedgerEntry } from "../components/release/ledger";
import { io } from "./io";

/** `sha256:0123456789ab…` → `0123456789ab` (12 hex, as docker prints image ids). */
export const shortDigest = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12);

/** A commit as `git log --oneline` abbreviates it (8 characters). */
export const shortCommit = (sha: string): string => sha.slice(0, 8);

/** `2026-12-01T11:58:37.123Z` → `2026-12-01 11:58:37Z`: fixed width, no locale. */
export const when = (iso: string): string => iso.replace("T", " ").replace(/\.\d+Z$/, "Z");

/** A table without colours: the same bytes on a terminal, in a CI log and in a README. */
export function table(head: string[], rows: string[][]): string {
    const t = new Table({ head, style: { head: [], border: [] }, chars: NO_ROW_RULES });
    t.push(...rows);
    // A rule under the head only (the head is one line).
    const lines = t.toString().split("\n");
    const rule = lines[0].replace("┌", "├").replace(/┬/g, "┼").replace("┐", "┤");
    return [lines[0], lines[1], rule, ...lines.slice(2)].join("\n") + "\n";
}

export function printJson(value: unknown): void {
    io.out(JSON.stringify(value, null, 2) + "\n");
}

/** What `delivery releases --json` prints. */
export interface ReleasesJson {
    readonly stack: string;
    /** The version that runs now (the newest entry), or null before the first release. */
    readonly running: string | null;
    /** Entries in the ledger, before --pipeline and --limit. */
    readonly total: number;
    /** Newest first, each a full ledger entry. */
    readonly releases: LedgerEntry[];
}

/** The ledger's entries as `delivery releases` lists them: newest first, filtered by pipeline, then limited. */
export function selectReleases(entries: readonly LedgerEntry[], opts: { limit?: number; pipeline?: string }): LedgerEntry[] {
    const newestFirst = [...entries].reverse().filter((e) => opts.pipeline === undefined || e.pipelineId === opts.pipeline);
    return opts.limit === undefined ? newestFirst : newestFirst.slice(0, opts.limit);
}

export function releasesJson(stack: string, entries: readonly LedgerEntry[], opts: { limit?: number; pipeline?: string }): ReleasesJson {
    const running = entries.length > 0 ? entries[entries.length - 1].version : null;
    return { stack, running, total: entries.length, releases: selectReleases(entries, opts) };
}

/** The table people read: the running release marked with `*`. */
export function releasesTable(stack: string, entries: readonly LedgerEntry[], opts: { limit?: number; pipeline?: string }): string {
    const j = releasesJson(stack, entries, opts);
    if (j.releases.length === 0) {
        return opts.pipeline !== undefined
            ? `stack ${stack}: no release was made by pipeline ${opts.pipeline} (${j.total} in the ledger)\n`
            : `stack ${stack}: no release yet\n`;
    }
    const rows = j.releases.map((e) => [
        e.version === j.running ? `* ${e.version}` : `  ${e.version}`,
        e.releaseId,
        shortDigest(e.digest),
        shortCommit(e.commitSha),
        e.origin,
        e.by,
        when(e.at),
    ]);
    const shown = j.releases.length < j.total ? `${j.releases.length} of ${j.total} releases` : `${j.total} release${j.total === 1 ? "" : "s"}`;
    return table(["version", "release id", "digest", "commit", "origin", "by", "when"], rows) + `* runs now on ${stack} (${shown})\n`;
}

/** One entry, field by field (`delivery show`). */
export function entryTable(e: LedgerEntry): string {
    const rows: string[][] = [
        ["version", e.version],
        ["release id", e.releaseId],
        ["image", e.imageRef],
        ["digest", e.digest],
        ["commit", e.commitSha],
        ["origin", e.origin],
        ["by", e.by],
        ["when", when(e.at)],
        ["config hash", e.configHash],
    ];
    for (const [label, v] of [
        ["pipeline", e.pipelineUrl ?? e.pipelineId],
        ["job", e.jobUrl ?? e.jobName],
    ] as const) {
        if (v) {
            rows.push([label, v]);
        }
    }
    const env = Object.keys(e.settings?.env ?? {}).sort();
    const secrets = Object.keys(e.settings?.secrets ?? {}).sort();
    rows.push(["settings", [...env.map((k) => `env.${k}`), ...secrets.map((k) => `secretEnv.${k} (secret)`)].join("\n") || "none"]);
    const t = new Table({ style: { head: [], border: [] }, chars: NO_ROW_RULES });
    t.push(...rows.map(([k, v]) => ({ [k]: v })));
    return t.toString() + "\n";
}

/** The table chars without a rule between rows: a long ledger stays one line per release. */
const NO_ROW_RULES = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };
