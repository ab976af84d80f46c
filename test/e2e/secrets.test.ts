import { Stack } from "@pulumi/pulumi/automation";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Project, ReleaseOutput, ensureEnvironment, envValue, getApp, localConfig, outputValue } from "../support/workspace";
import { PORTS } from "../support/ports";

function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
}

/**
 * Secret settings and registry credentials, pushed through a registry that requires a
 * password: none of the known values may appear in the state files or the command output.
 */
describe("secrets stay encrypted", () => {
    let project: Project;
    let stack: Stack;
    /** A second stack with the very same settings and secret. */
    let twin: Stack | undefined;
    const appSecret = `e2e-app-secret-${Date.now()}`;
    let registryPassword: string;
    const output: string[] = [];

    const settings = () => ({
        registryServer: "127.0.0.1:5001",
        registryUsername: "delivery",
        registryPassword: { value: registryPassword, secret: true as const },
        secretEnv: { value: JSON.stringify({ SECRET_KEY: appSecret }), secret: true as const },
    });

    beforeAll(async () => {
        ensureEnvironment();
        const runDir = envValue("DELIVERY_RUN_DIR");
        registryPassword = readFileSync(join(runDir, "registry-auth", "password"), "utf8").trim();
        project = new Project();
        stack = await project.stack("e2e-secrets", localConfig(project, PORTS.secrets.stack, settings()));
    });

    afterAll(async () => {
        await stack?.destroy().catch(() => undefined);
        await twin?.destroy().catch(() => undefined);
        project?.cleanup();
    });

    it("deploys through the password-protected registry", async () => {
        const up = await stack.up({ onOutput: (o) => output.push(o), diff: true });
        output.push(JSON.stringify(up.outputs));
        const app = await getApp(String(up.outputs.url.value) + "/");
        expect(app.status).toBe(200);
        expect(app.body.secret_configured).toBe(true);
        expect(JSON.stringify(app.body)).not.toContain(appSecret);
        await stack.preview({ onOutput: (o) => output.push(o), diff: true });
    });

    it("keeps the values out of state, outputs and logs", async () => {
        // exportStack() decrypts (the Automation API exports with --show-secrets), so the
        // state is read as the backend stored it.
        const stateFiles = filesUnder(join(project.dir, ".state")).map((f) => readFileSync(f, "utf8"));
        const stackFile = readFileSync(join(project.dir, "Pulumi.e2e-secrets.yaml"), "utf8");
        for (const secret of [appSecret, registryPassword]) {
            expect(stateFiles.some((s) => s.includes(secret))).toBe(false);
            expect(stackFile).not.toContain(secret);
            expect(output.join("\n")).not.toContain(secret);
        }
        // The values are in the state, encrypted, not dropped.
        expect(stateFiles.some((s) => s.includes('"ciphertext"'))).toBe(true);
        expect(output.join("\n").length).toBeGreaterThan(100);
    });

    it("hashes secrets under the stack's own key: the same secret elsewhere gives another hash, a re-run keeps the release id", async () => {
        const first = outputValue<ReleaseOutput>(await stack.outputs(), "release");
        twin = await project.stack("e2e-secrets-twin", localConfig(project, PORTS.secrets.twin, settings()));
        const other = outputValue<ReleaseOutput>((await twin.up()).outputs, "release");
        // configHash covers only the settings, which are the same in both stacks: only the key differs.
        expect(other.configHash).not.toBe(first.configHash);

        const again = await stack.up({ onOutput: (o) => output.push(o) });
        expect(again.summary.resourceChanges?.update ?? 0).toBe(0);
        expect(outputValue<ReleaseOutput>(again.outputs, "release").releaseId).toBe(first.releaseId);
    });
});
