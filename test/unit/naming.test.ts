import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    DIGEST_PATTERN,
    TAG_PATTERN,
    imageTags,
    isDigestPinned,
    parsePinnedRef,
    pinnedRef,
    refSlug,
    splitRepository,
    stripTagAndDigest,
} from "../../components/refs";
import { configHash, keyedHash, releaseId } from "../../components/release/identity";

const hex64 = fc.stringMatching(/^[a-f0-9]{64}$/);
const digestArb = hex64.map((h) => `sha256:${h}`);
const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/).filter((s) => s.length > 0 && s.length < 30);
const host = fc.constantFrom("127.0.0.1:5000", "registry.gitlab.com", "registry.example.com:5050", "localhost:5001");
const repoArb = fc.tuple(host, fc.array(component, { minLength: 1, maxLength: 3 })).map(([h, parts]) => `${h}/${parts.join("/")}`);
const shaArb = fc.stringMatching(/^[0-9a-f]{40}$/);

describe("refSlug (GitLab CI_COMMIT_REF_SLUG)", () => {
    it("matches GitLab's examples", () => {
        expect(refSlug("main")).toBe("main");
        expect(refSlug("feature/Add_Login")).toBe("feature-add-login");
        expect(refSlug("v1.2.3")).toBe("v1-2-3");
        expect(refSlug("-leading/trailing-")).toBe("leading-trailing");
    });

    it("is a DNS-safe label of at most 63 characters for any ref", () => {
        fc.assert(
            fc.property(fc.string({ maxLength: 300 }), (ref) => {
                const slug = refSlug(ref);
                expect(slug.length).toBeLessThanOrEqual(63);
                expect(slug).toMatch(/^$|^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
            }),
        );
    });

    it("is idempotent", () => {
        fc.assert(
            fc.property(fc.string({ maxLength: 100 }), (ref) => {
                expect(refSlug(refSlug(ref))).toBe(refSlug(ref));
            }),
        );
    });
});

describe("imageTags", () => {
    it("tags the commit SHA first, then the ref slug", () => {
        expect(imageTags("127.0.0.1:5000/delivery/app", "ABCDEF1234567", "feature/X")).toEqual([
            "127.0.0.1:5000/delivery/app:abcdef1234567",
            "127.0.0.1:5000/delivery/app:feature-x",
        ]);
    });

    it("always yields valid tags on the given repository, the SHA first", () => {
        fc.assert(
            fc.property(repoArb, shaArb, fc.string({ maxLength: 80 }), (repo, sha, ref) => {
                const tags = imageTags(repo, sha, ref);
                expect(tags[0]).toBe(`${repo}:${sha}`);
                for (const t of tags) {
                    expect(stripTagAndDigest(t)).toBe(repo);
                    expect(TAG_PATTERN.test(t.slice(repo.length + 1))).toBe(true);
                }
                expect(new Set(tags).size).toBe(tags.length);
            }),
        );
    });

    it("drops an empty slug instead of pushing an invalid tag", () => {
        expect(imageTags("r.example.com/a", "abcdef1", "///")).toEqual(["r.example.com/a:abcdef1"]);
    });
});

describe("digest-pinned refs", () => {
    it("round-trips repository and digest", () => {
        fc.assert(
            fc.property(repoArb, digestArb, (repo, digest) => {
                const ref = pinnedRef(repo, digest);
                expect(ref).toBe(`${repo}@${digest}`);
                expect(parsePinnedRef(ref)).toEqual({ repository: repo, digest });
            }),
        );
    });

    it("accepts tag@digest, keeping the registry port", () => {
        const d = `sha256:${"a".repeat(64)}`;
        expect(parsePinnedRef(`127.0.0.1:5000/delivery/app:main@${d}`)).toEqual({ repository: "127.0.0.1:5000/delivery/app", digest: d });
    });

    it("rejects anything that is not pinned by a full sha256 digest", () => {
        const d = "a".repeat(64);
        for (const bad of [
            "127.0.0.1:5000/delivery/app:latest",
            "127.0.0.1:5000/delivery/app",
            `127.0.0.1:5000/delivery/app@sha256:${d.slice(1)}`,
            `127.0.0.1:5000/delivery/app@sha256:${d.toUpperCase()}`,
            `127.0.0.1:5000/delivery/app@md5:${d}`,
            `127.0.0.1:5000/Delivery/App@sha256:${d}`,
            ` 127.0.0.1:5000/delivery/app@sha256:${d}`,
            `a@b@sha256:${d}`,
            "",
        ]) {
            expect(isDigestPinned(bad), bad).toBe(false);
        }
    });

    it("never accepts a ref without '@sha256:'", () => {
        fc.assert(
            fc.property(fc.string(), (s) => {
                fc.pre(!s.includes("@sha256:"));
                expect(isDigestPinned(s)).toBe(false);
            }),
        );
    });

    it("pinnedRef replaces a tag and refuses a non-digest", () => {
        const d = `sha256:${"b".repeat(64)}`;
        expect(pinnedRef("localhost:5000/app:v1", d)).toBe(`localhost:5000/app@${d}`);
        expect(() => pinnedRef("localhost:5000/app", "latest")).toThrow('"latest" is not an image digest (expected sha256:<64 hex characters>)');
        expect(DIGEST_PATTERN.test(d)).toBe(true);
    });
});

describe("splitRepository", () => {
    it("takes the first component as the registry, with its port, and the rest as the path", () => {
        expect(splitRepository("127.0.0.1:5000/delivery/app")).toEqual({ server: "127.0.0.1:5000", path: "delivery/app" });
        expect(splitRepository("registry.gitlab.com/group/sub/app")).toEqual({ server: "registry.gitlab.com", path: "group/sub/app" });
    });
});

describe("configHash and releaseId", () => {
    const envArb = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 6 });
    const KEY = "k".repeat(64);

    it("does not depend on key order", () => {
        fc.assert(
            fc.property(envArb, envArb, (env, secrets) => {
                const reversed = Object.fromEntries(Object.entries(env).reverse());
                expect(configHash(reversed, secrets, KEY)).toBe(configHash(env, secrets, KEY));
            }),
        );
    });

    it("changes when a secret value changes, without containing it", () => {
        const a = configHash({ A: "1" }, { SECRET_KEY: "hunter2-value" }, KEY);
        const b = configHash({ A: "1" }, { SECRET_KEY: "hunter3-value" }, KEY);
        expect(a).not.toBe(b);
        expect(a).toMatch(DIGEST_PATTERN);
        expect(a).not.toContain("hunter2");
    });

    it("tells a plain setting from a secret one of the same name and value", () => {
        expect(configHash({ K: "v" }, {})).not.toBe(configHash({}, { K: "v" }, KEY));
    });

    it("hashes secrets only under the stack's key: the same secret in two stacks gives different hashes", () => {
        const secrets = { SECRET_KEY: "hunter2-value" };
        expect(configHash({}, secrets, "a".repeat(64))).not.toBe(configHash({}, secrets, "b".repeat(64)));
        expect(configHash({}, secrets, KEY)).toBe(configHash({}, secrets, KEY));
        // Not the unkeyed construction an offline guesser could recompute from the outputs.
        const unkeyed = createHash("sha256")
            .update(`secret\0SECRET_KEY\0${createHash("sha256").update("hunter2-value").digest("hex")}\0`)
            .digest("hex");
        expect(configHash({}, secrets, KEY)).not.toBe(`sha256:${unkeyed}`);
        expect(keyedHash(KEY, "SECRET_KEY", "hunter2-value")).toBe(createHmac("sha256", KEY).update("SECRET_KEY\0hunter2-value").digest("hex"));
    });

    it("refuses secret settings without a key, and an empty key", () => {
        expect(() => configHash({}, { S: "x" })).toThrow("configHash: secret settings need the stack's release key (none was given)");
        expect(() => keyedHash("", "S", "x")).toThrow("keyedHash: the release key is empty");
        expect(configHash({ A: "1" })).toMatch(DIGEST_PATTERN);
    });

    it("derives a stable release id from digest and config", () => {
        fc.assert(
            fc.property(digestArb, digestArb, digestArb, (d1, d2, h) => {
                expect(releaseId(d1, h)).toBe(releaseId(d1, h));
                expect(releaseId(d1, h)).toMatch(/^r-[a-f0-9]{12}$/);
                fc.pre(d1 !== d2);
                expect(releaseId(d1, h)).not.toBe(releaseId(d2, h));
            }),
        );
    });
});
