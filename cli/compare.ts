import { LedgerEntry, SettingsDiff, diffSettings, settingsDiffText } from "../components/release/ledger";
import { CommitRange, commitRange } from "./git";
import { settingsLines, shortDigest } from "./output";

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
    const lines = [
        c.digest.same ? `image: same digest ${shortDigest(c.digest.to)}` : `image: ${shortDigest(c.digest.from)} → ${shortDigest(c.digest.to)}`,
        c.commits.log === null
            ? `commits: ${c.commits.note}`
            : c.commits.log.length === 0
              ? `commits: none between ${c.commits.from.slice(0, 8)} and ${c.commits.to.slice(0, 8)}${c.commits.note ? ` (${c.commits.note})` : ""}`
              : `commits (git log --oneline ${c.commits.from.slice(0, 8)}..${c.commits.to.slice(0, 8)}):\n${c.commits.log.map((l) => `  ${l}`).join("\n")}`,
        `settings: ${c.settings.text}`,
        ...settingsLines(c.settings),
    ];
    return lines.join("\n") + "\n";
}
