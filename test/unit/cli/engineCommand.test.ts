import { describe, expect, it } from "vitest";
import { CommandResult, EngineCommand, readBackCommand } from "../../../cli/engineCommand";

/** A CLI that records what it is asked and answers `stack output` with the text it is given. */
function recorder(outputs: { masked: string; plaintext: string }) {
    const calls: string[][] = [];
    const inner: EngineCommand = {
        command: "pulumi",
        version: null,
        async run(args): Promise<CommandResult> {
            calls.push([...args]);
            const stdout = args[1] === "output" ? (args.includes("--show-secrets") ? outputs.plaintext : outputs.masked) : `ran ${args[0]}`;
            return { stdout, stderr: "", code: 0 };
        },
    };
    return { calls, cli: readBackCommand(inner) };
}

// The calls LocalWorkspace.stackOutputs and Stack.info make (@pulumi/pulumi 3.276 automation).
const MASKED = ["stack", "output", "--json", "--stack", "dev"];
const PLAINTEXT = ["stack", "output", "--json", "--show-secrets", "--stack", "dev"];
const HISTORY = ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "dev"];
const ENV = { PULUMI_CONFIG_PASSPHRASE: "p" };
const PLAIN = '{\n  "url": "http://127.0.0.1:8000"\n}';

describe("the Automation API's read-backs", () => {
    it("answers the plaintext outputs with the masked ones when they hold no secret, without running the CLI", async () => {
        const { calls, cli } = recorder({ masked: PLAIN, plaintext: "not asked" });
        expect((await cli.run([...MASKED], "/p", ENV)).stdout).toBe(PLAIN);
        expect((await cli.run([...PLAINTEXT], "/p", ENV)).stdout).toBe(PLAIN);
        expect(calls).toEqual([MASKED]);
    });

    it("runs the plaintext call when a secret is masked, at the top or inside an object", async () => {
        for (const masked of ['{\n  "token": "[secret]"\n}', '{\n  "release": {\n    "env": "[secret]"\n  }\n}']) {
            const { calls, cli } = recorder({ masked, plaintext: '{"token": "s3cr3t"}' });
            await cli.run([...MASKED], "/p", ENV);
            expect((await cli.run([...PLAINTEXT], "/p", ENV)).stdout).toBe('{"token": "s3cr3t"}');
            expect(calls).toEqual([MASKED, PLAINTEXT]);
        }
    });

    it("runs the plaintext call when it does not follow the masked one of the same stack and environment at once", async () => {
        const cases: Array<[string, (cli: EngineCommand) => Promise<unknown>]> = [
            ["no masked call before it", async () => undefined],
            ["another command in between", (cli) => cli.run(["up", "--yes", "--stack", "dev"], "/p", ENV)],
            ["another stack's masked call", (cli) => cli.run([...MASKED.slice(0, -1), "prod"], "/p", ENV)],
            ["another passphrase", (cli) => cli.run([...MASKED], "/p", { PULUMI_CONFIG_PASSPHRASE: "other" })],
        ];
        for (const [why, between] of cases) {
            const { calls, cli } = recorder({ masked: PLAIN, plaintext: '{"url": "fresh"}' });
            if (why !== "no masked call before it") {
                await cli.run([...MASKED], "/p", ENV);
            }
            await between(cli);
            expect((await cli.run([...PLAINTEXT], "/p", ENV)).stdout, why).toBe('{"url": "fresh"}');
            expect(calls.at(-1), why).toEqual(PLAINTEXT);
        }
    });

    it("never asks stack history for secrets, and passes every other command through unchanged", async () => {
        const { calls, cli } = recorder({ masked: PLAIN, plaintext: PLAIN });
        await cli.run([...HISTORY], "/p", ENV);
        await cli.run(["stack", "history", "--json", "--show-secrets", "--stack", "dev"], "/p", ENV);
        await cli.run(["up", "--yes", "--skip-preview", "--show-secrets", "--stack", "dev"], "/p", ENV);
        await cli.run(["stack", "output", "--json", "--show-secrets", "url", "--stack", "dev"], "/p", ENV);
        expect(calls).toEqual([
            ["stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack", "dev"],
            ["stack", "history", "--json", "--stack", "dev"],
            ["up", "--yes", "--skip-preview", "--show-secrets", "--stack", "dev"],
            ["stack", "output", "--json", "--show-secrets", "url", "--stack", "dev"],
        ]);
    });
});
