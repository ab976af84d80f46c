import { describe, expect, it } from "vitest";
import {
    GateOptions,
    GateRefusal,
    GatedRelease,
    Verification,
    decideGate,
    durationText,
    gate,
    gateRecord,
    readVerification,
} from "../../../components/release/gate";
import { origins } from "../../../components/release/ledger";

const AT = "2026-12-01T12:00:00.000Z";
const NOW = Date.parse(AT) + 250_000; // 4m10s after the verification finished
const passed: Verification = {
    status: "passed",
    at: AT,
    checks: [
        { name: "health", passed: true, detail: "GET /healthz answered 200" },
        { name: "release-id", passed: true, detail: "GET / answered release_id r-7" },
    ],
    durationMs: 1800,
};
const failed: Verification = {
    status: "failed",
    at: AT,
    checks: [
        { name: "health", passed: true, detail: "GET /healthz answered 200" },
        { name: "verify-command", passed: false, detail: "exited 1 after 0.4s" },
    ],
    durationMs: 2400,
    outputTail: "running 3 tests\nFAIL: test_greeting (expected 'hello')\n\n",
};
const release = (verification: unknown): GatedRelease => ({ stack: "staging", version: "v7", releaseId: "r-7", verification });
const OVERRIDE = "override with `pulumi config set delivery:promoteUnverified true --stack production` or PROMOTE_UNVERIFIED=true in the job's environment";

describe("durationText", () => {
    it("writes whole seconds as h/m/s, rounding a wait up", () => {
        expect([0, 1, 59, 60, 250, 350, 600, 3725, 0.2].map(durationText)).toEqual(["0s", "1s", "59s", "1m", "4m10s", "5m50s", "10m", "1h2m5s", "1s"]);
    });
});

describe("the promotion gate: each decision and its message", () => {
    // [case, verification, options (soakSeconds, override), decision, refusal message or origin of the promotion]
    const cases: Array<[string, unknown, Partial<GateOptions>, string, string]> = [
        ["verified, no soak", passed, { soakSeconds: 0 }, "verified", "promote staging v7"],
        ["verified, soak over", passed, { soakSeconds: 240 }, "verified", "promote staging v7"],
        ["verified with an override given: no override recorded", passed, { soakSeconds: 0, override: "PROMOTE_UNVERIFIED" }, "verified", "promote staging v7"],
        [
            "failed",
            failed,
            { soakSeconds: 0 },
            "failed",
            `staging v7 (release id r-7) failed its verification at ${AT} (verify-command: exited 1 after 0.4s); its output ended with: FAIL: test_greeting (expected 'hello'); fix it and release again upstream, or ${OVERRIDE}`,
        ],
        [
            "failed without output or a failed check",
            { ...failed, checks: [], outputTail: undefined },
            { soakSeconds: 0 },
            "failed",
            `staging v7 (release id r-7) failed its verification at ${AT} (no check is named as failed); fix it and release again upstream, or ${OVERRIDE}`,
        ],
        [
            "soaking",
            passed,
            { soakSeconds: 600 },
            "soaking",
            `staging v7 (release id r-7) is soaking: verified 4m10s ago, delivery:soakSeconds is 600; promote in 5m50s, or ${OVERRIDE}`,
        ],
        [
            "not verified (absent)",
            undefined,
            { soakSeconds: 0 },
            "unverified",
            `staging v7 (release id r-7) is not verified (it has no verification); verify it upstream (pulumi up on staging) first, or ${OVERRIDE}`,
        ],
        [
            "not verified (a status this program cannot read)",
            { status: "running", at: AT },
            { soakSeconds: 0 },
            "unverified",
            `staging v7 (release id r-7) is not verified (its verification has status "running", not "passed" or "failed"); verify it upstream (pulumi up on staging) first, or ${OVERRIDE}`,
        ],
        [
            "not verified (no time it finished)",
            { ...passed, at: "soon" },
            { soakSeconds: 0 },
            "unverified",
            `staging v7 (release id r-7) is not verified (its verification has no time it finished (at: "soon")); verify it upstream (pulumi up on staging) first, or ${OVERRIDE}`,
        ],
        [
            "overridden: soaking",
            passed,
            { soakSeconds: 600, override: "delivery:promoteUnverified" },
            "overridden",
            "promote staging v7 (unverified: soaking 4m10s of 10m)",
        ],
        [
            "overridden: failed",
            failed,
            { soakSeconds: 0, override: "PROMOTE_UNVERIFIED" },
            "overridden",
            "promote staging v7 (unverified: verification failed)",
        ],
        [
            "overridden: not verified",
            undefined,
            { soakSeconds: 600, override: "PROMOTE_UNVERIFIED" },
            "overridden",
            "promote staging v7 (unverified: not verified)",
        ],
    ];

    it.each(cases)("%s", (_name, verification, options, decision, text) => {
        const opts: GateOptions = { soakSeconds: 0, now: NOW, ...options };
        expect(decideGate(release(verification), opts).decision).toBe(decision);
        if (decision === "verified" || decision === "overridden") {
            const { decision: d } = gate(release(verification), opts, "production");
            const unverified = d.decision === "overridden" ? text.match(/\(unverified: (.*)\)$/)![1] : undefined;
            expect(origins.promote("staging", "v7", unverified)).toBe(text);
        } else {
            expect(() => gate(release(verification), opts, "production")).toThrow(GateRefusal);
            expect(() => gate(release(verification), opts, "production")).toThrow(text);
            try {
                gate(release(verification), opts, "production");
            } catch (e) {
                expect((e as Error).message).toBe(text);
            }
        }
    });

    it("names a release without a version or id by its stack only", () => {
        expect(() => gate({ stack: "staging", verification: undefined }, { soakSeconds: 0, now: NOW }, "production")).toThrow(
            /^staging is not verified \(it has no verification\)/,
        );
    });

    it("treats a verification finished in the future (clock skew) as just finished", () => {
        expect(decideGate(release({ ...passed, at: new Date(NOW + 60_000).toISOString() }), { soakSeconds: 30, now: NOW })).toMatchObject({
            decision: "soaking",
            ageSeconds: 0,
            leftSeconds: 30,
        });
    });

    it("records what let the release through, and nothing for a refusal", () => {
        expect(gateRecord(decideGate(release(passed), { soakSeconds: 0, now: NOW }))).toEqual({ decision: "verified", verifiedAt: AT });
        expect(gateRecord(decideGate(release(passed), { soakSeconds: 600, now: NOW, override: "delivery:promoteUnverified" }))).toEqual({
            decision: "overridden",
            blocked: "soaking",
            overriddenBy: "delivery:promoteUnverified",
            verifiedAt: AT,
        });
        expect(gateRecord(decideGate(release(undefined), { soakSeconds: 0, now: NOW, override: "PROMOTE_UNVERIFIED" }))).toEqual({
            decision: "overridden",
            blocked: "unverified",
            overriddenBy: "PROMOTE_UNVERIFIED",
        });
        expect(gateRecord(decideGate(release(failed), { soakSeconds: 0, now: NOW }))).toBeUndefined();
    });

    it("reads only the contract's fields of a verification", () => {
        expect(readVerification({ ...passed, extra: 1, checks: [{ name: "x", passed: "yes", detail: 3 }, null] })).toEqual({
            status: "passed",
            at: AT,
            checks: [{ name: "x", passed: false, detail: "3" }],
            durationMs: 1800,
        });
        expect(readVerification(null)).toBe("it has no verification");
    });
});
