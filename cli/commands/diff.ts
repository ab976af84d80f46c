import { Command } from "commander";
import { compare, comparisonText } from "../compare";
import { io } from "../io";
import { CommonOptions, optionsOf, versionArg, withCommonOptions } from "../options";
import { printJson } from "../output";
import { entryOrRefuse, openStack, projectDir, readLedger } from "../stacks";

export function register(program: Command): void {
    withCommonOptions(
        program
            .command("diff")
            .description("what changed from one release to another: digest, commits (git log), settings keys added/changed/removed")
            .argument("<from>", "the earlier release, e.g. v12")
            .argument("<to>", "the later release, e.g. v15"),
    ).action(async (from: string, to: string, _opts: unknown, cmd: Command) => {
        const opts = optionsOf<CommonOptions>(cmd);
        const a = versionArg(from);
        const b = versionArg(to);
        const ledger = await readLedger(await openStack(opts));
        const c = compare(projectDir(opts), entryOrRefuse(ledger, a), entryOrRefuse(ledger, b));
        if (opts.json) {
            printJson({ stack: ledger.stack, ...c });
        } else {
            io.out(`${ledger.stack}: ${c.from} → ${c.to}\n${comparisonText(c)}`);
        }
    });
}
