import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    LedgerCandidate,
    LedgerEntry,
    appendEntry,
    diffSettings,
    newest,
    origins,
    parseVersion,
    releaseTag,
    settingsDiffText,
} from "../../../components/release/ledger";
import { TAG_PATTERN } from "../../../components/refs";

const digest = (n: number) => `sha256:${String(n).padStart(64, "0")}`;
const candidate = (n: number, extra: Partial<LedgerCandidate> = {}): LedgerCandidate => ({
    releaseId: `r-${n}`,
    imageRef: `127.0.0.1:5000/delivery/app@${digest(n)}`,
    digest: digest(n),
    commitSha: `abc${n}def`.padEnd(7, "0"),
    configHash: "sha256:h",
    origin: origins.build,
    by: "alice",
    settings: { env: {}, secrets: {} },
    ...extra,
});
const AT = "2026-12-01T00:00:00.000Z";
const ledgerOf = (...ns: number[]): LedgerEntry[] => ns.reduce<LedgerEntry[]>((e, n) => appendEntry(e, candidate(n), AT), []);

describe("the release ledger", () => {
    it("numbers releases v1, v2, … and stamps each", () => {
        const entries = ledgerOf(1, 2, 3);
        expect(entries.map((e) => [e.version, e.releaseId, e.at])).toEqual([
            ["v1", "r-1", AT],
            ["v2", "r-2", AT],
            ["v3", "r-3", AT],
        ]);
    });

    it("adds nothing for the release that runs now, and a new entry for a release that ran before", () => {
        expect(appendEntry(ledgerOf(1, 2), candidate(2), AT).map((e) => e.version)).toEqual(["v1", "v2"]);
        expect(appendEntry(ledgerOf(1, 2), candidate(1), AT).map((e) => `${e.version} ${e.releaseId}`)).toEqual(["v1 r-1", "v2 r-2", "v3 r-1"]);
    });

    it("never rewrites or renumbers an entry, and never reuses a number (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }), (ids) => {
                let entries: LedgerEntry[] = [];
                for (const id of ids) {
                    const before = entries;
                    entries = appendEntry(entries, candidate(id), AT);
                    expect(entries.slice(0, before.length)).toEqual(before);
                    expect(entries.length - before.length).toBe(before.at(-1)?.releaseId === `r-${id}` ? 0 : 1);
                }
                expect(entries.map((e) => e.number)).toEqual(entries.map((_, i) => i + 1));
            }),
        );
    });

    it("runs a rollback only to an entry it holds with exactly that image and commit", () => {
        const entries = ledgerOf(1, 2);
        const back = appendEntry(entries, candidate(1, { origin: origins.rollback(1), rollbackOf: 1 }), AT);
        expect(back.at(-1)).toMatchObject({ version: "v3", origin: "rollback to v1", imageRef: entries[0].imageRef });
        expect(back.at(-1)).not.toHaveProperty("rollbackOf");
        expect(() => appendEntry(entries, candidate(1, { rollbackOf: 7 }), AT)).toThrow("the ledger has no v7 (it holds v1..v2); nothing was changed");
        expect(() => appendEntry(entries, candidate(2, { rollbackOf: 1 }), AT)).toThrow(
            `v1 ran ${entries[0].imageRef} (commit ${entries[0].commitSha}), not ${entries[1].imageRef} (commit ${entries[1].commitSha}); a rollback runs exactly the recorded image`,
        );
    });

    it("shows the newest n, newest first", () => {
        expect(newest(ledgerOf(1, 2, 3, 4), 2).map((e) => e.version)).toEqual(["v4", "v3"]);
        expect(newest(ledgerOf(1), 20).map((e) => e.version)).toEqual(["v1"]);
    });

    it("reads v<N> and nothing else as a release number", () => {
        expect(["v1", "v12", " v3 ", "v0", "12", "v01", "V2", "v1.2"].map(parseVersion)).toEqual([
            1,
            12,
            3,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
        ]);
    });

    it("diffs settings by key, a secret only as changed, never its value or hash", () => {
        const d = diffSettings(
            { env: { A: "1", B: "x", M: "p" }, secrets: { S: "h1", T: "h" } },
            { env: { A: "2", C: "y" }, secrets: { S: "h2", T: "h", M: "k" } },
        );
        expect(d).toEqual({ added: ["env.C", "secretEnv.M"], removed: ["env.B", "env.M"], changed: ["env.A", "secretEnv.S"] });
        const text = settingsDiffText(d);
        expect(text).toBe("env.A changed, secretEnv.S changed, env.C added, secretEnv.M added, env.B removed, env.M removed");
        expect(text).not.toMatch(/h1|h2/);
        expect(settingsDiffText(diffSettings({ env: {}, secrets: {} }, { env: {}, secrets: {} }))).toBe("no setting changed");
    });

    it("makes release tags that are valid registry tags for any stack name (property)", () => {
        fc.assert(
            fc.property(
                fc.stringMatching(/^[A-Za-z0-9_.-]{1,60}$/),
                fc.integer({ min: 1, max: 999_999 }),
                fc.stringMatching(/^[0-9a-f]{6}$/),
                (stack, n, id) => {
                    expect(releaseTag(stack, `v${n}`, id)).toMatch(TAG_PATTERN);
                },
            ),
        );
        expect(releaseTag("organization/delivery/staging", "v12", "a1b2c3")).toBe("release-staging-v12-a1b2c3");
    });
});
