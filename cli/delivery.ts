import { Command, CommanderError } from "commander";
import { register as registerDiff } from "./commands/diff";
import { register as registerPreview } from "./commands/preview";
import { register as registerPromote } from "./commands/promote";
import { register as registerReleases } from "./commands/releases";
import { register as registerRollback } from "./commands/rollback";
import { register as registerShow } from "./commands/show";
import { CliIo, EXIT, io, NothingToDo, processIo, Refusal, setIo, UsageError } from "./io";
import { DEFAULT_STACK } from "./options";
import { CLONE, firstErrorLine } from "./stacks";

const HELP_AFTER = `
Every subcommand takes --stack <name> (default: ${DEFAULT_STACK}) and --json (JSON on stdout;
progress, prompts and notes go to stderr). Subcommands that change a stack (rollback, promote)
ask first; without a terminal they refuse unless --yes is given.

The stacks live in the backend PULUMI_BACKEND_URL names (scripts/env.sh: the clone's .pulumi-state);
a stack with secrets needs PULUMI_CONFIG_PASSPHRASE (dev: its documented one is used when unset).

Exit codes:
  0  done, or nothing to do (the release asked for already runs)
  1  refused or failed (the message says what to set or run); nothing was changed when refused
  2  usage: an unknown command or option, a missing or malformed argument

Examples:
  npx delivery releases --stack staging
  npx delivery diff v12 v15 --stack production
  npx delivery rollback v12 --stack production
  npx delivery promote --from staging --stack production --yes
  npx delivery releases --stack production --pipeline "$CI_PIPELINE_ID" --json
`;

export function buildProgram(): Command {
    const program = new Command("delivery")
        .description("the release ledger of a delivery stack: list, show and diff its releases, roll back, promote")
        .option("-C, --project-dir <dir>", "the project (its Pulumi.yaml, policy/ and git history)", CLONE)
        .showHelpAfterError("(delivery --help lists the commands and options)")
        .addHelpText("after", HELP_AFTER)
        .exitOverride()
        .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    for (const register of [registerReleases, registerShow, registerDiff, registerRollback, registerPromote, registerPreview]) {
        register(program);
    }
    for (const cmd of program.commands) {
        cmd.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    }
    return program;
}

/** An error from the engine (an Automation API CommandError) as the lines that matter, with what to set when it is the passphrase. */
export function engineErrorText(e: unknown): string {
    const message = String((e as Error)?.message ?? e);
    if (/passphrase must be set/.test(message)) {
        return "the stack's secrets need its passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), as its deploy jobs do";
    }
    if (/incorrect passphrase/i.test(message)) {
        return "PULUMI_CONFIG_PASSPHRASE is not this stack's passphrase (the engine says: incorrect passphrase)";
    }
    return (e as Error)?.constructor?.name === "CommandError" ? firstErrorLine(message) : ((e as Error)?.stack ?? message);
}

/** Runs one command line (without `node` and the script) and resolves with its exit code. */
export async function main(args: string[], cliIo: CliIo = processIo()): Promise<number> {
    const previous = io;
    setIo(cliIo);
    const program = buildProgram();
    try {
        await program.parseAsync(args, { from: "user" });
        return EXIT.ok;
    } catch (e) {
        if (e instanceof CommanderError) {
            // --help and --version are CommanderErrors too, with exit code 0.
            return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
        }
        if (e instanceof NothingToDo) {
            io.out(`${e.message}\n`);
            return EXIT.ok;
        }
        if (e instanceof UsageError) {
            io.err(`delivery: ${e.message}\n`);
            return EXIT.usage;
        }
        if (e instanceof Refusal) {
            io.err(`delivery: ${e.message}\n`);
            return EXIT.refused;
        }
        io.err(`delivery: ${engineErrorText(e)}\n`);
        return EXIT.refused;
    } finally {
        setIo(previous);
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => {
        process.exitCode = code;
    });
}
