import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callWithRetry, DEFAULT_RETRY, type GitlabApi, parseRetryAfter, retryPolicyFromEnv } from "../../../components/gitlab/client";
import { deployTokenProvider } from "../../../components/gitlab/deployToken";
import { gitlabProjectSettingsProblems } from "../../../components/gitlab/gitlabProjectSettings";
import { isoDateProblem } from "../../../components/gitlab/gitlabRules";
import { parseGitlabSettings } from "../../../components/gitlab/gitlabConfig";

/** A gitbeaker-shaped HTTP error with response headers. */
function httpError(status: number, headers: Record<string, string> = {}, method = "POST", description = "boom") {
    return Object.assign(new Error(description), {
        name: "GitbeakerRequestError",
        cause: {
            description,
            request: { method, url: "https://gitlab.example.com/api/v4/projects/1/variables" },
            response: { status, statusText: status === 429 ? "Too Many Requests" : "Service Unavailable", headers: new Headers(headers) },
        },
    });
}

/** A policy whose sleeps are recorded, not waited. */
function recording(overrides: Partial<typeof DEFAULT_RETRY> = {}) {
    const waits: number[] = [];
    return { waits, policy: { ...DEFAULT_RETRY, ...overrides, sleep: async (ms: number) => void waits.push(ms) } };
}

/** The error `callWithRetry` gives up with when every call is a 429 asking to wait `retryAfter` seconds. */
async function givenUp(retryAfter: string, policy: ReturnType<typeof recording>["policy"]): Promise<Error> {
    return (await callWithRetry(
        {} as GitlabApi,
        "t",
        async () => {
            throw httpError(429, { "retry-after": retryAfter });
        },
        policy,
    ).catch((e: Error) => e)) as Error;
}

describe("Retry-After", () => {
    const now = Date.parse("2030-01-01T00:00:00Z");

    it("reads seconds and HTTP dates, and ignores anything else", () => {
        expect(parseRetryAfter("2", now)).toBe(2000);
        expect(parseRetryAfter("0", now)).toBe(0);
        expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now)).toBe(30_000);
        expect(parseRetryAfter("Mon, 31 Dec 2029 23:00:00 GMT", now)).toBe(0);
        for (const bad of [undefined, null, "", "soon", "-1", "1.5e3x"]) expect(parseRetryAfter(bad, now), String(bad)).toBeUndefined();
    });

    it("is what the policy waits on a 429, without jitter", async () => {
        const { waits, policy } = recording();
        let calls = 0;
        const result = await callWithRetry(
            {} as GitlabApi,
            "t",
            async () => {
                if (calls++ < 2) throw httpError(429, { "retry-after": "3" });
                return "ok";
            },
            policy,
        );
        expect(result).toBe("ok");
        expect(waits).toEqual([3000, 3000]);
    });

    it("gives up when Retry-After exceeds the per-wait limit or the budget, saying so", async () => {
        const long = recording();
        const e1 = await givenUp("61", long.policy);
        expect(long.waits).toEqual([]);
        expect(e1.message).toBe(
            "GitLab: t failed: HTTP 429 Too Many Requests from POST /api/v4/projects/1/variables (gave up after attempt 1: GitLab asked to wait 61 s (Retry-After), more than the 60 s limit per wait): boom. Hint: GitLab is rate limiting this token or address; wait, or ask the GitLab administrator about the limits.",
        );
        const budget = recording({ budgetMs: 5000 });
        const e2 = await givenUp("2", budget.policy);
        expect(budget.waits).toEqual([2000, 2000]);
        expect(e2.message).toContain("gave up after attempt 3: waiting 2 s more would exceed the 5 s budget");
    });
});

describe("server errors", () => {
    it("back off exponentially with jitter, within the per-wait limit (property)", async () => {
        await fc.assert(
            fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2, max: 8 }), async (base, attempts) => {
                const { waits, policy } = recording({ baseDelayMs: base, attempts, budgetMs: 1e9 });
                await callWithRetry(
                    {} as GitlabApi,
                    "t",
                    async () => {
                        throw httpError(503, {}, "GET");
                    },
                    policy,
                ).catch(() => undefined);
                expect(waits).toHaveLength(attempts - 1);
                waits.forEach((w, i) => {
                    const full = Math.min(policy.maxDelayMs, base * 2 ** i);
                    expect(w).toBeGreaterThanOrEqual(full / 2);
                    expect(w).toBeLessThanOrEqual(full);
                });
            }),
            { numRuns: 50 },
        );
    });

    it("a POST whose outcome is unknown is not repeated blindly without a way to look it up", async () => {
        const { policy } = recording();
        let calls = 0;
        const e = (await callWithRetry(
            {} as GitlabApi,
            "create x",
            async () => {
                calls++;
                throw httpError(502, {}, "POST", "<html><body><h1>502 Bad Gateway</h1></body></html>");
            },
            policy,
        ).catch((err: Error) => err)) as Error;
        expect(calls).toBe(1);
        expect(e.message).toContain("GitLab may have saved it");
        expect(e.message).toContain("502 Bad Gateway");
        expect(e.message).not.toContain("<");
    });

    it("a POST whose outcome is unknown is looked up, and what was made is taken over", async () => {
        const { policy } = recording();
        let posts = 0;
        const result = await callWithRetry(
            {} as GitlabApi,
            "create x",
            async () => {
                posts++;
                throw httpError(502);
            },
            policy,
            { recover: async () => "found" },
        );
        expect(result).toBe("found");
        expect(posts).toBe(1);
    });
});

describe("the retry policy from DELIVERY_GITLAB_RETRY", () => {
    it("defaults, overrides and refuses nonsense", () => {
        expect(retryPolicyFromEnv({})).toEqual(DEFAULT_RETRY);
        expect(retryPolicyFromEnv({ DELIVERY_GITLAB_RETRY: "baseDelayMs=5, budgetMs=1500" })).toEqual({ ...DEFAULT_RETRY, baseDelayMs: 5, budgetMs: 1500 });
        expect(() => retryPolicyFromEnv({ DELIVERY_GITLAB_RETRY: "attempts=lots" })).toThrow(/DELIVERY_GITLAB_RETRY/);
        expect(() => retryPolicyFromEnv({ DELIVERY_GITLAB_RETRY: "colour=blue" })).toThrow(/DELIVERY_GITLAB_RETRY/);
    });
});

describe("one strict ISO date rule for deploy token expiry", () => {
    const bad = ["2030-02-30", "12/31/2030", "2030-13-01", "2030-1-1", "2030-12-31T00:00:00Z", "2029-02-29", " 2030-12-31"];
    const good = ["2030-12-31", "2028-02-29", "2030-01-01"];

    it("accepts only real calendar dates written YYYY-MM-DD", () => {
        for (const s of bad) expect(isoDateProblem(s), s).toBeDefined();
        for (const s of good) expect(isoDateProblem(s), s).toBeUndefined();
    });

    it("is the rule of the provider, the component and the gitlab: settings", async () => {
        const base = { enabled: "true", url: "https://gitlab.example.com", project: "group/app", token: "glpat-unit-test-token" };
        for (const s of bad) {
            const { failures } = await deployTokenProvider.check!(
                {},
                { gitlabUrl: "https://gitlab.example.com", gitlabToken: "t", project: "1", name: "n", expiresAt: s },
            );
            expect(
                failures!.map((f) => f.property),
                s,
            ).toEqual(["expiresAt"]);
            const problems = gitlabProjectSettingsProblems({
                connection: { url: "https://gitlab.example.com", project: "group/app", token: "t" },
                environment: { name: "staging" },
                deployToken: { expiresAt: s },
            });
            expect(problems.join("\n"), s).toContain("deployToken.expiresAt");
            expect(() => parseGitlabSettings("staging", { ...base, deployTokenExpiresAt: s }), s).toThrow(/gitlab:deployTokenExpiresAt/);
        }
        for (const s of good) {
            const { failures } = await deployTokenProvider.check!(
                {},
                { gitlabUrl: "https://gitlab.example.com", gitlabToken: "t", project: "1", name: "n", expiresAt: s },
            );
            expect(failures, s).toEqual([]);
            expect(parseGitlabSettings("staging", { ...base, deployTokenExpiresAt: s })?.deployToken).toMatchObject({ expiresAt: s });
        }
    });
});
