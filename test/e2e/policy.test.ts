import { Stack } from "@pulumi/pulumi/automation";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Project, ensureEnvironment, localConfig, resourceTypes } from "../support/workspace";
import { PORTS } from "../support/ports";

/**
 * The policy pack (policy/) run by the real engine: `--policy-pack` starts it through the
 * language host's RunPlugin, it checks the inputs of every resource, and a mandatory
 * violation stops the update before anything is created.
 */
describe("the policy pack on the real engine", () => {
    let project: Project;
    let stack: Stack;
    let policyPack: string;

    beforeAll(async () => {
        ensureEnvironment();
        project = new Project();
        policyPack = join(project.dir, "policy");
        stack = await project.stack("e2e-policy", localConfig(project, PORTS.policy));
    });

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        project?.cleanup();
    });

    it("passes the dev stack's update, with every policy run on its resources", async () => {
        const up = await stack.up({ policyPacks: [policyPack] });
        expect(up.summary.result).toBe("succeeded");
        expect(up.stdout).toMatch(/Policies:\s+✅ delivery@v/);
        expect(await resourceTypes(stack)).toContain("docker-build:index:Image");
    });

    it("stops an update that builds in a promotion-only stack, naming the policy and the fix", async () => {
        // The stacks the rule guards are policy configuration; name this one among them.
        const config = join(project.dir, "policy-config.json");
        writeFileSync(config, JSON.stringify({ "promotion-only-stacks-never-build": { stacks: ["production", "e2e-policy"] } }));
        project.changeApp((source) => source.replace("Hello", "Hello again"));
        const before = await stack.exportStack();

        const error = await stack.up({ policyPacks: [policyPack], policyPackConfigs: [config] }).then(
            () => undefined,
            (e: Error) => e,
        );

        expect(error, "up should fail").toBeInstanceOf(Error);
        const message = String(error?.message);
        expect(message).toContain("promotion-only-stacks-never-build");
        expect(message).toContain("mandatory");
        expect(message).toContain('stack "e2e-policy" builds an image; it must deploy the digest its upstream stack released (delivery:promoteFrom)');
        // Nothing was replaced: the state still holds the release the first update made.
        const after = await stack.exportStack();
        const image = (s: typeof before) => s.deployment.resources.find((r: { type: string }) => r.type === "docker-build:index:Image")?.outputs?.digest;
        expect(image(after)).toBe(image(before));
    });
});
