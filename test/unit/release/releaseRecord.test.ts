import { describe, expect, it } from "vitest";
import { releaseRecordProvider } from "../../../components/release/releaseRecord";
import { SHA, fakeDigest } from "../harness";

const record = {
    releaseId: "r-1",
    imageRef: `r.example.com/app@${fakeDigest("a")}`,
    commitSha: SHA,
    configHash: fakeDigest("c"),
    stack: "dev",
    origin: "build",
};

describe("ReleaseRecord provider", () => {
    it("fixes createdAt at creation and keeps the id", async () => {
        const created = await releaseRecordProvider.create(record);
        expect(created.id).toBe("r-1");
        expect(Date.parse(created.outs.createdAt)).not.toBeNaN();
    });

    it("is immutable: any identity change replaces it, nothing else changes", async () => {
        expect(await releaseRecordProvider.diff!("r-1", { ...record, createdAt: "t" }, record)).toMatchObject({ changes: false, replaces: [] });
        const diff = await releaseRecordProvider.diff!("r-1", record, { ...record, imageRef: `r.example.com/app@${fakeDigest("b")}`, releaseId: "r-2" });
        expect(diff).toMatchObject({ changes: true, replaces: ["releaseId", "imageRef"] });
    });

    it("refuses a release that names a tag", async () => {
        const { failures } = await releaseRecordProvider.check!({}, { ...record, imageRef: "r.example.com/app:latest" });
        expect(failures).toEqual([
            { property: "imageRef", reason: '"r.example.com/app:latest" is not pinned by digest; a release names exactly one image (repo@sha256:...)' },
        ]);
    });
});
