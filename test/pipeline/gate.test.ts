import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, readCiYaml } from "./harness";

/**
 * The promotion gate's CI override (PROMOTE_UNVERIFIED): a pipeline variable the production job
 * gets unchanged. The gate itself and its refusal run in the program (test/unit/policy/gate.test.ts,
 * test/e2e/gate.test.ts); a tag pipeline that runs the production job against an unverified staging
 * release on gitlab-ci-local is not covered here.
 */
describe("PROMOTE_UNVERIFIED in the pipeline", () => {
    const doc = readCiYaml();

    it("is a described pipeline variable, false unless a person sets it", () => {
        const v = doc.variables.PROMOTE_UNVERIFIED;
        expect(v.value).toBe("false");
        expect(v.description).toMatch(/^production job only: true promotes a staging release that is not verified/);
    });

    it("reaches the production job's pulumi up unchanged: neither the job nor promote.sh sets it", () => {
        expect(doc.production.script).toEqual(["scripts/ci/promote.sh production"]);
        expect(doc.production.variables?.PROMOTE_UNVERIFIED).toBeUndefined();
        const script = readFileSync(join(ROOT, "scripts", "ci", "promote.sh"), "utf8");
        const code = script
            .split("\n")
            .filter((line) => !line.trimStart().startsWith("#"))
            .join("\n");
        expect(code).not.toMatch(/PROMOTE_UNVERIFIED/);
        expect(code).toMatch(/^pulumi up --stack "\$stack"/m);
        expect(script).toContain("# PROMOTE_UNVERIFIED=true");
    });
});
