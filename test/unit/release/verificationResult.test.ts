import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    MASK,
    commandCheck,
    failureMessage,
    healthCheck,
    maskSecrets,
    outputTail,
    releaseIdCheck,
    verificationResult,
} from "../../../components/release/verificationResult";

describe("verification result", () => {
    it("has the contract's shape: status, ISO time it finished, checks, duration, the output tail only when there is one", () => {
        const checks = [healthCheck("/healthz", 200), releaseIdCheck("r-1", 200, '{"release_id":"r-1"}')];
        const r = verificationResult(checks, 1_000, 1_250);
        expect(r).toEqual({ status: "passed", at: new Date(1_250).toISOString(), checks, durationMs: 250 });
        expect(Object.keys(verificationResult(checks, 0, 1, "ok"))).toEqual(["status", "at", "checks", "durationMs", "outputTail"]);
        expect(r.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it("passes only when there is a check and every check passed", () => {
        expect(verificationResult([], 0, 0).status).toBe("failed");
        expect(verificationResult([healthCheck("/h", 200), healthCheck("/h", 503)], 0, 0).status).toBe("failed");
        fc.assert(
            fc.property(fc.array(fc.boolean(), { minLength: 1 }), (ok) => {
                const r = verificationResult(
                    ok.map((passed, i) => ({ name: `c${i}`, passed, detail: "" })),
                    0,
                    0,
                );
                expect(r.status === "passed").toBe(ok.every(Boolean));
            }),
        );
    });

    it("health: 200 passes; another status or no answer fails, saying what was seen", () => {
        expect(healthCheck("/healthz", 200)).toEqual({ name: "health", passed: true, detail: "GET /healthz answered 200" });
        expect(healthCheck("/healthz", 503)).toEqual({ name: "health", passed: false, detail: "GET /healthz answered 503" });
        expect(healthCheck("/healthz", undefined, "ECONNREFUSED")).toEqual({ name: "health", passed: false, detail: "GET /healthz failed: ECONNREFUSED" });
    });

    it("release id: only JSON naming this release passes (an old release still serving fails)", () => {
        expect(releaseIdCheck("r-new", 200, JSON.stringify({ release_id: "r-new" })).passed).toBe(true);
        expect(releaseIdCheck("r-new", 200, JSON.stringify({ release_id: "r-old" }))).toEqual({
            name: "release-id",
            passed: false,
            detail: 'GET / serves release "r-old", not r-new',
        });
        expect(releaseIdCheck("r-new", 200, "<html>").detail).toBe('GET / answered no JSON ("<html>")');
        expect(releaseIdCheck("r-new", 500, "").detail).toBe("GET / answered 500");
        expect(releaseIdCheck("r-new", undefined, "", "timeout").detail).toBe("GET / failed: timeout");
    });

    it("verify command: exit 0 passes; non-zero, a timeout or no run fails", () => {
        expect(commandCheck("true", 0, 120)).toEqual({ name: "verify-command", passed: true, detail: "true: exited 0" });
        expect(commandCheck("false", 1, 120)).toEqual({ name: "verify-command", passed: false, detail: "false: exited 1" });
        expect(commandCheck("sleep 9", undefined, 5).detail).toBe("sleep 9: did not finish within 5s");
        expect(commandCheck("x", undefined, 5, "no such image").detail).toBe("x: could not run: no such image");
    });

    it("masks every secret value, longest first, and keeps the last lines", () => {
        expect(maskSecrets("key=abc123 again abc123", { K: "abc123" })).toBe(`key=${MASK} again ${MASK}`);
        expect(maskSecrets("abcdef", { A: "abc", B: "abcdef" })).toBe(MASK);
        expect(maskSecrets("nothing", { EMPTY: "" })).toBe("nothing");
        const text = Array.from({ length: 100 }, (_, i) => `line ${i} s3cr3t`).join("\n") + "\n";
        const tail = outputTail(text, { S: "s3cr3t" }, 3);
        expect(tail).toBe(`line 97 ${MASK}\nline 98 ${MASK}\nline 99 ${MASK}`);
    });

    it("never leaves a secret in the tail, whatever the output around it", () => {
        fc.assert(
            // Lowercase secrets: "[MASKED]" itself cannot contain one.
            fc.property(fc.string(), fc.stringMatching(/^[a-z0-9]{1,20}$/), fc.string(), (before, secret, after) => {
                expect(outputTail(`${before}${secret}${after}\n${secret}`, { S: secret }, 1000)).not.toContain(secret);
            }),
            { numRuns: 300 },
        );
    });

    it("a failure message names the failed checks and the output", () => {
        const r = verificationResult([healthCheck("/h", 200), commandCheck("false", 1, 5)], 0, 0, "boom");
        const m = failureMessage("r-1", r);
        expect(m).toContain("release r-1 failed its verification");
        expect(m).toContain("  - verify-command: false: exited 1");
        expect(m).not.toContain("health:");
        expect(m).toContain("last output lines:\nboom");
    });
});
