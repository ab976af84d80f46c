import { describe, expect, it } from "vitest";
import { engineErrorText, main } from "../../../cli/delivery";
import { recordingIo } from "./fixture";

/** Command-line errors: exit 2 with what is wrong, before any stack is opened. */
describe("delivery command line", () => {
    const run = async (...args: string[]) => {
        const io = recordingIo();
        const code = await main(args, io);
        return { code, ...io };
    };

    it("lists the commands, --stack's default and the exit codes in --help, exit 0", async () => {
        const r = await run("--help");
        expect(r.code).toBe(0);
        for (const cmd of ["releases", "show", "diff", "rollback", "promote"]) {
            expect(r.stdout).toContain(cmd);
        }
        expect(r.stdout).toContain("--stack <name> (default: dev)");
        expect(r.stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 /);
    });

    it("documents --yes and --json on a command that changes a stack", async () => {
        const r = await run("rollback", "--help");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("-y, --yes");
        expect(r.stdout).toContain("--json");
        expect(r.stdout).toMatch(/--stack <name>\s+the stack to act on \(default: "dev"\)/);
    });

    it("refuses a version that is not v<number>, exit 2", async () => {
        const r = await run("rollback", "12");
        expect(r.code).toBe(2);
        expect(r.stderr).toBe('delivery: "12" is not a release version: expected v<number>, e.g. v12 (delivery releases lists them)\n');
        expect(r.stdout).toBe("");
    });

    it("refuses a malformed second version of diff, exit 2", async () => {
        const r = await run("diff", "v1", "latest");
        expect(r.code).toBe(2);
        expect(r.stderr).toContain('"latest" is not a release version');
    });

    it("refuses a missing argument, an unknown command and a bad --limit, exit 2", async () => {
        const missing = await run("show");
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain("missing required argument 'version'");
        const unknown = await run("rollbak", "v1");
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toContain("unknown command 'rollbak'");
        const limit = await run("releases", "--limit", "0");
        expect(limit.code).toBe(2);
        expect(limit.stderr).toContain('expected a whole number of 1 or more (got "0")');
        const option = await run("releases", "--stak", "dev");
        expect(option.code).toBe(2);
        expect(option.stderr).toContain("unknown option '--stak'");
    });

    it("turns the engine's errors into the lines that matter, naming the passphrase variable", () => {
        class CommandError extends Error {}
        expect(
            engineErrorText(
                new CommandError(
                    "code: -2\n stderr: Command failed\nerror: could not deserialize deployment: passphrase must be set with PULUMI_CONFIG_PASSPHRASE",
                ),
            ),
        ).toBe("the stack's secrets need its passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), as its deploy jobs do");
        expect(engineErrorText(new CommandError("code: 255\n stdout: \nerror: the stack is locked\n at x"))).toBe("error: the stack is locked");
    });
});
