import { describe, expect, it } from "vitest";
import {
    Promotion,
    UnknownStackError,
    pickUpstreamRelease,
    qualifiedStackName,
    requireStack,
    validatePromotedRelease,
    withVerification,
} from "../../../components/release/promotion";
import { unknownUpstreamProblem } from "../../../program";
import { Registry } from "../../../components/registry/registry";
import { SHA, fakeDigest, installMocks, isSecretValue, plain, settle, useMocks } from "../harness";

const DIGEST = fakeDigest("staging-build");
const REF = `127.0.0.1:5000/delivery/app@${DIGEST}`;

describe("qualifiedStackName", () => {
    it("qualifies a bare stack with the organization and project", () => {
        expect(qualifiedStackName("staging", "organization", "delivery")).toBe("organization/delivery/staging");
        expect(qualifiedStackName("acme/staging", "organization", "delivery")).toBe("acme/delivery/staging");
        expect(qualifiedStackName("acme/other/staging", "organization", "delivery")).toBe("acme/other/staging");
    });
});

describe("pickUpstreamRelease", () => {
    const releases = [
        { version: "v3", imageRef: REF, commitSha: SHA },
        { version: "v2", imageRef: REF, commitSha: SHA },
    ];
    it("finds the named release in the upstream's releases output", () => {
        expect(pickUpstreamRelease(releases, "v2", 'stack "staging"')).toBe(releases[1]);
    });
    it("says which releases the upstream lists when the one named is not there", () => {
        expect(() => pickUpstreamRelease(releases, "v1", 'stack "o/delivery/staging"')).toThrow(
            'stack "o/delivery/staging" has no release v1 to promote (its releases output holds v3, v2); pick one with `delivery releases --stack <upstream>`, or raise delivery:releasesShown there to list older ones',
        );
        expect(() => pickUpstreamRelease(undefined, "v1", 'stack "s"')).toThrow("(it exports no releases output)");
    });
});

describe("withVerification", () => {
    const verification = { status: "passed", at: "2026-12-01T12:00:00.000Z", checks: [], durationMs: 3 };
    it("gives a releases entry the upstream's verification only when it is the release the upstream runs", () => {
        const entry = { version: "v3", releaseId: "r-3", imageRef: REF, commitSha: SHA };
        expect(withVerification(entry, { releaseId: "r-3", verification })).toEqual({ ...entry, verification });
        expect(withVerification(entry, { releaseId: "r-4", verification })).toBe(entry);
        expect(withVerification(entry, { releaseId: "r-3" })).toBe(entry);
        expect(withVerification(undefined, { releaseId: "r-3", verification })).toBeUndefined();
    });
});

describe("validatePromotedRelease", () => {
    it("accepts a digest-pinned release", () => {
        expect(validatePromotedRelease({ imageRef: REF, commitSha: SHA, releaseId: "r-1" }, "stack staging")).toEqual({
            imageRef: REF,
            commitSha: SHA,
            releaseId: "r-1",
            version: undefined,
            origin: "",
        });
        expect(validatePromotedRelease({ imageRef: REF, commitSha: SHA, version: "v7" }, "stack staging").version).toBe("v7");
        expect(validatePromotedRelease({ imageRef: REF, commitSha: SHA, version: "7" }, "stack staging").version).toBeUndefined();
    });

    it("carries the upstream's verification to the promotion gate unread, and none when it is absent", () => {
        const verification = { status: "failed", at: "2026-12-01T12:00:00.000Z", checks: [], durationMs: 3 };
        expect(validatePromotedRelease({ imageRef: REF, commitSha: SHA, verification }, "stack staging").verification).toBe(verification);
        expect(validatePromotedRelease({ imageRef: REF, commitSha: SHA, verification: null }, "stack staging")).not.toHaveProperty("verification");
    });

    it("rejects a missing release", () => {
        expect(() => validatePromotedRelease(undefined, 'stack "o/delivery/staging"')).toThrow(
            'stack "o/delivery/staging" exports no release (stack output "release.imageRef" is missing); run `pulumi up` there first',
        );
    });

    it("rejects a release named by a tag", () => {
        expect(() => validatePromotedRelease({ imageRef: "127.0.0.1:5000/delivery/app:latest", commitSha: SHA }, "stack staging")).toThrow(
            'stack staging exports release image "127.0.0.1:5000/delivery/app:latest", which is not pinned by digest; only repo@sha256:... refs can be promoted',
        );
    });

    it("rejects a release without a commit", () => {
        expect(() => validatePromotedRelease({ imageRef: REF, commitSha: "main" }, "stack staging")).toThrow(
            'stack staging exports release commit "main", which is not a commit SHA',
        );
    });
});

describe("Promotion", () => {
    const mocks = useMocks();
    const registry = () =>
        new Registry("registry", {
            server: "127.0.0.1:5000",
            repository: "delivery/app",
            insecure: true,
            pushCredentials: { username: "ci", password: "push-pass" },
        });

    it("promotes the exact digest and builds nothing", async () => {
        const p = new Promotion("promotion", { release: { imageRef: REF, commitSha: SHA, origin: "promote:staging" }, registry: registry() });
        expect(p.imageRef).toBe(REF);
        expect(p.digest).toBe(DIGEST);
        await settle(mocks());
        expect(mocks().ofType("docker-build:index:Image")).toHaveLength(0);
        expect(mocks().resources.filter((r) => "__provider" in r.inputs)).toHaveLength(0);
    });

    it("tags the same digest in the registry with the git tag, credentials secret", async () => {
        new Promotion("promotion", { release: { imageRef: REF, commitSha: SHA, origin: "promote:staging" }, registry: registry(), tag: "v1.2.3" });
        await settle(mocks());
        const tag = mocks().named("promotion-tag");
        expect(plain(tag.inputs)).toMatchObject({
            server: "127.0.0.1:5000",
            repository: "delivery/app",
            digest: DIGEST,
            tag: "v1.2.3",
            insecure: true,
            username: "ci",
            password: "push-pass",
        });
        expect(isSecretValue(tag.inputs.password)).toBe(true);
    });

    it("refuses a tag-only ref", () => {
        expect(
            () => new Promotion("promotion", { release: { imageRef: "127.0.0.1:5000/delivery/app:v1", commitSha: SHA, origin: "pin" }, registry: registry() }),
        ).toThrow('Promotion "promotion": "127.0.0.1:5000/delivery/app:v1" is not pinned by digest; refusing to promote a mutable tag');
    });

    it("refuses to tag a release that lives in another registry", () => {
        expect(
            () =>
                new Promotion("promotion", {
                    release: { imageRef: `registry.example.com/delivery/app@${DIGEST}`, commitSha: SHA, origin: "pin" },
                    registry: registry(),
                    tag: "v1",
                }),
        ).toThrow('the release lives in registry.example.com/delivery/app, not in registry 127.0.0.1:5000; cannot add tag "v1" there');
    });
});

describe("an upstream stack that does not exist", () => {
    it("is found before any StackReference, with the stacks that do exist", async () => {
        installMocks({ stack: "production", stackOutputs: { "organization/delivery/staging": { release: {} } } });
        await expect(requireStack("organization/delivery/staging", async () => [])).resolves.toBeUndefined();
        const missing = await requireStack("organization/delivery/stagin", async () => ["dev", "production", "staging"]).catch((e) => e);
        expect(missing).toBeInstanceOf(UnknownStackError);
        expect(missing).toMatchObject({ qualified: "organization/delivery/stagin", stacks: ["dev", "production", "staging"] });
        const unlisted = await requireStack("organization/delivery/stagin", async () => Promise.reject(new Error("no backend"))).catch((e) => e);
        expect(unlisted).toMatchObject({ stacks: undefined, listError: "no backend" });
    });

    it("is reported with the key, the stack looked for, the stacks there and the fix", () => {
        const e = new UnknownStackError("organization/delivery/stagin", ["dev", "production", "staging"]);
        expect(unknownUpstreamProblem("production", "stagin", e)).toBe(
            'delivery:promoteFrom: names stack "organization/delivery/stagin", which does not exist in this backend (PULUMI_BACKEND_URL); ' +
                'the stacks there are: dev, staging (got "stagin"). Fix: pulumi config set delivery:promoteFrom dev --stack production',
        );
        expect(unknownUpstreamProblem("production", "staging", new UnknownStackError("organization/delivery/staging", ["production"]))).toContain(
            'it has no other stack of this project yet; deploy the upstream stack first (got "staging"). Fix: pulumi config set delivery:promoteFrom staging --stack production',
        );
        expect(unknownUpstreamProblem("production", "staging", new UnknownStackError("organization/delivery/staging", undefined, "login required"))).toContain(
            "the backend's stacks could not be listed (login required)",
        );
    });
});
