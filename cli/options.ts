import { Command, InvalidArgumentError, Option } from "commander";
import { parseVersion } from "../components/release/ledger";
import { StackOptions } from "./stacks";
import { UsageError } from "./io";

/** The stack a subcommand acts on when --stack is not given. */
export const DEFAULT_STACK = "dev";

export interface CommonOptions extends StackOptions {
    readonly json?: boolean;
}

/** --stack and --json, which every subcommand takes. */
export function withCommonOptions(cmd: Command): Command {
    return cmd
        .addOption(new Option("-s, --stack <name>", "the stack to act on").default(DEFAULT_STACK))
        .option("--json", "print JSON on stdout for scripts (progress, prompts and notes stay on stderr)");
}

/** --yes, which every subcommand that changes a stack takes. */
export function withYes(cmd: Command): Command {
    return cmd.option("-y, --yes", "go ahead without asking (required when stdin is not a terminal)");
}

/** The options of the command and of the program (-C) together. */
export function optionsOf<T>(cmd: Command): T {
    return cmd.optsWithGlobals() as T;
}

/** A whole number >= 1 (for --limit). */
export function positiveInt(value: string): number {
    if (!/^[1-9][0-9]*$/.test(value)) {
        throw new InvalidArgumentError(`expected a whole number of 1 or more (got "${value}")`);
    }
    return Number(value);
}

/** `v12` → 12; anything else is a usage error (exit 2). */
export function versionArg(value: string, what = "release"): number {
    const n = parseVersion(value);
    if (n === undefined) {
        throw new UsageError(`"${value}" is not a ${what} version: expected v<number>, e.g. v12 (delivery releases lists them)`);
    }
    return n;
}
