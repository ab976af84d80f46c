import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { configHash, keyedHash, releaseId } from "../../../components/release/identity";
import { Registry } from "../../../components/registry/registry";
import { Release } from "../../../components/release/release";
import { SHA, fakeDigest, plain, releaseKeyOf, settle, useMocks, valueOf } from "../harness";

const DIGEST = fakeDigest("build-1");
const REF = `127.0.0.1:5000/delivery/app@${DIGEST}`;

describe("Release", () => {
    const mocks = useMocks();

    it("derives its id from the digest and the config, and records it", async () => {
        const r = new Release("release", {
            imageRef: REF,
            commitSha: SHA,
            env: { A: "1" },
            secretEnv: pulumi.secret({ S: "x" }),
            stack: "dev",
            origin: "build",
        });
        const info = await valueOf(r.info);
        const hash = configHash({ A: "1" }, { S: "x" }, releaseKeyOf("dev"));
        expect(info).toEqual({
            imageRef: REF,
            digest: DIGEST,
            commitSha: SHA,
            releaseId: releaseId(DIGEST, hash),
            configHash: hash,
            createdAt: "2026-11-26T00:00:00.000Z",
            stack: "dev",
            origin: "build",
            number: 1,
            version: "v1",
        });
        await settle(mocks());
        const ledger = mocks().named("release-ledger");
        expect(ledger.type).toBe("pulumi-nodejs:dynamic/release:ReleaseLedger");
        expect(plain(ledger.inputs).candidate).toMatchObject({
            releaseId: info.releaseId,
            imageRef: REF,
            digest: DIGEST,
            commitSha: SHA,
            configHash: hash,
            origin: "build",
        });
    });

    it("gives the ledger the plain settings and, for each secret one, only its keyed hash", async () => {
        new Release("release", {
            imageRef: REF,
            commitSha: SHA,
            env: { A: "1" },
            secretEnv: pulumi.secret({ S: "very-secret-value" }),
            stack: "dev",
            origin: "build",
            actor: { by: "alice", pipelineId: "77", jobName: "staging" },
        });
        await settle(mocks());
        const candidate = plain(mocks().named("release-ledger").inputs).candidate;
        expect(candidate.settings).toEqual({ env: { A: "1" }, secrets: { S: keyedHash(releaseKeyOf("dev"), "S", "very-secret-value") } });
        expect(candidate).toMatchObject({ by: "alice", pipelineId: "77", jobName: "staging" });
        expect(JSON.stringify(candidate)).not.toContain("very-secret-value");
    });

    it("tags its digest release-<stack>-v<N>-<ledger id> in the registry it lives in, and never deletes the tag", async () => {
        const registry = new Registry("registry", { server: "127.0.0.1:5000", repository: "delivery/app", insecure: true });
        new Release("release", { imageRef: REF, commitSha: SHA, env: {}, secretEnv: {}, stack: "dev", origin: "build", registry });
        await settle(mocks());
        const tag = mocks().named("release-tag");
        expect(plain(tag.inputs)).toMatchObject({
            server: "127.0.0.1:5000",
            repository: "delivery/app",
            digest: DIGEST,
            tag: "release-dev-v1-1edge7",
            mutable: false,
        });
    });

    it("tags nothing for a pin that lives in another registry", async () => {
        const registry = new Registry("registry", { server: "127.0.0.1:5000", repository: "delivery/app", insecure: true });
        const elsewhere = `registry.example.com/delivery/app@${DIGEST}`;
        new Release("release", { imageRef: elsewhere, commitSha: SHA, env: {}, secretEnv: {}, stack: "production", origin: "pin", registry });
        await settle(mocks());
        expect(mocks().resources.map((r) => r.name)).not.toContain("release-tag");
    });

    it("is a new release when only the config changes", async () => {
        const a = new Release("a", { imageRef: REF, commitSha: SHA, env: { A: "1" }, secretEnv: {}, stack: "dev", origin: "build" });
        const b = new Release("b", { imageRef: REF, commitSha: SHA, env: { A: "2" }, secretEnv: {}, stack: "dev", origin: "build" });
        expect(await valueOf(a.releaseId)).not.toBe(await valueOf(b.releaseId));
    });

    it("exports a config hash that is not secret and holds no secret text", async () => {
        const r = new Release("release", {
            imageRef: REF,
            commitSha: SHA,
            env: {},
            secretEnv: pulumi.secret({ S: "very-secret-value" }),
            stack: "dev",
            origin: "build",
        });
        expect(await pulumi.isSecret(r.configHash)).toBe(false);
        expect(JSON.stringify(await valueOf(r.info))).not.toContain("very-secret-value");
    });

    it("keeps its secret release key in the state as a secret, and hashes secrets only through it", async () => {
        const r = new Release("release", { imageRef: REF, commitSha: SHA, env: {}, secretEnv: pulumi.secret({ S: "x" }), stack: "dev", origin: "build" });
        const hash = await valueOf(r.configHash);
        await settle(mocks());
        const key = mocks().named("release-key");
        expect(key.type).toBe("pulumi-nodejs:dynamic/release:ReleaseKey");
        expect(hash).toBe(configHash({}, { S: "x" }, releaseKeyOf("dev")));
        expect(hash).not.toBe(configHash({}, { S: "x" }, releaseKeyOf("staging")));
    });

    it("does not wait for the release key when there are no secret settings", async () => {
        const r = new Release("release", { imageRef: REF, commitSha: SHA, env: { A: "1" }, secretEnv: {}, stack: "dev", origin: "build" });
        expect(await valueOf(r.configHash)).toBe(configHash({ A: "1" }));
    });
});
