import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callWithRetry, describeGitlabError, errorStatus, isRetryable, normalizeGitlabUrl, type GitlabApi } from "../../../components/gitlab/client";
import {
    cleanupRegexProblem,
    environmentNameForStack,
    environmentNameProblem,
    externalUrlProblem,
    isMaskable,
    keepRegexLengthProblem,
    keepRegexWithReleaseTags,
    maskingProblems,
    processModeProblem,
    RESOURCE_GROUP_DEFAULTS,
    resourceGroupNotYetWarning,
    userPartOfKeepRegex,
    tierForEnvironment,
    variableProblems,
} from "../../../components/gitlab/gitlabRules";

const BASE64_PLUS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_@:.~";
const maskableChar = fc.constantFrom(...BASE64_PLUS.split(""));
/** Any string, including astral characters, whitespace and control characters. */
const anyString = fc.string({ unit: "binary", maxLength: 40 });

describe("masking rules (GitLab 'Mask a CI/CD variable')", () => {
    it("accepts every string of 8+ characters from Base64 plus @ : . ~ - _", () => {
        fc.assert(
            fc.property(fc.array(maskableChar, { minLength: 8, maxLength: 64 }), (chars) => {
                const value = chars.join("");
                return isMaskable(value) && isMaskable(value, true) && maskingProblems(value).length === 0;
            }),
        );
    });

    it("refuses anything shorter than 8 characters, raw or not", () => {
        fc.assert(
            fc.property(fc.array(maskableChar, { maxLength: 7 }), (chars) => {
                const value = chars.join("");
                return !isMaskable(value) && !isMaskable(value, true) && maskingProblems(value)[0].includes("a masked value needs at least 8");
            }),
        );
    });

    it("refuses an expanded value with any character outside the alphabet, but allows it raw", () => {
        const outside = fc
            .string({ unit: "binary", minLength: 1, maxLength: 1 })
            .filter((c) => !BASE64_PLUS.includes(c) && !/[\s]/.test(c) && !/[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/.test(c));
        fc.assert(
            fc.property(fc.array(maskableChar, { minLength: 8, maxLength: 20 }), outside, fc.nat(20), (chars, bad, at) => {
                const value = [...chars.slice(0, at), bad, ...chars.slice(at)].join("");
                return !isMaskable(value) && isMaskable(value, true) && maskingProblems(value, { raw: true }).length === 0;
            }),
        );
    });

    it("refuses whitespace and more than one line even when raw", () => {
        fc.assert(
            fc.property(fc.array(maskableChar, { minLength: 8, maxLength: 20 }), fc.constantFrom(" ", "\t", "\n", "\r\n", "\v", "\f"), (chars, ws) => {
                const value = chars.slice(0, 4).join("") + ws + chars.slice(4).join("");
                return !isMaskable(value, true) && maskingProblems(value, { raw: true }).length > 0;
            }),
        );
    });

    it("agrees with its own problem list for every string (the regex and the explanation never disagree)", () => {
        fc.assert(
            fc.property(anyString, fc.boolean(), (value, raw) => isMaskable(value, raw) === (maskingProblems(value, { raw }).length === 0)),
            { numRuns: 2000 },
        );
    });

    it("counts characters like Ruby, not UTF-16 units: four emoji are 4 characters", () => {
        expect(isMaskable("😀😀😀😀", true)).toBe(false);
        expect(maskingProblems("😀😀😀😀", { raw: true })).toEqual(["it has 4 characters; a masked value needs at least 8"]);
        expect(isMaskable("😀😀😀😀😀😀😀😀", true)).toBe(true);
        // Ruby's \S is ASCII-only: a no-break space is not whitespace to GitLab.
        expect(isMaskable("abc\u00a0defgh", true)).toBe(true);
    });

    it("never puts the value into its explanations", () => {
        fc.assert(
            // Framed by letters no message uses, so a short value cannot match message text by
            // chance (the shrunk counterexample "ter" is in "characters").
            fc.property(
                fc.string({ minLength: 0, maxLength: 30 }).map((s) => `qZx${s}xZq`),
                (value) =>
                    maskingProblems(value).every((p) => !p.includes(value)) &&
                    variableProblems({ key: "K", value, masked: true }).every((p) => !p.includes(value)),
            ),
        );
    });

    it("refuses a masked value equal to a variable's name", () => {
        expect(maskingProblems("DATABASE_URL", { otherNames: ["DATABASE_URL"] })).toEqual(["it equals the name of a CI/CD variable"]);
    });
});

describe("variable, environment and policy rules", () => {
    it("names the key and scope in every variable problem", () => {
        expect(variableProblems({ key: "DB-URL", value: "x" })).toEqual(['"DB-URL" is not a valid GitLab variable key: use at most 255 of A-Z a-z 0-9 _']);
        expect(variableProblems({ key: "K".repeat(256), value: "x" })).toHaveLength(1);
        expect(variableProblems({ key: "TOKEN", value: "short", masked: true, environmentScope: "review/*" })).toEqual([
            "GitLab variable TOKEN (scope review/*) cannot be masked: it has 5 characters; a masked value needs at least 8. Change the value, or set masked: false",
        ]);
        expect(variableProblems({ key: "A", environmentScope: "bad|scope" })[0]).toMatch(
            /^GitLab variable A \(scope bad\|scope\): environment scope "bad\|scope" is invalid/,
        );
        expect(variableProblems({ key: "A", variableType: "secret" })).toEqual([
            'GitLab variable A (scope *): variableType must be env_var or file (got "secret")',
        ]);
        // An unknown value (an unresolved Output) is not judged.
        expect(variableProblems({ key: "A", masked: true })).toEqual([]);
    });

    it("maps stacks to environments and tiers", () => {
        expect(environmentNameForStack("review-fix-login")).toBe("review/fix-login");
        expect(environmentNameForStack("staging")).toBe("staging");
        expect(tierForEnvironment("production")).toBe("production");
        expect(tierForEnvironment("staging")).toBe("staging");
        expect(tierForEnvironment("review/fix-login")).toBe("development");
        expect(tierForEnvironment("sandbox")).toBe("other");
        expect(environmentNameProblem("review/x")).toBeUndefined();
        expect(environmentNameProblem("/x")).toMatch(/not starting or ending with \//);
        expect(environmentNameProblem("x|y")).toBeDefined();
        expect(externalUrlProblem("https://x.example.com/a")).toBeUndefined();
        expect(externalUrlProblem("javascript:alert(1)")).toBeDefined();
    });

    it("refuses cleanup regexes GitLab's RE2 cannot run", () => {
        expect(cleanupRegexProblem("^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$")).toBeUndefined();
        expect(cleanupRegexProblem("(")).toMatch(/^is not a valid regular expression/);
        expect(cleanupRegexProblem("^(?!v).*")).toBe("uses lookaround or a backreference, which GitLab's RE2 engine does not support");
        expect(cleanupRegexProblem("(a)\\1")).toBeDefined();
    });
});

describe("GitLab client helpers", () => {
    const httpError = (status: number, description = "boom", method = "POST", url = "https://gitlab.example.com/api/v4/projects/1/variables?x=1") =>
        Object.assign(new Error(description), {
            name: "GitbeakerRequestError",
            cause: { description, request: { method, url }, response: { status, statusText: status === 500 ? "Internal Server Error" : "Bad Request" } },
        });

    it("normalizes instance URLs", () => {
        expect(normalizeGitlabUrl(" https://gitlab.example.com/ ")).toBe("https://gitlab.example.com");
        expect(normalizeGitlabUrl("https://gitlab.example.com/api/v4")).toBe("https://gitlab.example.com");
        expect(normalizeGitlabUrl("https://example.com/gitlab/api/v4/")).toBe("https://example.com/gitlab");
    });

    it("retries server errors and network failures, never client errors", () => {
        expect(isRetryable(httpError(500))).toBe(true);
        expect(isRetryable(httpError(503))).toBe(true);
        expect(isRetryable(httpError(429))).toBe(true);
        expect(isRetryable(httpError(400))).toBe(false);
        expect(isRetryable(httpError(404))).toBe(false);
        expect(isRetryable(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }))).toBe(true);
        const gaveUp = Object.assign(
            new Error("Could not successfully complete this request after 10 retries, last status code: 502. Verify the status of the endpoint."),
            { name: "GitbeakerRetryError" },
        );
        expect(errorStatus(gaveUp)).toBe(502);
        expect(isRetryable(gaveUp)).toBe(true);
    });

    it("says what failed, where, and how to fix the usual causes, without the query string", () => {
        expect(describeGitlabError("create variable X", httpError(400, '{"key":["(X) has already been taken"]}'), 1).message).toBe(
            'GitLab: create variable X failed: HTTP 400 Bad Request from POST /api/v4/projects/1/variables: {"key":["(X) has already been taken"]}.',
        );
        expect(describeGitlabError("read project", httpError(404, "404 Project Not Found", "GET"), 1).message).toContain("Hint: check gitlab:project");
        expect(describeGitlabError("x", httpError(403, "403 Forbidden"), 1).message).toContain("Hint: the token needs the api scope and the Maintainer role");
        expect(describeGitlabError("x", Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }), 3).message).toBe(
            "GitLab: x failed: fetch failed (after 3 attempts). Hint: GitLab did not answer; check gitlab:url and the network.",
        );
    });

    it("makes exactly the bounded number of attempts, with growing delays", async () => {
        let calls = 0;
        const started = Date.now();
        const error = await callWithRetry(
            {} as GitlabApi,
            "thing",
            async () => {
                calls++;
                throw httpError(500, "boom", "GET");
            },
            { attempts: 3, baseDelayMs: 40, maxDelayMs: 1000, budgetMs: 60_000 },
        ).catch((e: Error) => e);
        expect(calls).toBe(3);
        // Jittered delays of 20-40 ms then 40-80 ms.
        expect(Date.now() - started).toBeGreaterThanOrEqual(60);
        expect(error.message).toBe(
            "GitLab: thing failed: HTTP 500 Internal Server Error from GET /api/v4/projects/1/variables (gave up after attempt 3): boom.",
        );
        let once = 0;
        await expect(
            callWithRetry({} as GitlabApi, "t", async () => (once++ === 0 ? Promise.reject(httpError(502, "boom", "GET")) : "ok"), {
                attempts: 2,
                baseDelayMs: 1,
                maxDelayMs: 1,
                budgetMs: 1000,
            }),
        ).resolves.toBe("ok");
        let bad = 0;
        await expect(
            callWithRetry(
                {} as GitlabApi,
                "t",
                async () => {
                    bad++;
                    throw httpError(422);
                },
                { attempts: 5, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 },
            ),
        ).rejects.toThrow("HTTP 422");
        expect(bad).toBe(1);
    });
});

describe("the cleanup policy's keep regex always adds release tags", () => {
    it("is one group, the user's part first, so GitLab's \\A…\\Z anchors apply to the whole", () => {
        expect(keepRegexWithReleaseTags("v.+")).toBe("(?:(?:v.+)|(?:release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+))");
        const gitlab = new RegExp(`^${keepRegexWithReleaseTags("v.+")}$`);
        expect(["v1", "release-staging-v12-a1b2c3", "release-review-fix.x_1-v1-0"].every((t) => gitlab.test(t))).toBe(true);
        // Without the outer group `^` would bind to the user's part only, and this would be kept.
        expect(gitlab.test("main-release-x-v1-0")).toBe(false);
        expect(gitlab.test("release-staging-v0-a1")).toBe(false);
        expect(gitlab.test("release-staging-v1-A1")).toBe(false);
    });

    it("is idempotent, and its user part can be read back", () => {
        fc.assert(
            fc.property(fc.constantFrom(".*", "", "v.+", "^v?[0-9]+\\.[0-9]+\\.[0-9]+.*$", "a|b", "(x)"), (user) => {
                const once = keepRegexWithReleaseTags(user);
                return keepRegexWithReleaseTags(once) === once && userPartOfKeepRegex(once) === user;
            }),
        );
        expect(userPartOfKeepRegex("v.+")).toBeUndefined();
    });

    it("keeps, among tags that are not release tags, exactly what the user's regex keeps", () => {
        const release = /^release-[A-Za-z0-9_.-]+-v[1-9][0-9]*-[0-9a-f]+$/;
        fc.assert(
            fc.property(
                fc.constantFrom(".*", "", "v.+", "[a-z]+", "main|staging", "release-.*"),
                fc.stringMatching(/^[A-Za-z0-9_.-]{1,30}$/).filter((t) => !release.test(t)),
                (user, name) => new RegExp(`^(?:${user})$`).test(name) === new RegExp(`^${keepRegexWithReleaseTags(user)}$`).test(name),
            ),
        );
    });

    it("refuses a user regex that would not fit GitLab's 255 characters once the release part is added", () => {
        expect(keepRegexLengthProblem("a".repeat(196))).toBeUndefined();
        expect(keepRegexLengthProblem("a".repeat(197))).toBe(
            "is 197 characters; with the release tag pattern added GitLab stores at most 255, so it may have at most 196",
        );
        expect(keepRegexLengthProblem(keepRegexWithReleaseTags("a".repeat(197)))).toMatch(/^is 197 characters;/);
    });
});

describe("resource group rules (api/resource_groups.md, app/models/ci/resource_group.rb)", () => {
    it("accepts GitLab's four process modes and defaults to oldest_first", () => {
        for (const mode of ["unordered", "oldest_first", "newest_first", "newest_ready_first"]) {
            expect(processModeProblem(mode), mode).toBeUndefined();
        }
        expect(processModeProblem("fifo")).toBe("must be one of unordered, oldest_first, newest_first, newest_ready_first");
        expect(processModeProblem(undefined)).toBeDefined();
        expect(RESOURCE_GROUP_DEFAULTS.processMode).toBe("oldest_first");
    });

    it("warns, when the group is not there yet, that GitLab creates it at the first job and the next up sets the mode", () => {
        expect(resourceGroupNotYetWarning("review/fix-login", "oldest_first", "group/app")).toBe(
            "GitLab: resource group review/fix-login does not exist yet in project group/app, so its process mode is not set: " +
                "GitLab creates it when the first job with resource_group: review/fix-login runs (the API cannot create one), and the next pulumi up sets it to oldest_first.",
        );
    });
});
