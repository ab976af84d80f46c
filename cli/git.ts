import { execFileSync } from "node:child_process";

/** Whether the clone at `dir` holds the commit. */
export function hasCommit(dir: string, sha: string): boolean {
    try {
        execFileSync("git", ["cat-file", "-e", `${sha}^{commit}`], { cwd: dir, stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** What lies between two releases' commits. */
export interface CommitRange {
    readonly from: string;
    readonly to: string;
    /** `git log --oneline from..to`, newest first; null when a commit is not in the clone. */
    readonly log: string[] | null;
    /** Why there is no log (which commit the clone lacks), or a remark on the range. */
    readonly note?: string;
}

export function commitRange(dir: string, from: string, to: string): CommitRange {
    if (from === to) {
        return { from, to, log: [], note: "same commit" };
    }
    const missing = [from, to].filter((sha) => !hasCommit(dir, sha));
    if (missing.length > 0) {
        return {
            from,
            to,
            log: null,
            note: `commit${missing.length > 1 ? "s" : ""} ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not in this clone (${dir}); git fetch may bring ${missing.length > 1 ? "them" : "it"}`,
        };
    }
    const out = execFileSync("git", ["log", "--oneline", `${from}..${to}`], { cwd: dir })
        .toString()
        .trim();
    const log = out ? out.split("\n") : [];
    if (log.length === 0) {
        // `to` is older than `from` (a rollback): show what the later release had that this one lacks.
        const back = execFileSync("git", ["log", "--oneline", `${to}..${from}`], { cwd: dir })
            .toString()
            .trim();
        return {
            from,
            to,
            log: [],
            note: back ? `${to.slice(0, 8)} is older: it lacks ${back.split("\n").length} commit(s) of ${from.slice(0, 8)}` : undefined,
        };
    }
    return { from, to, log };
}
