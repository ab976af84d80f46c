import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineCommand, readBackCommand } from "../../cli/engineCommand";
import { ensureEnvironment } from "../support/workspace";

const SECRET_CONFIG = "config-s3cr3t-value";
const SECRET_OUTPUT = "output-s3cr3t-value";

/**
 * cli/engineCommand.ts against the real engine: an `up` through it returns what the SDK's own
 * runner returns, in fewer CLI processes, and never has the engine print a secret. An inline
 * program (no language host, no Docker): its outputs hold a secret only when `withSecret` is set.
 */
describe("the Automation API's read-backs, on the real engine", () => {
    let backend: string;
    const calls: string[][] = [];
    let sdk: Stack;
    let ours: Stack;

    const program = async () => {
        const config = new pulumi.Config();
        const withSecret = config.getBoolean("withSecret") ?? false;
        return {
            url: "http://127.0.0.1:8000",
            release: { number: 3, digest: "sha256:" + "a".repeat(64) },
            ...(withSecret ? { token: pulumi.secret(SECRET_OUTPUT), nested: { key: pulumi.secret("inner") } } : {}),
        };
    };

    async function workspace(stackName: string, pulumiCommand: PulumiCommand): Promise<Stack> {
        const stack = await LocalWorkspace.createOrSelectStack(
            { stackName, projectName: "read-backs", program },
            {
                envVars: { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "read-backs" },
                secretsProvider: "passphrase",
                pulumiCommand,
            },
        );
        await stack.setConfig("password", { value: SECRET_CONFIG, secret: true });
        return stack;
    }

    beforeAll(async () => {
        ensureEnvironment();
        backend = mkdtempSync(join(tmpdir(), "delivery-read-backs-"));
        const real = await PulumiCommand.get();
        const counting: EngineCommand = {
            command: real.command,
            version: real.version,
            run(args, ...rest) {
                calls.push([...args]);
                return (real as unknown as EngineCommand).run(args, ...rest);
            },
        };
        sdk = await workspace("sdk", real);
        ours = await workspace("ours", readBackCommand(counting) as unknown as PulumiCommand);
    });
    afterAll(() => rmSync(backend, { recursive: true, force: true }));

    for (const withSecret of [false, true]) {
        it(`returns the SDK's outputs and summary ${withSecret ? "with" : "without"} secret outputs, in ${withSecret ? 4 : 3} CLI runs`, async () => {
            await sdk.setConfig("withSecret", { value: String(withSecret) });
            await ours.setConfig("withSecret", { value: String(withSecret) });
            const expected = await sdk.up();
            calls.length = 0;
            const got = await ours.up();
            expect(got.outputs).toEqual(expected.outputs);
            expect(got.outputs.token?.secret ?? false).toBe(withSecret);
            expect(got.summary.result).toBe("succeeded");
            expect(got.summary.kind).toBe(expected.summary.kind);
            expect(got.summary.resourceChanges).toEqual(expected.summary.resourceChanges);
            // The SDK's history asks for secrets: its summary carries the config value in plain text; ours never does.
            expect(JSON.stringify(expected.summary)).toContain(SECRET_CONFIG);
            expect(JSON.stringify(got.summary)).not.toContain(SECRET_CONFIG);
            expect(calls.map((c) => c.slice(0, 2).join(" "))).toEqual(
                withSecret ? ["up --yes", "stack output", "stack output", "stack history"] : ["up --yes", "stack output", "stack history"],
            );
        });
    }
});
