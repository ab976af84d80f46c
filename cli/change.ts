import { Stack } from "@pulumi/pulumi/automation";
import { LedgerEntry } from "../components/release/ledger";
import { io } from "./io";
import { printJson, shortCommit, shortDigest, table, when } from "./output";
import { Ledger, readLedger, runUp } from "./stacks";

/** What `delivery rollback` and `delivery promote` print once the update is done. */
export interface ChangeJson {
    readonly stack: string;
    /** Whether the ledger holds a new entry (false: the release asked for already ran; nothing was recorded). */
    readonly changed: boolean;
    /** The entry that runs now. */
    readonly entry: LedgerEntry;
    /** The version that ran before, or null on the stack's first release. */
    readonly previous: string | null;
}

/** Writes plan lines where the answer goes for people, and on stderr under --json (stdout is then only JSON). */
export function planWriter(json: boolean | undefined): (line: string) => void {
    return (line) => (json ? io.err(`${line}\n`) : io.out(`${line}\n`));
}

export function entryRow(e: LedgerEntry): string {
    return table(
        ["version", "release id", "digest", "commit", "origin", "by", "when"],
        [[e.version, e.releaseId, shortDigest(e.digest), shortCommit(e.commitSha), e.origin, e.by, when(e.at)]],
    );
}

/** Runs the update, then reads the ledger again and reports the entry that runs now. */
export async function applyAndReport(
    stack: Stack,
    before: LedgerEntry | undefined,
    opts: { envVars: Record<string, string>; label: string; projectDir: string; json?: boolean },
): Promise<ChangeJson> {
    await runUp(stack, opts);
    const after: Ledger = await readLedger(stack);
    const entry = after.entries[after.entries.length - 1];
    const result: ChangeJson = { stack: stack.name, changed: entry.number !== before?.number, entry, previous: before?.version ?? null };
    if (opts.json) {
        printJson(result);
    } else if (result.changed) {
        io.out(`${stack.name} now runs ${entry.version} (${entry.origin}):\n${entryRow(entry)}`);
    } else {
        io.out(`${stack.name} still runs ${entry.version}: that release already ran, so the ledger records nothing new\n`);
    }
    return result;
}
