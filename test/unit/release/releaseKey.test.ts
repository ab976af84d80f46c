import { describe, expect, it } from "vitest";
import { releaseKeyProvider } from "../../../components/release/releaseKey";

describe("releaseKeyProvider", () => {
    it("creates a random 32-byte key, different for every stack", async () => {
        const a = await releaseKeyProvider.create!({});
        const b = await releaseKeyProvider.create!({});
        expect(a.outs.key).toMatch(/^[a-f0-9]{64}$/);
        expect(a.outs.key).not.toBe(b.outs.key);
        expect(a.id).not.toBe(b.id);
    });

    it("never changes the key once created: no diff, and read keeps what the state holds", async () => {
        const created = await releaseKeyProvider.create!({});
        expect(await releaseKeyProvider.diff!(created.id, created.outs, {})).toEqual({ changes: false });
        expect(await releaseKeyProvider.read!(created.id, created.outs)).toEqual({ id: created.id, props: created.outs });
    });
});
