import { io, Refusal } from "./io";

export interface ConfirmOptions {
    /** `--yes`: go ahead without asking. */
    readonly yes?: boolean;
    /** The command to print in the refusal, e.g. `delivery rollback v3 --stack dev`. */
    readonly command: string;
}

/**
 * The rule for every subcommand that changes a stack: `--yes` goes ahead; otherwise a person
 * answers on the terminal (`y` or `yes`); without a terminal (a script, a CI job) it refuses
 * rather than hang or guess, and says to pass --yes.
 */
export async function confirm(question: string, opts: ConfirmOptions): Promise<void> {
    if (opts.yes) {
        return;
    }
    if (!io.stdinIsTTY) {
        throw new Refusal(`not asking without a terminal (stdin is not a TTY); nothing was changed. To go ahead without a prompt: ${opts.command} --yes`);
    }
    const answer = (await io.ask(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
        throw new Refusal("cancelled; nothing was changed");
    }
}
