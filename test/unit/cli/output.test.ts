import { packEntries } from "../../../components/release/releaseLedger";
import { describe, expect, it } from "vitest";
import { entryTable, releasesJson, releasesTable, selectReleases } from "../../../cli/output";
import { ledgerFromState, LEDGER_TYPE } from "../../../cli/stacks";
import { C1, D1, D2, ENTRIES } from "./fixture";

/** What `delivery releases` prints for a fixed ledger: the table people read and the JSON scripts read. */
describe("delivery releases output", () => {
    it("prints the table newest first, the running release marked, digests and commits short", () => {
        expect(releasesTable("staging", ENTRIES, {})).toBe(
            [
                "┌─────────┬────────────┬──────────────┬──────────┬────────────────┬────────┬──────────────────────┐",
                "│ version │ release id │ digest       │ commit   │ origin         │ by     │ when                 │",
                "├─────────┼────────────┼──────────────┼──────────┼────────────────┼────────┼──────────────────────┤",
                "│ * v3    │ r-0003     │ 111111111111 │ aaaaaaaa │ rollback to v1 │ alice  │ 2026-12-01 12:00:00Z │",
                "│   v2    │ r-0002     │ 222222222222 │ bbbbbbbb │ build          │ ci-bot │ 2026-12-01 11:00:00Z │",
                "│   v1    │ r-0001     │ 111111111111 │ aaaaaaaa │ build          │ alice  │ 2026-12-01 10:00:00Z │",
                "└─────────┴────────────┴──────────────┴──────────┴────────────────┴────────┴──────────────────────┘",
                "* runs now on staging (3 releases)",
                "",
            ].join("\n"),
        );
    });

    it("prints JSON with the stack, the running version, the total and full entries newest first", () => {
        const j = releasesJson("staging", ENTRIES, {});
        expect(j).toEqual({ stack: "staging", running: "v3", total: 3, releases: [ENTRIES[2], ENTRIES[1], ENTRIES[0]] });
        expect(JSON.parse(JSON.stringify(j)).releases.map((e: { version: string; digest: string }) => [e.version, e.digest])).toEqual([
            ["v3", D1],
            ["v2", D2],
            ["v1", D1],
        ]);
    });

    it("limits to the newest n and says how many it left out", () => {
        expect(selectReleases(ENTRIES, { limit: 2 }).map((e) => e.version)).toEqual(["v3", "v2"]);
        expect(releasesTable("staging", ENTRIES, { limit: 1 })).toContain("* runs now on staging (1 of 3 releases)");
    });

    it("filters by CI pipeline: what an earlier run of a deploy job deployed", () => {
        const j = releasesJson("staging", ENTRIES, { pipeline: "4711" });
        expect(j.releases.map((e) => [e.version, e.jobName])).toEqual([["v2", "deploy:staging"]]);
        expect(j.running).toBe("v3");
        expect(releasesTable("staging", ENTRIES, { pipeline: "999" })).toBe("stack staging: no release was made by pipeline 999 (3 in the ledger)\n");
    });

    it("says when the ledger is empty", () => {
        expect(releasesTable("dev", [], {})).toBe("stack dev: no release yet\n");
        expect(releasesJson("dev", [], {})).toEqual({ stack: "dev", running: null, total: 0, releases: [] });
    });

    it("shows one entry with its settings keys, secrets by key only (never their hashes)", () => {
        const text = entryTable(ENTRIES[1]);
        expect(text).toContain(D2);
        expect(text).toContain("env.APP_ENV");
        expect(text).toContain("secretEnv.SECRET_KEY (secret)");
        expect(text).toContain("deploy:staging");
        expect(text).not.toContain("hmac-2");
        expect(text).toContain(C1.replace(/a/g, "b"));
    });
});

describe("the ledger in a stack's state", () => {
    const resource = (outputs: Record<string, unknown>) => ({
        type: LEDGER_TYPE,
        urn: "urn:pulumi:staging::delivery::" + LEDGER_TYPE + "::release-ledger",
        outputs,
    });

    it("reads all entries and the ledger id from the ReleaseLedger resource's outputs", () => {
        const ledger = ledgerFromState("staging", { resources: [{ type: "pulumi:pulumi:Stack", urn: "x" }, resource({ entries: ENTRIES, ledgerId: "ab12" })] });
        expect(ledger).toEqual({ stack: "staging", entries: ENTRIES, ledgerId: "ab12" });
        const asString = ledgerFromState("staging", { resources: [resource({ entriesJson: packEntries(ENTRIES), ledgerId: "ab12" })] });
        expect(asString).toEqual({ stack: "staging", entries: ENTRIES, ledgerId: "ab12" });
    });

    it("refuses a stack without a ledger, naming the command that makes the first release", () => {
        expect(() => ledgerFromState("staging", { resources: [] })).toThrow(
            'stack "staging" has no release ledger in its state yet; its first release makes one: pulumi up --stack staging',
        );
        expect(ledgerFromState("staging", { resources: [] }, { allowMissing: true }).entries).toEqual([]);
    });

    it("refuses entries it cannot read (encrypted)", () => {
        expect(() =>
            ledgerFromState("staging", {
                resources: [resource({ entries: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" } })],
            }),
        ).toThrow("keeps its ledger entries encrypted");
    });
});
