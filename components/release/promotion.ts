import * as pulumi from "@pulumi/pulumi";
import { COMMIT_SHA_PATTERN } from "../patterns";
import { ArgName, ArgProblem, CheckedComponent, argPath } from "../argProblems";
import { TAG_PATTERN, parsePinnedRef } from "../refs";
import { Registry } from "../registry/registry";
import { RegistryTag } from "../registry/registryTag";
import { GateOptions, GateRecord, blockedText, gate } from "./gate";
import { origins, parseVersion } from "./ledger";

/** The part of an upstream release a promotion needs. */
export interface PromotedRelease {
    readonly imageRef: string;
    readonly commitSha: string;
    /** The upstream release id (absent for a pin given by hand). */
    readonly releaseId?: string;
    /** The upstream ledger's number of it, `v7` (absent for a pin, or an upstream older than the ledger). */
    readonly version?: string;
    /** How it came here (ledger.ts `origins`): `promote staging v7`, `pin`, `rollback to v3`. */
    readonly origin: string;
    /** The upstream's `release.verification`, unchecked (gate.ts reads it); absent: never verified. */
    readonly verification?: unknown;
    /** What the promotion gate decided (readUpstreamRelease with a gate), recorded in the ledger entry. */
    readonly gate?: GateRecord;
}

/** `staging` → `organization/delivery/staging`; fully qualified names pass through. */
export function qualifiedStackName(stack: string, org = pulumi.getOrganization(), project = pulumi.getProject()): string {
    const parts = stack.split("/");
    if (parts.length === 3) {
        return stack;
    }
    if (parts.length === 2) {
        return `${parts[0]}/${project}/${parts[1]}`;
    }
    return `${org}/${project}/${stack}`;
}

/** Checks a release that crosses a stack boundary. Throws a message that names its origin. */
export function validatePromotedRelease(value: unknown, origin: string): PromotedRelease {
    const r = value as (Partial<PromotedRelease> & { version?: unknown; verification?: unknown }) | undefined;
    if (!r || typeof r !== "object" || typeof r.imageRef !== "string") {
        throw new Error(`${origin} exports no release (stack output "release.imageRef" is missing); run \`pulumi up\` there first`);
    }
    if (!parsePinnedRef(r.imageRef)) {
        throw new Error(`${origin} exports release image "${r.imageRef}", which is not pinned by digest; only repo@sha256:... refs can be promoted`);
    }
    if (typeof r.commitSha !== "string" || !COMMIT_SHA_PATTERN.test(r.commitSha)) {
        throw new Error(`${origin} exports release commit "${String(r.commitSha)}", which is not a commit SHA`);
    }
    const version = typeof r.version === "string" && parseVersion(r.version) !== undefined ? r.version : undefined;
    return {
        imageRef: r.imageRef,
        commitSha: r.commitSha,
        releaseId: r.releaseId,
        version,
        origin: r.origin ?? "",
        ...(r.verification !== undefined && r.verification !== null ? { verification: r.verification } : {}),
    };
}

/** The entry `version` of an upstream's `releases` output (newest first), or a message saying which it has. */
export function pickUpstreamRelease(releases: unknown, version: string, origin: string): unknown {
    const list = Array.isArray(releases) ? (releases as Array<{ version?: unknown }>) : [];
    const found = list.find((e) => e && e.version === version);
    if (!found) {
        const held = list.length > 0 ? `its releases output holds ${list.map((e) => e.version).join(", ")}` : "it exports no releases output";
        throw new Error(
            `${origin} has no release ${version} to promote (${held}); pick one with \`delivery releases --stack <upstream>\`, or raise delivery:releasesShown there to list older ones`,
        );
    }
    return found;
}

/** The upstream stack is not in the backend; `stacks` are those that are (short names), when they could be listed. */
export class UnknownStackError extends Error {
    constructor(
        readonly qualified: string,
        readonly stacks: readonly string[] | undefined,
        readonly listError?: string,
    ) {
        super(`stack "${qualified}" does not exist in this backend`);
        this.name = "UnknownStackError";
    }
}

/**
 * Fails with UnknownStackError when the stack does not exist. A StackReference to a missing
 * stack fails inside the engine ("unknown stack …"), which ends the update with the engine's
 * message before the program can name the setting; the builtin provider's readStackOutputs
 * invoke fails the same way but reaches the program as an ordinary error.
 */
export async function requireStack(qualified: string, listStacks: () => Promise<string[]> = listBackendStacks): Promise<void> {
    try {
        await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name: qualified });
    } catch (e) {
        if (!/unknown stack/i.test(String((e as Error)?.message ?? e))) {
            throw e;
        }
        const listed = await listStacks().then(
            (stacks) => ({ stacks, error: undefined }),
            (err: Error) => ({ stacks: undefined, error: err.message }),
        );
        throw new UnknownStackError(qualified, listed.stacks, listed.error);
    }
}

/** The stacks of this project in the backend the engine runs against (PULUMI_BACKEND_URL or the login), by short name. */
async function listBackendStacks(): Promise<string[]> {
    const { execFile } = await import("node:child_process");
    const out = await new Promise<string>((resolve, reject) =>
        execFile("pulumi", ["stack", "ls", "--json", "--non-interactive"], { timeout: 30_000 }, (err, stdout, stderr) =>
            err ? reject(new Error(stderr.trim().split("\n").pop() || err.message)) : resolve(stdout),
        ),
    );
    return (JSON.parse(out || "[]") as Array<{ name: string }>).map((s) => s.name.split("/").pop()!).sort();
}

/**
 * A `releases` entry with the upstream's verification when it is the release the upstream runs
 * (the same release id): only the running release exports one, so an older entry has none and
 * the promotion gate holds it back as not verified.
 */
export function withVerification(entry: unknown, current: unknown): unknown {
    const e = entry as { releaseId?: unknown } | undefined;
    const c = current as { releaseId?: unknown; verification?: unknown } | undefined;
    if (!e || typeof e !== "object" || !c || typeof c !== "object" || c.verification === undefined || e.releaseId !== c.releaseId) {
        return entry;
    }
    return { ...e, verification: c.verification };
}

/** The promotion gate readUpstreamRelease applies: its options, and the stack that promotes (for the fix command). */
export interface UpstreamGate extends GateOptions {
    readonly promotingStack: string;
}

/**
 * Reads the upstream stack's exported release before anything is registered, so that a
 * missing stack, a missing or unpinned release, or (with `gateWith`) one the promotion gate
 * holds back (gate.ts: not verified, failed, still soaking) stops the update with no resource
 * changed. An override the gate lets through is named in the origin and recorded as `gate`.
 */
export async function readUpstreamRelease(stack: string, version?: string, gateWith?: UpstreamGate): Promise<PromotedRelease> {
    const qualified = qualifiedStackName(stack);
    await requireStack(qualified);
    const ref = new pulumi.StackReference(`upstream-${stack.replace(/\//g, "-")}`, { name: qualified });
    const origin = `stack "${qualified}"`;
    const value = async (name: string) => {
        const details = await ref.getOutputDetails(name);
        return details.value ?? details.secretValue;
    };
    const release = validatePromotedRelease(
        version === undefined
            ? await value("release")
            : withVerification(pickUpstreamRelease(await value("releases"), version, origin), await value("release")),
        origin,
    );
    const short = stack.split("/").pop()!;
    if (gateWith === undefined) {
        return { ...release, origin: origins.promote(short, release.version) };
    }
    const { decision, record } = gate(
        { stack: short, version: release.version, releaseId: release.releaseId, verification: release.verification },
        gateWith,
        gateWith.promotingStack,
    );
    const unverified = decision.decision === "overridden" ? blockedText(decision.blocked) : undefined;
    return { ...release, origin: origins.promote(short, release.version, unverified), gate: record };
}

export interface PromotionArgs {
    /** The release to promote: an upstream stack's (readUpstreamRelease) or a pin. */
    readonly release: PromotedRelease;
    /** Where `tag` is added; the release must live in it. */
    readonly registry: Registry;
    /** Extra registry tag for the promoted digest (the git tag). @default undefined (no tag) @example "v1.2.3" */
    readonly tag?: string;
    /** Whether `tag` may move to another digest; a release tag never is. @default false */
    readonly tagMutable?: boolean;
}

/** The args promotionProblems reads: the release's ref, the registry's server and the tag. */
export interface PromotionRules {
    readonly imageRef?: string;
    readonly registryServer?: string;
    readonly tag?: string;
}

/** What makes a release unpromotable: a mutable ref, a bad tag, or a tag for a release in another registry. */
export function promotionProblems(args: PromotionRules, name: ArgName = argPath): ArgProblem[] {
    if (args.imageRef === undefined) {
        return [];
    }
    const pinned = parsePinnedRef(args.imageRef);
    if (!pinned) {
        return [{ arg: "release.imageRef", message: `"${args.imageRef}" is not pinned by digest; refusing to promote a mutable tag` }];
    }
    if (args.tag === undefined) {
        return [];
    }
    if (!TAG_PATTERN.test(args.tag)) {
        return [{ arg: "tag", message: `${name("tag")} "${args.tag}" is not a valid image tag` }];
    }
    if (args.registryServer !== undefined && !pinned.repository.startsWith(`${args.registryServer}/`)) {
        return [
            {
                arg: "tag",
                message: `the release lives in ${pinned.repository}, not in registry ${args.registryServer}; cannot add tag "${args.tag}" there`,
            },
        ];
    }
    return [];
}

/**
 * Promotes an existing release: no build, only the digest it was given. With a tag,
 * the registry gets that tag on the very same manifest.
 */
export class Promotion extends CheckedComponent {
    readonly imageRef: string;
    readonly digest: string;
    readonly commitSha: string;
    readonly origin: string;
    readonly taggedRef?: pulumi.Output<string>;
    /** The registry tags it writes on the digest (what pulls it waits for them: registryTag.ts afterTagged). */
    readonly tags: RegistryTag[] = [];

    constructor(name: string, args: PromotionArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "delivery:release:Promotion",
            name,
            promotionProblems({ imageRef: args.release.imageRef, registryServer: args.registry.server, tag: args.tag }),
            opts,
        );
        const pinned = parsePinnedRef(args.release.imageRef)!;
        this.imageRef = args.release.imageRef;
        this.digest = pinned.digest;
        this.commitSha = args.release.commitSha;
        this.origin = args.release.origin;
        if (args.tag !== undefined) {
            const prefix = `${args.registry.server}/`;
            const tag = new RegistryTag(
                `${name}-tag`,
                {
                    server: args.registry.server,
                    repository: pinned.repository.slice(prefix.length),
                    digest: pinned.digest,
                    tag: args.tag,
                    insecure: args.registry.insecure,
                    mutable: args.tagMutable ?? false,
                    credentials: args.registry.pushCredentials,
                },
                { parent: this },
            );
            this.taggedRef = pulumi.interpolate`${pinned.repository}:${tag.tag}@${tag.digest}`;
            this.tags.push(tag);
        }
        this.registerOutputs({ imageRef: this.imageRef, taggedRef: this.taggedRef });
    }
}
