/**
 * The release ledger: every release a stack ever ran, numbered v1, v2, … and never rewritten.
 * Pure functions over plain data, so that the provider (releaseLedger.ts), the `delivery`
 * command and the tests share one owner for numbering, lookup and the settings diff.
 */

import type { GateRecord } from "./gate";

/** What the stack's settings were for one release: plain values, and for secrets only a keyed hash. */
export interface LedgerSettings {
    /** Plain settings (`delivery:env`), as given to the app. */
    readonly env: Readonly<Record<string, string>>;
    /** Secret settings (`delivery:secretEnv`) by name: HMAC-SHA256 under the stack's release key (identity.ts keyedHash), never the value. */
    readonly secrets: Readonly<Record<string, string>>;
}

/** Who made a release and from where: the CI job, or the local git user. Not part of a release's identity. */
export interface LedgerActor {
    /** `GITLAB_USER_LOGIN` in CI, else the local git user (`git config user.name`), else `$USER`. */
    readonly by: string;
    /** `CI_PIPELINE_URL`, `CI_JOB_URL`, `CI_PIPELINE_ID`, `CI_JOB_NAME` when run by GitLab CI. */
    readonly pipelineUrl?: string;
    readonly jobUrl?: string;
    readonly pipelineId?: string;
    readonly jobName?: string;
}

/** A release as the program describes it before the ledger numbers it. */
export interface LedgerCandidate extends LedgerActor {
    readonly releaseId: string;
    /** `repository@sha256:…` */
    readonly imageRef: string;
    readonly digest: string;
    readonly commitSha: string;
    readonly configHash: string;
    /** `build`, `promote <stack> v<N>`, `rollback to v<N>` or `pin`. */
    readonly origin: string;
    readonly settings: LedgerSettings;
    /** For a rollback: the entry it runs again; the ledger refuses one it does not hold with that image. */
    readonly rollbackOf?: number;
    /** For a promotion: the promotion gate's decision (gate.ts), `verified` or an explicit override. */
    readonly gate?: GateRecord;
}

/** One numbered release. */
export interface LedgerEntry extends Omit<LedgerCandidate, "rollbackOf"> {
    /** 1, 2, …: never reused within a stack. */
    readonly number: number;
    /** `v<number>` */
    readonly version: string;
    /** ISO time the entry was made. */
    readonly at: string;
}

export const VERSION_PATTERN = /^v([1-9][0-9]{0,8})$/;

/** `v12` → 12; anything else → undefined. */
export function parseVersion(version: string): number | undefined {
    const m = VERSION_PATTERN.exec(version.trim());
    return m ? Number(m[1]) : undefined;
}

export const versionOf = (n: number): string => `v${n}`;

/** The origins a ledger writes: one function each, so that no caller spells them. */
export const origins = {
    build: "build",
    pin: "pin",
    /** `unverified`: what an override let through (gate.ts blockedText), `promote staging v7 (unverified: soaking 4m10s of 10m)`. */
    promote: (stack: string, version?: string, unverified?: string) =>
        `${version ? `promote ${stack} ${version}` : `promote ${stack}`}${unverified ? ` (unverified: ${unverified})` : ""}`,
    rollback: (n: number) => `rollback to ${versionOf(n)}`,
} as const;

/** The entry that runs now: the newest. */
export function currentEntry(entries: readonly LedgerEntry[]): LedgerEntry | undefined {
    return entries.length > 0 ? entries[entries.length - 1] : undefined;
}

/** Whether a candidate is a new release: anything but the release that runs now (same release id) is. */
export function isNewRelease(entries: readonly LedgerEntry[], candidate: Pick<LedgerCandidate, "releaseId">): boolean {
    return currentEntry(entries)?.releaseId !== candidate.releaseId;
}

/**
 * The ledger after a candidate: the same entries when it is the release that runs now (a re-run
 * changes nothing), else one more entry numbered after the highest. Entries are never changed.
 * Throws when a rollback names an entry the ledger does not hold with that image and commit.
 */
export function appendEntry(entries: readonly LedgerEntry[], candidate: LedgerCandidate, at: string): LedgerEntry[] {
    if (candidate.rollbackOf !== undefined) {
        const target = findEntry(entries, candidate.rollbackOf);
        if (!target) {
            throw new Error(`the ledger has no ${versionOf(candidate.rollbackOf)} (it holds ${rangeText(entries)}); nothing was changed`);
        }
        if (target.imageRef !== candidate.imageRef || target.commitSha !== candidate.commitSha) {
            throw new Error(
                `${versionOf(candidate.rollbackOf)} ran ${target.imageRef} (commit ${target.commitSha}), not ${candidate.imageRef} (commit ${candidate.commitSha}); a rollback runs exactly the recorded image`,
            );
        }
    }
    if (!isNewRelease(entries, candidate)) {
        return [...entries];
    }
    const number = entries.reduce((max, e) => Math.max(max, e.number), 0) + 1;
    const { rollbackOf: _rollbackOf, ...rest } = candidate;
    return [...entries, { ...rest, number, version: versionOf(number), at }];
}

export function findEntry(entries: readonly LedgerEntry[], number: number): LedgerEntry | undefined {
    return entries.find((e) => e.number === number);
}

/** `v1..v7`, or `no release yet`. */
export function rangeText(entries: readonly LedgerEntry[]): string {
    return entries.length === 0 ? "no release yet" : `${entries[0].version}..${currentEntry(entries)!.version}`;
}

/** The newest `n` entries, newest first (the `releases` stack output). */
export function newest(entries: readonly LedgerEntry[], n: number): LedgerEntry[] {
    return entries.slice(Math.max(0, entries.length - n)).reverse();
}

/** How the settings of two releases differ, by key; a secret is only ever `changed`, never shown. */
export interface SettingsDiff {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: string[];
}

/**
 * `from` → `to`, keyed `env.NAME` and `secretEnv.NAME` (the config paths), sorted. A plain setting
 * moved to the secrets (or back) is a removal and an addition.
 */
export function diffSettings(from: LedgerSettings, to: LedgerSettings): SettingsDiff {
    const flat = (s: LedgerSettings): Map<string, string> =>
        new Map([
            ...Object.entries(s.env ?? {}).map(([k, v]) => [`env.${k}`, v] as [string, string]),
            ...Object.entries(s.secrets ?? {}).map(([k, v]) => [`secretEnv.${k}`, v] as [string, string]),
        ]);
    const a = flat(from);
    const b = flat(to);
    const added = [...b.keys()].filter((k) => !a.has(k)).sort();
    const removed = [...a.keys()].filter((k) => !b.has(k)).sort();
    const changed = [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)).sort();
    return { added, removed, changed };
}

export const settingsDiffEmpty = (d: SettingsDiff): boolean => d.added.length + d.removed.length + d.changed.length === 0;

/** `env.A changed, secretEnv.B added`; `no setting changed` when empty. Secret values never appear: only keys. */
export function settingsDiffText(d: SettingsDiff): string {
    const parts = [...d.changed.map((k) => `${k} changed`), ...d.added.map((k) => `${k} added`), ...d.removed.map((k) => `${k} removed`)];
    return parts.length > 0 ? parts.join(", ") : "no setting changed";
}

export const RELEASE_TAG_REGEX = "release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+"; // what releaseTag() makes (RE2, unanchored: GitLab anchors it)
/** The immutable registry tag of a release: kept by the cleanup policy's keep regex (components/gitlab). */
export function releaseTag(stack: string, version: string, ledgerId: string): string {
    return `release-${stack.split("/").pop()}-${version}-${ledgerId}`;
}
