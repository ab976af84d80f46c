import { Command } from "commander";
import { diffSettings, settingsDiffEmpty } from "../../components/release/ledger";
import { applyAndReport, planWriter } from "../change";
import { confirm } from "../confirm";
import { NothingToDo } from "../io";
import { CommonOptions, optionsOf, versionArg, withCommonOptions, withYes } from "../options";
import { shortCommit, shortDigest } from "../output";
import { entryOrRefuse, openStack, projectDir, readLedger, requireImageInRegistry, runningEntry } from "../stacks";

interface RollbackOptions extends CommonOptions {
    readonly yes?: boolean;
}

export function register(program: Command): void {
    withYes(
        withCommonOptions(
            program
                .command("rollback")
                .description(
                    "run an earlier release's image again, with the stack's current settings (no build); the ledger records a new entry, origin `rollback to vN`",
                )
                .argument("<version>", "the release to run again, e.g. v12 (delivery releases lists them)"),
        ),
    ).action(async (version: string, _opts: unknown, cmd: Command) => {
        const opts = optionsOf<RollbackOptions>(cmd);
        const n = versionArg(version);
        const stack = await openStack(opts);
        const ledger = await readLedger(stack);
        const target = entryOrRefuse(ledger, n);
        const current = runningEntry(ledger);
        if (current.imageRef === target.imageRef) {
            const as = current.number === target.number ? "" : ` (as ${current.version}, ${current.origin})`;
            throw new NothingToDo(`${target.version}'s image already runs on ${stack.name}${as}; nothing to do`);
        }
        await requireImageInRegistry(stack, target);
        const say = planWriter(opts.json);
        say(`${stack.name} runs ${current.version} (${shortDigest(current.digest)}, commit ${shortCommit(current.commitSha)})`);
        say(`rollback to ${target.version}: image ${target.imageRef} (commit ${shortCommit(target.commitSha)}), still in the registry`);
        const d = diffSettings(target.settings, current.settings);
        say(
            settingsDiffEmpty(d)
                ? `settings: the current ones are the same as ${target.version}'s`
                : `settings that differ from ${target.version}'s (the rollback keeps the current ones): ${[...d.changed, ...d.added, ...d.removed].sort().join(", ")}`,
        );
        await confirm(`Roll ${stack.name} back to ${target.version}?`, { yes: opts.yes, command: `delivery rollback ${target.version} --stack ${stack.name}` });
        await applyAndReport(stack, current, {
            envVars: {
                DELIVERY_ROLLBACK_TO: target.version,
                DELIVERY_ROLLBACK_REF: target.imageRef,
                DELIVERY_ROLLBACK_COMMIT_SHA: target.commitSha,
            },
            label: `rollback ${stack.name} to ${target.version}`,
            projectDir: projectDir(opts),
            json: opts.json,
        });
    });
}
