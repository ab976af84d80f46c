import { PulumiCommand } from "@pulumi/pulumi/automation";

/** What the SDK's runner returns (its CommandResult, which the package does not export). */
export interface CommandResult {
    readonly stdout: string;
    readonly stderr: string;
    readonly code: number;
}

export interface EngineCommand {
    readonly command: string;
    readonly version: PulumiCommand["version"];
    run(
        args: string[],
        cwd: string,
        additionalEnv: Record<string, string>,
        onOutput?: (data: string) => void,
        onError?: (data: string) => void,
        signal?: AbortSignal,
    ): Promise<CommandResult>;
}

const SECRET_MASK = '"[secret]"';

/**
 * The `pulumi` CLI as the Automation API runs it (LocalWorkspaceOptions.pulumiCommand), with the
 * SDK's read-backs cut to what they return. After every up, preview, refresh and destroy, the SDK
 * runs three more CLI processes: `stack output --json`, the same with `--show-secrets`, and
 * `stack history --json --show-secrets --page-size 1`. The two with `--show-secrets` derive the
 * stack's passphrase key (PBKDF2, ~0.2 s of CPU here each) and together cost more than a no-op
 * `up` of the engine's floor (measured: 0.18 + 0.40 + 0.38 CPU-s; `pulumi version` 0.18). So:
 *
 * - the plaintext `stack output` is answered with the masked one when that holds no "[secret]"
 *   anywhere: the CLI masks only secrets (`display.MassageSecrets`), so with none the two texts
 *   are the same;
 * - `stack history` never gets `--show-secrets`: the CLI then leaves secret config values out of
 *   the summary instead of printing them in plain text (nothing here reads them).
 *
 * Every other command runs unchanged (engineCommand() also runs `pulumi version` once per
 * process, not once per workspace). `inner` is the SDK's PulumiCommand (a recording runner in
 * the unit tests).
 */
export function readBackCommand(inner: EngineCommand): EngineCommand {
    // The last masked `stack output` text of each workspace and stack, answered only to the
    // plaintext call that follows it (LocalWorkspace.stackOutputs makes the two in turn): any
    // other command in the same directory forgets it.
    const masked = new Map<string, { key: string; result: CommandResult }>();
    return {
        command: inner.command,
        version: inner.version,
        async run(args, cwd, additionalEnv, onOutput, onError, signal) {
            const kind = outputCall(args);
            const key = JSON.stringify([stackOf(args), additionalEnv]);
            const previous = masked.get(cwd);
            masked.delete(cwd);
            if (kind === "plaintext" && previous?.key === key && !previous.result.stdout.includes(SECRET_MASK)) {
                return previous.result;
            }
            const result = await inner.run(withoutHistorySecrets(args), cwd, additionalEnv, onOutput, onError, signal);
            if (kind === "masked") {
                masked.set(cwd, { key, result });
            }
            return result;
        },
    };
}

function outputCall(args: string[]): "masked" | "plaintext" | undefined {
    if (args[0] !== "stack" || args[1] !== "output" || !args.includes("--json")) {
        return undefined;
    }
    // A named output (`stack output NAME`) is left alone: the SDK never asks for one.
    const rest = args.slice(2).filter((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--stack");
    if (rest.length > 0) {
        return undefined;
    }
    return args.includes("--show-secrets") ? "plaintext" : "masked";
}

function stackOf(args: string[]): string | undefined {
    const i = args.indexOf("--stack");
    return i >= 0 ? args[i + 1] : undefined;
}

function withoutHistorySecrets(args: string[]): string[] {
    return args[0] === "stack" && args[1] === "history" ? args.filter((a) => a !== "--show-secrets") : args;
}

let shared: Promise<PulumiCommand> | undefined;

/**
 * The engine for LocalWorkspaceOptions.pulumiCommand: the `pulumi` on PATH, its version read and
 * checked once per process (PulumiCommand.get, as each workspace did on its own).
 */
export async function engineCommand(): Promise<PulumiCommand> {
    shared ??= PulumiCommand.get().then(
        // PulumiCommand's constructor is private and its run() internal: the workspace calls only
        // run(), command and version, which EngineCommand has.
        (cli) => readBackCommand(cli as unknown as EngineCommand) as unknown as PulumiCommand,
    );
    try {
        return await shared;
    } catch (e) {
        shared = undefined;
        throw e;
    }
}
