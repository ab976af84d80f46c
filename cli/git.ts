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
    /** `git log --oneline from..to` (what `to` adds), newest first; null when a commit is not in the clone (`note` says which). */
    readonly log: string[] | null;
    /** `git log --oneline to..from`: what `from` has that `to` lacks (going back to an older release drops these). */
    readonly dropped: string[];
    readonly note?: string;
}

const oneline = (dir: string, range: string): string[] => {
    const out = execFileSync("git", ["log", "--oneline", range], { cwd: dir }).toString().trim();
    return out ? out.split("\n") : [];
};

export function commitRange(dir: string, from: string, to: string): CommitRange {
    if (from === to) {
        return { from, to, log: [], dropped: [] };
    }
    const missing = [from, to].filter((sha) => !hasCommit(dir, sha));
    if (missing.length > 0) {
        const many = missing.length > 1;
        return {
            from,
            to,
            log: null,
            dropped: [],
            note: `commit${many ? "s" : ""} ${missing.join(" and ")} ${many ? "are" : "is"} not in this clone (${dir}); git fetch may bring ${many ? "them" : "it"}`,
        };
    }
    return { from, to, log: oneline(dir, `${from}..${to}`), dropped: oneline(dir, `${to}..${from}`) };
}
