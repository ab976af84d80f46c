import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { deliver } from "../../../program";
import { RELEASE_LEDGER_TYPE, ungatedRelease } from "../../../policy/rules";
import { Recorder, SHA, fakeDigest, installMocks, plain, settle, useCiEnvironment, valueOf } from "../harness";

/**
 * promotion-only-stacks-promote-verified-releases: in a promotion-only stack the ledger records
 * only a release the promotion gate let through (components/release/gate.ts), so a program
 * edited by hand to skip the gate is still stopped by the policy pack.
 */

const urn = (stack: string) => `urn:pulumi:${stack}::delivery::delivery:release:Release$${RELEASE_LEDGER_TYPE}::release-ledger`;
const STACKS = ["production"];
const candidate = (extra: Record<string, unknown>) => ({ releaseId: "r-1", origin: "promote staging v7", ...extra });
const RULE =
    "a promotion-only stack takes only a release whose verification passed (the promotion gate, components/release/gate.ts), or one let through by delivery:promoteUnverified or PROMOTE_UNVERIFIED";

describe("ungatedRelease", () => {
    const cases: Array<[string, string, Record<string, unknown> | undefined, string[]]> = [
        ["verified", "production", candidate({ gate: { decision: "verified", verifiedAt: "2026-12-01T12:00:00.000Z" } }), []],
        [
            "overridden by delivery:promoteUnverified",
            "production",
            candidate({ gate: { decision: "overridden", overriddenBy: "delivery:promoteUnverified" } }),
            [],
        ],
        ["overridden by PROMOTE_UNVERIFIED", "production", candidate({ gate: { decision: "overridden", overriddenBy: "PROMOTE_UNVERIFIED" } }), []],
        ["a rollback of the stack's own entry", "production", { origin: "rollback to v3", rollbackOf: 3 }, []],
        ["a pin by hand", "production", { origin: "pin" }, []],
        ["a stack that is not promotion-only", "staging", candidate({}), []],
        ["no candidate known yet (preview)", "production", undefined, []],
        [
            "no gate (a program that skips it)",
            "production",
            candidate({}),
            [`stack "production" records release "promote staging v7" without a promotion gate decision; ${RULE}`],
        ],
        [
            "a gate that refused",
            "production",
            candidate({ gate: { decision: "soaking" } }),
            [`stack "production" records release "promote staging v7" with promotion gate decision "soaking"; ${RULE}`],
        ],
        [
            "an override nobody gave",
            "production",
            candidate({ gate: { decision: "overridden", overriddenBy: "me" } }),
            [`stack "production" records release "promote staging v7" with promotion gate decision "overridden" by "me"; ${RULE}`],
        ],
        [
            "a rollback origin without the entry it runs again",
            "production",
            { origin: "rollback to v3" },
            [`stack "production" records release "rollback to v3" without a promotion gate decision; ${RULE}`],
        ],
    ];
    it.each(cases)("%s", (_name, stack, c, problems) => {
        expect(ungatedRelease(RELEASE_LEDGER_TYPE, urn(stack), c === undefined ? {} : { candidate: c }, STACKS)).toEqual(problems);
    });

    it("looks at the ReleaseLedger only, and reads the stacks it is configured with", () => {
        expect(ungatedRelease("pulumi-nodejs:dynamic/targets:DockerContainer", urn("production"), { candidate: candidate({}) }, STACKS)).toEqual([]);
        expect(ungatedRelease(RELEASE_LEDGER_TYPE, urn("staging"), { candidate: candidate({}) }, ["staging"])).toHaveLength(1);
    });
});

/** Each stack file run through the program under mocks, as test/unit/program.test.ts does. */
const ROOT = join(__dirname, "..", "..", "..");
const DIGEST = fakeDigest("staging-build");
const STAGING_RELEASE = {
    imageRef: `127.0.0.1:5000/delivery/app@${DIGEST}`,
    digest: DIGEST,
    commitSha: SHA,
    releaseId: "r-000000000001",
    configHash: fakeDigest("cfg"),
    createdAt: "2026-11-25T00:00:00.000Z",
    stack: "staging",
    origin: "build",
    number: 4,
    version: "v4",
};
const VERIFIED = {
    status: "passed",
    at: "2026-11-25T00:05:00.000Z",
    checks: [{ name: "health", passed: true, detail: "GET /healthz answered 200" }],
    durationMs: 120,
};

function stackConfig(stack: string, overrides: Record<string, string>): { config: Record<string, string>; secretKeys: string[] } {
    const file = parseYaml(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(file.config ?? {})) {
        const json = JSON.stringify(v, (_key, x) => (x && typeof x === "object" && "secure" in x ? "decrypted-secret" : x));
        if (json.includes("decrypted-secret")) {
            secretKeys.push(k);
        }
        config[k] = typeof v === "string" ? v : json;
    }
    for (const [k, v] of Object.entries(overrides)) {
        config[`delivery:${k}`] = v;
    }
    return { config, secretKeys };
}

async function run(
    stack: string,
    verification: unknown,
    overrides: Record<string, string> = {},
): Promise<{ rec: Recorder; release?: Record<string, unknown>; error?: string }> {
    const { config, secretKeys } = stackConfig(stack, overrides);
    const rec = installMocks({
        stack,
        config,
        secretKeys,
        stackOutputs: { "organization/delivery/staging": { release: { ...STAGING_RELEASE, ...(verification ? { verification } : {}) } } },
    });
    try {
        const out = await deliver();
        const release = (await valueOf(out.release)) as unknown as Record<string, unknown>;
        await settle(rec);
        return { rec, release };
    } catch (e) {
        await settle(rec);
        return { rec, error: (e as Error).message };
    }
}

const ledgerProblems = (stack: string, rec: Recorder) =>
    rec.resources.filter((r) => r.type === RELEASE_LEDGER_TYPE).flatMap((r) => ungatedRelease(r.type, urn(stack), plain(r.inputs), STACKS));

useCiEnvironment();

describe("the promotion gate in every stack file", () => {
    it("lets each stack's ledger pass the rule: dev and staging build, production records a verified promotion", async () => {
        for (const stack of ["dev", "staging", "production"]) {
            const { rec, error } = await run(stack, VERIFIED);
            expect(error, stack).toBeUndefined();
            // Not vacuous: each stack records its release in a ledger.
            expect(
                rec.resources.filter((r) => r.type === RELEASE_LEDGER_TYPE),
                stack,
            ).toHaveLength(1);
            expect(ledgerProblems(stack, rec), stack).toEqual([]);
        }
        const { rec } = await run("production", VERIFIED);
        expect(plain(rec.one(RELEASE_LEDGER_TYPE).inputs).candidate.gate).toEqual({ decision: "verified", verifiedAt: VERIFIED.at });
    });

    it("production refuses staging's unverified release before any resource but the StackReference", async () => {
        const { rec, error } = await run("production", undefined);
        expect(error).toBe(
            'delivery:promoteFrom: cannot promote from "staging": staging v4 (release id r-000000000001) is not verified (it has no verification); verify it upstream (pulumi up on staging) first, or override with `pulumi config set delivery:promoteUnverified true --stack production` or PROMOTE_UNVERIFIED=true in the job\'s environment; nothing was changed',
        );
        expect(rec.resources.filter((r) => r.type !== "pulumi:pulumi:StackReference")).toEqual([]);
    });

    it("production's stack file soaks 600 s: a verification that just finished is refused with the time left", async () => {
        const justNow = { ...VERIFIED, at: new Date(Date.now() - 250_000).toISOString() };
        const { error } = await run("production", justNow);
        expect(error).toMatch(/is soaking: verified 4m1[0-9]s ago, delivery:soakSeconds is 600; promote in 5m[45][0-9]s, or override with/);
    });

    it("production with delivery:promoteUnverified promotes it, says so in the origin and records the override", async () => {
        const { rec, release, error } = await run("production", { ...VERIFIED, status: "failed" }, { promoteUnverified: "true" });
        expect(error).toBeUndefined();
        expect(release?.origin).toBe("promote staging v4 (unverified: verification failed)");
        expect(plain(rec.one(RELEASE_LEDGER_TYPE).inputs).candidate.gate).toEqual({
            decision: "overridden",
            blocked: "failed",
            overriddenBy: "delivery:promoteUnverified",
            verifiedAt: VERIFIED.at,
        });
        expect(ledgerProblems("production", rec)).toEqual([]);
    });

    it("PROMOTE_UNVERIFIED=true in the job's environment does the same, named as such", async () => {
        process.env.PROMOTE_UNVERIFIED = "true";
        try {
            const { rec, release } = await run("production", undefined);
            expect(release?.origin).toBe("promote staging v4 (unverified: not verified)");
            expect(plain(rec.one(RELEASE_LEDGER_TYPE).inputs).candidate.gate).toEqual({
                decision: "overridden",
                blocked: "unverified",
                overriddenBy: "PROMOTE_UNVERIFIED",
            });
        } finally {
            delete process.env.PROMOTE_UNVERIFIED;
        }
    });
});
