import { Command } from "commander";
import { io } from "../io";
import { CommonOptions, optionsOf, positiveInt, withCommonOptions } from "../options";
import { printJson, releasesJson, releasesTable } from "../output";
import { openStack, readLedger } from "../stacks";

interface ReleasesOptions extends CommonOptions {
    readonly limit?: number;
    readonly pipeline?: string;
}

export function register(program: Command): void {
    withCommonOptions(
        program
            .command("releases")
            .description("list the stack's release ledger, newest first; * marks the release that runs now")
            .option("-n, --limit <n>", "show the newest n (after --pipeline)", positiveInt)
            .option("--pipeline <id>", "only the releases made by this CI pipeline (CI_PIPELINE_ID)"),
    ).action(async (_opts: unknown, cmd: Command) => {
        const opts = optionsOf<ReleasesOptions>(cmd);
        const ledger = await readLedger(await openStack(opts));
        const select = { limit: opts.limit, pipeline: opts.pipeline };
        if (opts.json) {
            printJson(releasesJson(ledger.stack, ledger.entries, select));
        } else {
            io.out(releasesTable(ledger.stack, ledger.entries, select));
        }
    });
}
