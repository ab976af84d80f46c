import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { join, resolve } from "node:path";
import { ManifestLocation, manifestExists } from "../components/registry/registryTag";
import { LedgerEntry, currentEntry, findEntry, rangeText } from "../components/release/ledger";
import { entriesOf } from "../components/release/releaseLedger";
import { parsePinnedRef, splitRepository } from "../components/refs";
import { engineCommand } from "./engineCommand";
import { io, Refusal } from "./io";
import { Progress } from "./progress";

/** The state resource that holds a stack's ledger (components/release/releaseLedger.ts). */
export const LEDGER_TYPE = "pulumi-nodejs:dynamic/release:ReleaseLedger";
export const LEDGER_NAME = "release-ledger";

/** The clone this command belongs to: the project's Pulumi.yaml, policy/ and git history. */
export const CLONE = resolve(__dirname, "..");

/** The documented, non-secret passphrase of the dev stack (as scripts/main and scripts/down use it). */
const DEV_PASSPHRASE = "delivery-dev";

export interface StackOptions {
    readonly stack: string;
    /** `-C`: the project directory (default: this clone). */
    readonly projectDir?: string;
}

export function projectDir(opts: Pick<StackOptions, "projectDir">): string {
    return resolve(opts.projectDir ?? CLONE);
}

/** Selects an existing stack of the project in the backend that PULUMI_BACKEND_URL names (never creates one). */
export async function openStack(opts: StackOptions): Promise<Stack> {
    if (opts.stack === "dev" && process.env.PULUMI_CONFIG_PASSPHRASE === undefined && process.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
        process.env.PULUMI_CONFIG_PASSPHRASE = DEV_PASSPHRASE;
    }
    try {
        return await LocalWorkspace.selectStack({ stackName: opts.stack, workDir: projectDir(opts) }, { pulumiCommand: await engineCommand() });
    } catch (e) {
        const text = String((e as Error).message ?? e);
        if (/no stack named|not found|does not exist/i.test(text)) {
            throw new Refusal(
                `stack "${opts.stack}" does not exist in the backend ${process.env.PULUMI_BACKEND_URL ?? "(PULUMI_BACKEND_URL unset)"}; ` +
                    `pulumi stack ls lists the stacks there, and --stack picks one`,
            );
        }
        throw new Refusal(`cannot select stack "${opts.stack}": ${firstErrorLine(text)}`);
    }
}

export interface Ledger {
    readonly stack: string;
    /** All entries, oldest first. */
    readonly entries: LedgerEntry[];
    readonly ledgerId?: string;
}

interface StateResource {
    type: string;
    urn: string;
    outputs?: Record<string, unknown>;
}

/** Whether a state value is an encrypted secret (the engine's signature key). */
const isSecretValue = (v: unknown): boolean => typeof v === "object" && v !== null && "4dabf18193072939515e22adb298388d" in v;

/** The ledger in a stack's exported state: all entries, not the `releases` output (which is the newest 20). */
export function ledgerFromState(stackName: string, deployment: { resources?: StateResource[] }, opts: { allowMissing?: boolean } = {}): Ledger {
    const resources = deployment.resources ?? [];
    const ledger = resources.find((r) => r.type === LEDGER_TYPE) ?? resources.find((r) => r.urn.endsWith(`::${LEDGER_NAME}`));
    if (!ledger && opts.allowMissing) {
        return { stack: stackName, entries: [] };
    }
    if (!ledger) {
        throw new Refusal(`stack "${stackName}" has no release ledger in its state yet; its first release makes one: pulumi up --stack ${stackName}`);
    }
    const outputs = ledger.outputs ?? {};
    if (isSecretValue(outputs.entriesJson) || isSecretValue(outputs.entries)) {
        throw new Refusal(`stack "${stackName}" keeps its ledger entries encrypted in the state; they cannot be read without the stack's secrets`);
    }
    if (typeof outputs.entriesJson !== "string" && !Array.isArray(outputs.entries)) {
        throw new Refusal(`stack "${stackName}" has a release ledger without entries in its state (${ledger.urn})`);
    }
    const ledgerId = outputs.ledgerId;
    return { stack: stackName, entries: entriesOf(outputs), ledgerId: typeof ledgerId === "string" ? ledgerId : undefined };
}

export async function readLedger(stack: Stack): Promise<Ledger> {
    const state = await stack.exportStack();
    return ledgerFromState(stack.name, state.deployment ?? {});
}

/** Entry `n`, or a refusal naming the range the ledger holds. */
export function entryOrRefuse(ledger: Ledger, n: number): LedgerEntry {
    const entry = findEntry(ledger.entries, n);
    if (!entry) {
        throw new Refusal(`stack ${ledger.stack} has no v${n}: its ledger holds ${rangeText(ledger.entries)} (delivery releases --stack ${ledger.stack})`);
    }
    return entry;
}

/** The entry that runs now, or a refusal naming how to make one. */
export function runningEntry(ledger: Ledger): LedgerEntry {
    const current = currentEntry(ledger.entries);
    if (!current) {
        throw new Refusal(`stack "${ledger.stack}" has no release yet; its first release: pulumi up --stack ${ledger.stack}`);
    }
    return current;
}

/**
 * Where an image's manifest is read, and with which credentials: the stack's registry settings
 * (delivery:registryServer/Username/Password/Insecure, else CI_REGISTRY, CI_REGISTRY_USER,
 * CI_REGISTRY_PASSWORD) when the image lives on that registry; anonymous HTTPS otherwise.
 */
export async function manifestLocation(stack: Stack, imageRef: string): Promise<ManifestLocation> {
    const pinned = parsePinnedRef(imageRef);
    if (!pinned) {
        throw new Refusal(`the ledger names ${imageRef}, which is not pinned by digest (repository@sha256:…)`);
    }
    const { server, path: repository } = splitRepository(pinned.repository);
    const config = await stack.getAllConfig();
    const get = (key: string): string | undefined => config[`delivery:${key}`]?.value;
    const configured = get("registryServer") ?? process.env.CI_REGISTRY;
    if (configured !== server) {
        return { server, repository, digest: pinned.digest, insecure: false };
    }
    return {
        server,
        repository,
        digest: pinned.digest,
        insecure: get("registryInsecure") === "true",
        username: get("registryUsername") ?? process.env.CI_REGISTRY_USER,
        password: get("registryPassword") ?? process.env.CI_REGISTRY_PASSWORD,
    };
}

/** Refuses, before anything changes, an entry whose image the registry no longer holds. */
export async function requireImageInRegistry(stack: Stack, entry: LedgerEntry): Promise<void> {
    const location = await manifestLocation(stack, entry.imageRef);
    let present: boolean;
    try {
        present = await manifestExists(location);
    } catch (e) {
        const cause = (e as Error & { cause?: Error }).cause;
        throw new Refusal(
            `cannot check that ${entry.version}'s image ${entry.imageRef} is still in the registry: ${(e as Error).message}${cause ? ` (${cause.message})` : ""}; nothing was changed`,
        );
    }
    if (!present) {
        throw new Refusal(
            `${entry.version}'s image is gone from the registry: ${location.server} answers 404 for ${location.repository}@${location.digest} ` +
                `(deleted, e.g. by the registry's cleanup policy). Nothing was changed. Rebuild commit ${entry.commitSha} ` +
                `(a pipeline on it, or pulumi up on a stack that builds), or pick another release from: delivery releases --stack ${stack.name}`,
        );
    }
}

export interface UpOptions {
    /** The DELIVERY_* variables the program reads for this update. */
    readonly envVars: Record<string, string>;
    /** What the progress line calls the update. */
    readonly label: string;
    readonly projectDir: string;
}

/**
 * `pulumi up` on the stack with the project's policy pack (as scripts/ci passes it), the given
 * variables set on the workspace for this update only, and the progress line on stderr.
 */
export async function runUp(stack: Stack, opts: UpOptions): Promise<void> {
    const workspace = stack.workspace;
    const saved = { ...workspace.envVars };
    workspace.envVars = { ...saved, ...opts.envVars };
    const progress = new Progress(opts.label);
    try {
        // --refresh, as the CI jobs run it: a hand edit (a stopped container, kubectl set image) is found and taken back.
        await stack.up({ refresh: true, policyPacks: [join(opts.projectDir, "policy")], onEvent: progress.onEvent, color: "never" });
        progress.stop("done");
    } catch (e) {
        progress.stop("failed");
        const reasons = progress.errors.length > 0 ? progress.errors.join("\n") : firstErrorLine(String((e as Error).message ?? e));
        throw new Refusal(`pulumi up --stack ${stack.name} failed:\n${reasons}`);
    } finally {
        workspace.envVars = saved;
    }
}

/** The engine's own `error:` lines out of a CommandError, else its first line. */
export function firstErrorLine(text: string): string {
    const errors = text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^error:/i.test(l));
    return errors.length > 0 ? errors.join("\n") : (text.split("\n").find((l) => l.trim() !== "") ?? text);
}

/** Writes a note on stderr (never stdout, which --json keeps for the answer). */
export function note(text: string): void {
    io.err(`${text}\n`);
}
