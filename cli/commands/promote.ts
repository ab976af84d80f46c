import { Command } from "commander";
import { LedgerEntry, currentEntry } from "../../components/release/ledger";
import { applyAndReport, planWriter } from "../change";
import { confirm } from "../confirm";
import { Refusal, UsageError } from "../io";
import { CommonOptions, optionsOf, versionArg, withCommonOptions, withYes } from "../options";
import { shortCommit, shortDigest } from "../output";
import { Ledger, entryOrRefuse, ledgerFromState, openStack, projectDir, readLedger, requireImageInRegistry, runningEntry } from "../stacks";

interface PromoteOptions extends CommonOptions {
    readonly from?: string;
    readonly yes?: boolean;
}

export function register(program: Command): void {
    withYes(
        withCommonOptions(
            program
                .command("promote")
                .description(
                    "deploy the upstream stack's current release (or the one given) onto the stack, byte for byte, no build; origin `promote <upstream> vN`",
                )
                .argument("[version]", "the upstream's release to promote, e.g. v7 (default: the one that runs there now)")
                .option("--from <stack>", "the upstream stack (default: the stack's delivery:promoteFrom)"),
        ),
    ).action(async (version: string | undefined, _opts: unknown, cmd: Command) => {
        const opts = optionsOf<PromoteOptions>(cmd);
        const n = version === undefined ? undefined : versionArg(version);
        const stack = await openStack(opts);
        const from = opts.from ?? (await stack.getAllConfig())["delivery:promoteFrom"]?.value;
        if (!from) {
            throw new UsageError(
                `stack ${stack.name} has no upstream: pass --from <stack>, or set it for good: pulumi config set delivery:promoteFrom staging --stack ${stack.name}`,
            );
        }
        if (from === stack.name) {
            throw new UsageError(`a stack cannot promote from itself (--from ${from})`);
        }
        const upstream = await openStack({ ...opts, stack: from });
        const upLedger = await readLedger(upstream);
        const chosen = n === undefined ? runningEntry(upLedger) : entryOrRefuse(upLedger, n);
        if (n !== undefined) {
            await requireInReleasesOutput(upstream, upLedger, chosen);
        }
        const own: Ledger = ledgerFromState(stack.name, (await stack.exportStack()).deployment ?? {}, { allowMissing: true });
        const current = currentEntry(own.entries);
        await requireImageInRegistry(stack, chosen);
        const say = planWriter(opts.json);
        say(current ? `${stack.name} runs ${current.version} (${shortDigest(current.digest)}, ${current.origin})` : `${stack.name} has no release yet`);
        say(`promote ${from} ${chosen.version}: image ${chosen.imageRef} (commit ${shortCommit(chosen.commitSha)}), with ${stack.name}'s own settings`);
        await confirm(`Promote ${from} ${chosen.version} onto ${stack.name}?`, {
            yes: opts.yes,
            command: `delivery promote ${chosen.version} --from ${from} --stack ${stack.name}`,
        });
        await applyAndReport(stack, current, {
            envVars: { DELIVERY_PROMOTE_FROM: from, ...(n !== undefined ? { DELIVERY_PROMOTE_RELEASE: chosen.version } : {}) },
            label: `promote ${from} ${chosen.version} onto ${stack.name}`,
            projectDir: projectDir(opts),
            json: opts.json,
        });
    });
}

/** The program takes a given upstream release from the upstream's `releases` output (its newest N): refuse one that is older, before anything changes. */
async function requireInReleasesOutput(upstream: import("@pulumi/pulumi/automation").Stack, ledger: Ledger, entry: LedgerEntry): Promise<void> {
    const releases = (await upstream.outputs()).releases?.value as LedgerEntry[] | undefined;
    if (Array.isArray(releases) && !releases.some((r) => r.number === entry.number)) {
        const oldest = releases[releases.length - 1]?.version ?? "none";
        throw new Refusal(
            `${ledger.stack} exports only its newest ${releases.length} releases (down to ${oldest}) in its releases output, which the promotion reads; ` +
                `${entry.version} is older. Nothing was changed. Roll back to it on ${ledger.stack} first, or promote a newer one (delivery releases --stack ${ledger.stack})`,
        );
    }
}
