import { LedgerEntry, SettingsDiff, diffSettings, settingsDiffText } from "../components/release/ledger";
import { CommitRange, commitRange } from "./git";
import { shortDigest } from "./output";

/** How two releases differ: image, commits, settings keys. */
export interface Comparison {
    readonly from: string;
    readonly to: string;
    readonly digest: { readonly from: string; readonly to: string; readonly same: boolean };
    readonly commits: CommitRange;
    /** Keys only (`env.NAME`, `secretEnv.NAME`); secret values are never shown. */
    readonly settings: SettingsDiff & { readonly text: string };
}

export function compare(dir: string, a: LedgerEntry, b: LedgerEntry): Comparison {
    const settings = diffSettings(a.settings, b.settings);
    return {
        from: a.version,
        to: b.version,
        digest: { from: a.digest, to: b.digest, same: a.digest === b.digest },
        commits: commitRange(dir, a.commitSha, b.commitSha),
        settings: { ...settings, text: settingsDiffText(settings) },
    };
}

export function comparisonText(c: Comparison): string {
    const a = c.commits.from.slice(0, 8);
    const b = c.commits.to.slice(0, 8);
    const list = (lines: readonly string[]) => lines.map((l) => `\n  ${l}`).join("");
    const lines = [c.digest.same ? `image: the same digest ${shortDigest(c.digest.to)}` : `image: ${shortDigest(c.digest.from)} → ${shortDigest(c.digest.to)}`];
    const { log, dropped } = c.commits;
    if (log === null) {
        lines.push(`commits: ${c.commits.note}`);
    } else if (log.length === 0 && dropped.length === 0) {
        lines.push(`commits: the same commit ${b}`);
    } else {
        if (log.length > 0) {
            lines.push(`commits ${c.to} adds (git log --oneline ${a}..${b}):${list(log)}`);
        }
        if (dropped.length > 0) {
            lines.push(`commits ${c.to} lacks (git log --oneline ${b}..${a}):${list(dropped)}`);
        }
    }
    lines.push(`settings: ${c.settings.text}`);
    return lines.join("\n") + "\n";
}
