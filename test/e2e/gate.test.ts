import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReleaseOutput, getApp, localConfig, outputValue, useStacks } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The promotion gate on the real engine (Docker target, two stacks): the downstream stack takes
 * only an upstream release whose verification passed at least delivery:soakSeconds ago; it
 * refuses a failed or soaking one before any change, and an explicit override
 * (delivery:promoteUnverified) promotes it with the override recorded in the ledger entry and
 * the origin. The upstream fails a verification with delivery:verifyCommand `exit 1`.
 */

interface GatedOutput extends ReleaseOutput {
    verification?: { status: string; at: string; checks: Array<{ name: string; passed: boolean; detail: string }> };
}
interface Entry {
    version: string;
    releaseId: string;
    origin: string;
    gate?: Record<string, string>;
}

describe("the promotion gate", () => {
    const portA = PORTS.gate.upstream;
    const portB = PORTS.gate.downstream;
    const UP = "e2e-gate-staging";
    const fx = useStacks((project) => ({
        upstream: [UP, localConfig(project, portA, { env: '{"APP_ENV":"staging"}' })],
        downstream: ["e2e-gate-production", localConfig(project, portB, { promoteFrom: UP, env: '{"APP_ENV":"production"}' })],
    }));

    /** Runs `up` and returns its error message (undefined: it succeeded). */
    const upError = (stack: typeof fx.upstream) =>
        stack.up().then(
            () => undefined,
            (e: Error) => String(e.message),
        );
    const downstreamState = async () => ({
        release: outputValue<ReleaseOutput>(await fx.downstream.outputs(), "release"),
        releases: outputValue<Entry[]>(await fx.downstream.outputs(), "releases"),
        serving: (await getApp(`http://127.0.0.1:${portB}/`)).body.release_id,
    });

    it("promotes a release whose verification passed, recording the gate's decision", async () => {
        const up = outputValue<GatedOutput>((await fx.upstream.up()).outputs, "release");
        expect(up.verification?.status).toBe("passed");
        const result = await fx.downstream.up();
        const promoted = outputValue<ReleaseOutput>(result.outputs, "release");
        expect(promoted.digest).toBe(up.digest);
        expect(promoted.origin).toBe(`promote ${UP} v1`);
        const [entry] = outputValue<Entry[]>(result.outputs, "releases");
        expect(entry.gate).toEqual({ decision: "verified", verifiedAt: up.verification!.at });
        expect((await getApp(`http://127.0.0.1:${portB}/`)).body.release_id).toBe(promoted.releaseId);
    });

    it("refuses a release whose verification failed, naming it and its failed check, and changes nothing", async () => {
        const before = await downstreamState();
        await fx.upstream.setAllConfig({
            "delivery:verifyCommand": { value: "echo checking the greeting; echo greeting is wrong; exit 1" },
            "delivery:env": { value: '{"APP_ENV":"staging","GREETING":"r2"}' },
        });
        // Whether the upstream's own `up` then fails is verification's business (verification.ts); the gate reads the exported result.
        await upError(fx.upstream);
        const failed = outputValue<GatedOutput>(await fx.upstream.outputs(), "release");
        expect(failed.version).toBe("v2");
        expect(failed.verification?.status).toBe("failed");
        const message = await upError(fx.downstream);
        expect(message).toContain(
            `delivery:promoteFrom: cannot promote from "${UP}": ${UP} v2 (release id ${failed.releaseId}) failed its verification at ${failed.verification!.at} (`,
        );
        const failedCheck = failed.verification!.checks.find((c) => !c.passed)!;
        expect(message).toContain(`${failedCheck.name}: ${failedCheck.detail}`);
        expect(message).toContain("its output ended with: greeting is wrong");
        expect(message).toContain("override with `pulumi config set delivery:promoteUnverified true --stack e2e-gate-production` or PROMOTE_UNVERIFIED=true");
        expect(message).toContain("nothing was changed");
        expect(await downstreamState()).toEqual(before);
    });

    it("refuses a passed verification younger than delivery:soakSeconds, with the time left", async () => {
        // A new build: the downstream's release of it is a new release (same digest, same config: the same one).
        await fx.upstream.removeConfig("delivery:verifyCommand");
        fx.project.changeApp((src) => src.replace("from the delivery sample app", "from the delivery sample app, r3"));
        const r3 = outputValue<GatedOutput>((await fx.upstream.up()).outputs, "release");
        expect([r3.version, r3.verification?.status]).toEqual(["v3", "passed"]);
        const before = await downstreamState();
        await fx.downstream.setConfig("delivery:soakSeconds", { value: "3600" });
        const message = await upError(fx.downstream);
        expect(message).toMatch(
            new RegExp(
                `${UP} v3 \\(release id ${r3.releaseId}\\) is soaking: verified ([0-9]+s|[0-9]+m[0-9]*s?) ago, delivery:soakSeconds is 3600; promote in 5[0-9]m[0-9]*s?, or override with`,
            ),
        );
        expect(await downstreamState()).toEqual(before);
    });

    it("delivery:promoteUnverified promotes it anyway; the origin and the ledger entry record the override", async () => {
        const r3 = outputValue<GatedOutput>(await fx.upstream.outputs(), "release");
        await fx.downstream.setConfig("delivery:promoteUnverified", { value: "true" });
        const result = await fx.downstream.up();
        const promoted = outputValue<ReleaseOutput>(result.outputs, "release");
        expect(promoted.digest).toBe(r3.digest);
        expect(promoted.origin).toMatch(new RegExp(`^promote ${UP} v3 \\(unverified: soaking [0-9ms]+ of 1h\\)$`));
        const [entry] = outputValue<Entry[]>(result.outputs, "releases");
        expect(entry.origin).toBe(promoted.origin);
        expect(entry.gate).toEqual({ decision: "overridden", blocked: "soaking", overriddenBy: "delivery:promoteUnverified", verifiedAt: r3.verification!.at });
        expect((await getApp(`http://127.0.0.1:${portB}/`)).body.release_id).toBe(promoted.releaseId);
    });

    it("the policy pack passes the gated promotion, and stops a program edited to skip the gate before any change", async () => {
        const policyPack = join(fx.project.dir, "policy");
        const config = join(fx.project.dir, "policy-gate.json");
        writeFileSync(config, JSON.stringify({ "promotion-only-stacks-promote-verified-releases": { stacks: ["production", "e2e-gate-production"] } }));
        const ok = await fx.downstream.up({ policyPacks: [policyPack], policyPackConfigs: [config] });
        expect(ok.summary.result).toBe("succeeded");

        // A hand edit that drops the gate's record from the ledger candidate.
        const releaseTs = join(fx.project.dir, "components", "release", "release.ts");
        const source = readFileSync(releaseTs, "utf8");
        const edited = source.replace("...(args.gate !== undefined ? { gate: args.gate } : {}),", "");
        expect(edited).not.toBe(source);
        writeFileSync(releaseTs, edited);
        const before = await downstreamState();
        const error = await fx.downstream.up({ policyPacks: [policyPack], policyPackConfigs: [config] }).then(
            () => undefined,
            (e: Error) => String(e.message),
        );
        expect(error).toContain("promotion-only-stacks-promote-verified-releases");
        expect(error).toContain("mandatory");
        // The origin is this run's: the override's soak time is measured again.
        expect(error).toMatch(
            new RegExp(
                `stack "e2e-gate-production" records release "promote ${UP} v3 \\(unverified: soaking [0-9ms]+ of 1h\\)" without a promotion gate decision`,
            ),
        );
        expect(await downstreamState()).toEqual(before);
        writeFileSync(releaseTs, source);
    });
});
