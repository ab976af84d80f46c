import { Command } from "commander";
import { Comparison, compare, comparisonText } from "../compare";
import { io } from "../io";
import { CommonOptions, optionsOf, versionArg, withCommonOptions } from "../options";
import { entryTable, printJson } from "../output";
import { entryOrRefuse, openStack, projectDir, readLedger } from "../stacks";

export function register(program: Command): void {
    withCommonOptions(
        program
            .command("show")
            .description("one release: image, digest, commit, origin, settings keys, and what changed since the release before it")
            .argument("<version>", "the release, e.g. v12"),
    ).action(async (version: string, _opts: unknown, cmd: Command) => {
        const opts = optionsOf<CommonOptions>(cmd);
        const n = versionArg(version);
        const ledger = await readLedger(await openStack(opts));
        const entry = entryOrRefuse(ledger, n);
        const previous = [...ledger.entries].reverse().find((e) => e.number < entry.number);
        const since: Comparison | null = previous ? compare(projectDir(opts), previous, entry) : null;
        if (opts.json) {
            printJson({ stack: ledger.stack, running: ledger.entries[ledger.entries.length - 1]?.version === entry.version, entry, since });
            return;
        }
        io.out(entryTable(entry));
        io.out(since ? `\nsince ${since.from}:\n${comparisonText(since)}` : "\nthe stack's first release\n");
    });
}
