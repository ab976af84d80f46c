import { describe, expect, it } from "vitest";
import { origins } from "../../../components/release/ledger";
import { entriesOf, packEntries, releaseLedgerProvider as provider, unpackEntries } from "../../../components/release/releaseLedger";

const ref = (c: string) => `127.0.0.1:5000/delivery/app@sha256:${c.repeat(64)}`;
const candidate = (c: string, extra = {}) => ({
    releaseId: `r-${c}`,
    imageRef: ref(c),
    digest: `sha256:${c.repeat(64)}`,
    commitSha: "abcdef1",
    configHash: "sha256:h",
    origin: origins.build,
    by: "alice",
    settings: { env: { A: "1" }, secrets: {} },
    ...extra,
});

describe("ReleaseLedger provider", () => {
    it("creates v1 with a random ledger id, and refreshes to what the state holds", async () => {
        const made = await provider.create!({ candidate: candidate("a") });
        expect(made.id).toMatch(/^[0-9a-f]{6}$/);
        expect(made.outs.ledgerId).toBe(made.id);
        expect(entriesOf(made.outs)).toHaveLength(1);
        expect(entriesOf(made.outs)[0]).toMatchObject({ number: 1, version: "v1", releaseId: "r-a", by: "alice" });
        expect(await provider.read!(made.id, made.outs)).toEqual({ id: made.id, props: made.outs });
    });

    it("reports a change only for a new release; who runs it is not part of it", async () => {
        const made = await provider.create!({ candidate: candidate("a") });
        expect((await provider.diff!(made.id, made.outs, { candidate: candidate("a", { by: "bob", pipelineId: "9" }) })).changes).toBe(false);
        expect((await provider.diff!(made.id, made.outs, { candidate: candidate("b") })).changes).toBe(true);
        const next = await provider.update!(made.id, made.outs, { candidate: candidate("b") });
        expect(entriesOf(next.outs!).map((e) => e.version)).toEqual(["v1", "v2"]);
        expect(next.outs!.ledgerId).toBe(made.id);
    });

    it("stops the preview of a rollback to an entry it does not hold", async () => {
        const made = await provider.create!({ candidate: candidate("a") });
        await expect(provider.diff!(made.id, made.outs, { candidate: candidate("a", { rollbackOf: 4, origin: origins.rollback(4) }) })).rejects.toThrow(
            "the ledger has no v4 (it holds v1..v1); nothing was changed",
        );
    });

    it("keeps the entries as one JSON string in the state, and still reads the array the first ledgers kept", async () => {
        const made = await provider.create!({ candidate: candidate("a") });
        expect(typeof made.outs.entriesJson).toBe("string");
        expect(made.outs).not.toHaveProperty("entries");
        const asArray = { ...made.outs, entriesJson: undefined, entries: entriesOf(made.outs) };
        expect(entriesOf(asArray)).toEqual(entriesOf(made.outs));
        expect((await provider.diff!(made.id, asArray, { candidate: candidate("a") })).changes).toBe(true);
    });

    it("stores each distinct settings once, by config hash, and unpacks every entry with its own", () => {
        const entries = [1, 2, 3].map((n) => ({
            ...candidate(String(n)),
            number: n,
            version: `v${n}`,
            at: "t",
            configHash: n === 2 ? "sha256:other" : "sha256:h",
        }));
        entries[1] = { ...entries[1], settings: { env: { A: "2" }, secrets: { S: "k" } } };
        const packed = packEntries(entries);
        expect(Object.keys(JSON.parse(packed).settings)).toEqual(["sha256:h", "sha256:other"]);
        expect(unpackEntries(packed)).toEqual(entries);
    });

    it("makes an older stack's ReleaseRecord its v1, and writes the ledger even when the release is the same", async () => {
        const record = {
            releaseId: "r-a",
            imageRef: ref("a"),
            commitSha: "abcdef1",
            configHash: "sha256:h",
            stack: "dev",
            origin: "build",
            createdAt: "2026-11-01T00:00:00.000Z",
        };
        expect(entriesOf(record as never)).toEqual([
            expect.objectContaining({ number: 1, version: "v1", releaseId: "r-a", digest: `sha256:${"a".repeat(64)}`, at: "2026-11-01T00:00:00.000Z" }),
        ]);
        expect((await provider.diff!("r-a", record as never, { candidate: candidate("a") })).changes).toBe(true);
        const migrated = await provider.update!("r-a", record as never, { candidate: candidate("a") });
        expect(entriesOf(migrated.outs!)).toHaveLength(1);
        expect(migrated.outs!.ledgerId).toMatch(/^[0-9a-f]{6}$/);
    });
});
