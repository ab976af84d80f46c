/**
 * `delivery preview --stack staging --out preview-staging.txt [--summary-out summary.md]`: ONE
 * `pulumi preview --diff` through the Automation API, with the project's policy pack, that gives
 * both the text a person reads (captured with onOutput into --out, and streamed to stdout) and
 * the facts of the release summary (from onEvent): the ReleaseLedger's candidate entry (digest,
 * commit, settings), whether an image is built, and the policy findings. Together with what the
 * stack runs now (its ledger's current entry) they make the summary (cli/releaseSummary.ts) that
 * scripts/mr-note puts at the top of the MR note.
 *
 * Exit status: 0 the preview passed; 1 it failed (the summary and the output are written anyway,
 * the output ending with the engine's error); 2 usage.
 */
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { type LedgerEntry, type LedgerSettings, currentEntry } from "../../components/release/ledger";
import { keyedHash } from "../../components/release/identity";
import { commitRange } from "../git";
import { io, Refusal } from "../io";
import { CommonOptions, optionsOf, withCommonOptions } from "../options";
import { buildReleaseSummary, type CandidateRelease, type PolicyFinding, type RunningRelease, type SummaryInput } from "../releaseSummary";
import { LEDGER_NAME, LEDGER_TYPE, ledgerFromState, openStack, projectDir } from "../stacks";

interface PreviewOptions extends CommonOptions {
    readonly out?: string;
    readonly summaryOut?: string;
    readonly policyPack?: string;
}

/** The image a stack builds (docker-build), and the steps that build it. */
const IMAGE_TYPE = /^docker-build:index:Image$/;
const BUILDING_OPS = new Set(["create", "update", "replace", "create-replacement"]);
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** What onEvent saw, kept as plain data so that summaryInput stays pure. */
export interface PreviewFacts {
    /** The ReleaseLedger's new `candidate` input, as the event shows it (secrets as "[secret]", unknowns as the engine's placeholder). */
    candidate?: Record<string, unknown>;
    /** An image build step was planned. */
    rebuild: boolean;
    policy: PolicyFinding[];
}

export function emptyFacts(): PreviewFacts {
    return { rebuild: false, policy: [] };
}

/** Folds one engine event into the facts. */
export function collect(facts: PreviewFacts, event: EngineEvent): void {
    const pre = event.resourcePreEvent?.metadata;
    if (pre) {
        if (pre.type === LEDGER_TYPE || pre.urn.endsWith(`::${LEDGER_NAME}`)) {
            const candidate = (pre.new?.inputs as Record<string, unknown> | undefined)?.candidate;
            if (candidate && typeof candidate === "object") facts.candidate = candidate as Record<string, unknown>;
        }
        if (IMAGE_TYPE.test(pre.type) && BUILDING_OPS.has(pre.op)) {
            facts.rebuild = true;
        }
    }
    const p = event.policyEvent;
    if (p) {
        facts.policy.push({
            policyName: p.policyName,
            policyPackName: p.policyPackName,
            enforcementLevel: String(p.enforcementLevel),
            message: p.message,
            resourceUrn: p.resourceUrn,
        });
    }
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Settings out of an event's candidate: only when both maps are plain (not "[secret]", not unknown). */
export function settingsOf(v: unknown): LedgerSettings | undefined {
    if (!v || typeof v !== "object") return undefined;
    const { env, secrets } = v as { env?: unknown; secrets?: unknown };
    const plainMap = (m: unknown): m is Record<string, string> =>
        typeof m === "object" && m !== null && !Array.isArray(m) && Object.values(m).every((x) => typeof x === "string");
    return plainMap(env) && plainMap(secrets) ? { env, secrets } : undefined;
}

/** The candidate as the summary wants it. */
export function candidateOf(facts: PreviewFacts, fallbackCommit: string | undefined): CandidateRelease {
    const c = facts.candidate ?? {};
    const digest = str(c.digest);
    return {
        digest: digest && DIGEST.test(digest) ? digest : undefined,
        rebuild: facts.rebuild,
        commitSha: str(c.commitSha) && /^[0-9a-f]{7,64}$/.test(String(c.commitSha)) ? String(c.commitSha) : fallbackCommit,
        settings: settingsOf(c.settings),
    };
}

export function runningOf(entry: LedgerEntry | undefined, release: Record<string, unknown> | undefined): RunningRelease | undefined {
    if (entry) {
        return { version: entry.version, digest: entry.digest, commitSha: entry.commitSha, settings: settingsOf(entry.settings) };
    }
    if (release && str(release.digest)) {
        return { digest: str(release.digest), commitSha: str(release.commitSha), version: str(release.version) };
    }
    return undefined;
}

/** What the stack runs now: its ledger's current entry, else its `release` output (a stack from before the ledger). */
async function readRunning(stack: Stack, deployment: { resources?: StateResource[] }): Promise<RunningRelease | undefined> {
    const ledger = ledgerFromState(stack.name, deployment, { allowMissing: true });
    const entry = currentEntry(ledger.entries);
    if (entry) return runningOf(entry, undefined);
    const outputs = await stack.outputs();
    return runningOf(undefined, outputs.release?.value as Record<string, unknown> | undefined);
}

interface StateResource {
    type: string;
    urn: string;
    outputs?: Record<string, unknown>;
}

const RELEASE_KEY_TYPE = "pulumi-nodejs:dynamic/release:ReleaseKey";

/** A string state value: plain, or a secret as `stack export --show-secrets` gives it (`{<sig>: …, plaintext: "\"…\""}`). */
function plainSecret(v: unknown): string | undefined {
    if (typeof v === "string") return v || undefined;
    const plaintext = (v as { plaintext?: unknown } | undefined)?.plaintext;
    if (typeof plaintext !== "string") return undefined;
    try {
        const parsed = JSON.parse(plaintext) as unknown;
        return typeof parsed === "string" && parsed !== "" ? parsed : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The candidate's settings from the stack's config, for a preview whose ledger candidate is
 * unknown (an image is built, so the whole candidate waits for its digest): `delivery:env` as
 * is, `delivery:secretEnv` as the keyed hashes the ledger records (identity.ts keyedHash under
 * the release key the state holds; the exported state shows it to a caller with the passphrase).
 * Only hashes leave this function; undefined when the key is not in the state (a first release).
 */
export function settingsFromConfig(
    config: Record<string, { value: string; secret?: boolean }>,
    deployment: { resources?: StateResource[] },
): LedgerSettings | undefined {
    const parse = (key: string): Record<string, string> | undefined => {
        const raw = config[key]?.value;
        if (raw === undefined) return {};
        try {
            const v = JSON.parse(raw) as unknown;
            return v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : undefined;
        } catch {
            return undefined;
        }
    };
    const env = parse("delivery:env");
    const secretEnv = parse("delivery:secretEnv");
    if (!env || !secretEnv) return undefined;
    const names = Object.keys(secretEnv);
    if (names.length === 0) return { env, secrets: {} };
    const key = plainSecret((deployment.resources ?? []).find((r) => r.type === RELEASE_KEY_TYPE)?.outputs?.key);
    if (!key) return undefined;
    return { env, secrets: Object.fromEntries(names.map((n) => [n, keyedHash(key, n, secretEnv[n])])) };
}

function headCommit(dir: string): string | undefined {
    if (process.env.CI_COMMIT_SHA && /^[0-9a-f]{40,64}$/.test(process.env.CI_COMMIT_SHA)) return process.env.CI_COMMIT_SHA;
    try {
        return execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, stdio: ["ignore", "pipe", "ignore"] })
            .toString()
            .trim();
    } catch {
        return undefined;
    }
}

/** The engine's complaint out of an Automation API error: its stderr, else the message. */
export function errorText(e: unknown): string {
    const text = String((e as Error)?.message ?? e);
    const at = text.indexOf("\n stderr: ");
    if (at >= 0) {
        const rest = text.slice(at + "\n stderr: ".length);
        const end = rest.indexOf("\n err?: ");
        return (end >= 0 ? rest.slice(0, end) : rest).trim();
    }
    return text.trim();
}

export function summaryInputOf(args: {
    stack: string;
    running: RunningRelease | undefined;
    candidate: CandidateRelease;
    dir: string;
    facts: PreviewFacts;
    failed: boolean;
}): SummaryInput {
    let commits: string[] | undefined;
    let commitsNote: string | undefined;
    const from = args.running?.commitSha;
    const to = args.candidate.commitSha;
    if (from && to && from !== to) {
        try {
            const range = commitRange(args.dir, from, to);
            commits = range.log ?? undefined;
            commitsNote = range.log === null ? range.note : undefined;
        } catch (e) {
            commitsNote = `git log failed: ${String((e as Error).message).split("\n")[0]}`;
        }
    }
    return {
        stack: args.stack,
        running: args.running,
        candidate: args.candidate,
        commits,
        commitsNote,
        policy: args.facts.policy,
        previewFailed: args.failed,
    };
}

export function register(program: Command): void {
    withCommonOptions(
        program
            .command("preview")
            .description(
                "pulumi preview --diff of the stack (one preview, with the policy pack), and a summary of what it would release against what the stack runs now: digest, commits, settings keys, policy",
            )
            .option("-o, --out <file>", "write the preview's output here (default: preview-<stack>.txt in the project)")
            .option("--summary-out <file>", "write the release summary (Markdown) here")
            .option("--policy-pack <dir>", "the policy pack (default: the project's policy/)"),
    ).action(async (_opts: unknown, cmd: Command) => {
        const opts = optionsOf<PreviewOptions>(cmd);
        const dir = projectDir(opts);
        const out = resolve(opts.out ?? join(dir, `preview-${opts.stack}.txt`));
        let text = "";
        const write = () => writeFileSync(out, text);
        const show = (chunk: string) => (opts.json ? io.err(chunk) : io.out(chunk));

        let stack: Stack;
        try {
            stack = await openStack(opts);
        } catch (e) {
            text = `${(e as Error).message}\n`;
            write();
            throw e;
        }
        const deployment = ((await stack.exportStack()).deployment ?? {}) as { resources?: StateResource[] };
        const running = await readRunning(stack, deployment);
        const facts = emptyFacts();
        let failure: string | undefined;
        try {
            await stack.preview({
                diff: true,
                policyPacks: [resolve(opts.policyPack ?? join(dir, "policy"))],
                color: "never",
                onOutput: (chunk) => {
                    text += chunk;
                    show(chunk);
                },
                onEvent: (event) => collect(facts, event),
            });
        } catch (e) {
            failure = errorText(e);
            const tail = `\n${failure}\n`;
            text += tail;
            show(tail);
        }
        write();
        let candidate = candidateOf(facts, headCommit(dir));
        if (!candidate.settings) {
            const settings = settingsFromConfig(await stack.getAllConfig(), deployment);
            candidate = { ...candidate, settings };
        }
        const summary = buildReleaseSummary(summaryInputOf({ stack: stack.name, running, candidate, dir, facts, failed: failure !== undefined }));
        if (opts.summaryOut) {
            writeFileSync(resolve(opts.summaryOut), `${summary}\n`);
        }
        if (opts.json) {
            io.out(
                `${JSON.stringify({ stack: stack.name, passed: failure === undefined, running: running ?? null, candidate, policy: facts.policy, summary }, null, 2)}\n`,
            );
        } else {
            io.out(`\n${summary}\n`);
        }
        if (failure !== undefined) {
            throw new Refusal(`pulumi preview --stack ${stack.name} failed (the output is in ${out})`);
        }
    });
}
