/**
 * What the `delivery` command writes to and reads from, in one place so that the unit tests can
 * replace it: stdout carries the answer (a table, or JSON with --json), stderr the progress line,
 * prompts and errors.
 */
export interface CliIo {
    out(text: string): void;
    err(text: string): void;
    /** Whether a person can answer a prompt (stdin is a terminal). */
    stdinIsTTY: boolean;
    /** Whether stderr is a terminal (the progress line then rewrites itself in place). */
    stderrIsTTY: boolean;
    /** Asks one question on stderr and resolves with the line typed. */
    ask(question: string): Promise<string>;
}

async function askOnTerminal(question: string): Promise<string> {
    const { createInterface } = await import("node:readline/promises");
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
        return await rl.question(question);
    } finally {
        rl.close();
    }
}

export const processIo = (): CliIo => ({
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    ask: askOnTerminal,
});

/** The io the commands use; `main` sets it (tests pass their own). */
export let io: CliIo = processIo();

export function setIo(next: CliIo): void {
    io = next;
}

/** Exit codes, as `delivery --help` documents them. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** A refusal or failure the user can act on: exit 1, the message (naming what to set or run) on stderr. */
export class Refusal extends Error {
    readonly exitCode: number = EXIT.refused;
}

/** A wrong command line: exit 2. */
export class UsageError extends Error {
    readonly exitCode: number = EXIT.usage;
}

/** Nothing to do (the release asked for already runs): exit 0 with the message. */
export class NothingToDo extends Error {
    readonly exitCode: number = EXIT.ok;
}
