import * as pulumi from "@pulumi/pulumi";
import { isDigestPinned, parsePinnedRef } from "../refs";
import { releaseActor } from "./actor";
import { configHash, keyedHash, releaseId } from "./identity";
import { Registry } from "../registry/registry";
import { RegistryTag, afterTagged } from "../registry/registryTag";
import type { GateRecord } from "./gate";
import { LedgerActor, LedgerCandidate, LedgerEntry, currentEntry, releaseTag } from "./ledger";
import { ReleaseKey } from "./releaseKey";
import { ReleaseLedger } from "./releaseLedger";

/** What a stack exports as `release`, and what a downstream stack promotes. */
export interface ReleaseInfo {
    /** `repository@sha256:...`: the only way a release names its image. */
    readonly imageRef: string;
    readonly digest: string;
    readonly commitSha: string;
    readonly releaseId: string;
    readonly configHash: string;
    /** When the ledger entry of this release was made. */
    readonly createdAt: string;
    readonly stack: string;
    /** As the ledger recorded it: `build`, `promote staging v7`, `rollback to v3`, `pin`. */
    readonly origin: string;
    /** Its number in the stack's ledger, and as `v<number>`. */
    readonly number: number;
    readonly version: string;
}

export interface ReleaseArgs {
    /** Digest-pinned image ref, from a build (an Output) or a promotion (a string, checked at once). @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly imageRef: pulumi.Input<string>;
    /** The commit the image was built from. */
    readonly commitSha: pulumi.Input<string>;
    /** Plain settings handed to the app. @example { GREETING: "hello" } */
    readonly env: Readonly<Record<string, string>>;
    /** Secret settings; only their HMAC under the stack's release key enters the release id and the ledger. */
    readonly secretEnv: pulumi.Input<Readonly<Record<string, string>>>;
    /** The stack that makes the release. @example "staging" */
    readonly stack: string;
    /** How the image came here (ledger.ts `origins`). @example "promote staging v7" */
    readonly origin: string;
    /** For a rollback: the ledger entry run again (the ledger checks it holds this image). */
    readonly rollbackOf?: number;
    /** For a promotion: what the promotion gate decided (gate.ts), recorded in the ledger entry. */
    readonly gate?: GateRecord;
    /**
     * Where the release's immutable tag (ledger.ts releaseTag) is added, when its image lives
     * there. @default undefined (no tag)
     */
    readonly registry?: Registry;
    /** Who makes the release, and from which CI job. @default releaseActor() (CI variables, else the git user) */
    readonly actor?: LedgerActor;
    /**
     * Registry tags other components write on the same digest (a promotion's git tag): the
     * release tag is written after them, and `imageRef` resolves after all of them
     * (registryTag.ts afterTagged). @default []
     */
    readonly tags?: RegistryTag[];
}

/**
 * Release = one build (image digest) + one stack's config (Twelve-Factor V). Its id is
 * derived from both, so the same digest with another config is another release, and
 * the id of a release never changes. Each new release is numbered in the stack's ledger.
 */
export class Release extends pulumi.ComponentResource {
    readonly releaseId: pulumi.Output<string>;
    readonly configHash: pulumi.Output<string>;
    readonly imageRef: pulumi.Output<string>;
    /** Every release the stack ran, oldest first. */
    readonly entries: pulumi.Output<LedgerEntry[]>;
    /** Keeps the registry tags of two incarnations of one stack name apart (ledger.ts releaseTag). */
    readonly ledgerId: pulumi.Output<string>;
    /** Everything a downstream stack needs; exported as the stack's `release`. */
    readonly info: pulumi.Output<ReleaseInfo>;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        const refused = (ref: string) =>
            `Release "${name}": image "${ref}" is not pinned by digest (repository@sha256:<hex>); refusing to release a mutable tag`;
        // A known ref (a promotion, a pin) is checked at once, before anything is registered; only
        // a ref still to come (a build's digest) is checked when it resolves (pulumi-eks's validatedInput).
        if (typeof args.imageRef === "string" && !isDigestPinned(args.imageRef)) {
            throw new pulumi.ResourceError(refused(args.imageRef), opts?.parent);
        }
        super("delivery:release:Release", name, {}, opts);
        const imageRef =
            typeof args.imageRef === "string"
                ? pulumi.output(args.imageRef)
                : pulumi.output(args.imageRef).apply((ref) => {
                      if (!isDigestPinned(ref)) {
                          throw new pulumi.ResourceError(refused(ref), this);
                      }
                      return ref;
                  });
        // Secret values enter the hash and the ledger only keyed by the stack's secret release key
        // (see configHash), so neither is secret itself. Without secrets the key is not waited
        // for: a first preview then already knows the release id.
        const key = new ReleaseKey(`${name}-key`, { parent: this });
        const keyed = <T>(withKey: (secretEnv: Readonly<Record<string, string>>, key: string) => T, without: T): pulumi.Output<T> =>
            pulumi.unsecret(
                pulumi
                    .output(args.secretEnv)
                    .apply((secretEnv) => (Object.keys(secretEnv).length === 0 ? without : key.key.apply((k) => withKey(secretEnv, k)))),
            ) as unknown as pulumi.Output<T>;
        this.configHash = keyed((secretEnv, k) => configHash(args.env, secretEnv, k), configHash(args.env));
        const secretHashes = keyed<Record<string, string>>(
            (secretEnv, k) => Object.fromEntries(Object.keys(secretEnv).map((n) => [n, keyedHash(k, n, secretEnv[n])])),
            {},
        );
        this.releaseId = pulumi.all([imageRef, this.configHash]).apply(([ref, hash]) => releaseId(parsePinnedRef(ref)!.digest, hash));
        const candidate = pulumi
            .all([imageRef, args.commitSha, this.releaseId, this.configHash, secretHashes])
            .apply(([imageRef, commitSha, id, hash, secrets]): LedgerCandidate => ({
                ...(args.actor ?? releaseActor()),
                releaseId: id,
                imageRef,
                digest: parsePinnedRef(imageRef)!.digest,
                commitSha,
                configHash: hash,
                origin: args.origin,
                settings: { env: { ...args.env }, secrets },
                ...(args.rollbackOf !== undefined ? { rollbackOf: args.rollbackOf } : {}),
                ...(args.gate !== undefined ? { gate: args.gate } : {}),
            }));
        // The ledger took over from ReleaseRecord (one entry, replaced on every release): the
        // alias makes an older stack's record its first entry instead of deleting it.
        const ledger = new ReleaseLedger(
            `${name}-ledger`,
            { candidate },
            {
                parent: this,
                aliases: [
                    { name: `${name}-record`, type: "pulumi-nodejs:dynamic/release:ReleaseRecord" },
                    { name: `${name}-record`, type: "pulumi-nodejs:dynamic/delivery:release:ReleaseRecord:Resource" },
                ],
            },
        );
        this.entries = ledger.entries;
        this.ledgerId = ledger.ledgerId;
        this.info = ledger.entries.apply((entries) => {
            const e = currentEntry(entries)!;
            return {
                imageRef: e.imageRef,
                digest: e.digest,
                commitSha: e.commitSha,
                releaseId: e.releaseId,
                configHash: e.configHash,
                createdAt: e.at,
                stack: args.stack,
                origin: e.origin,
                number: e.number,
                version: e.version,
            };
        });
        // A known ref in another registry (a pin from elsewhere) is not the stack's to tag; a build always is.
        const tags = [...(args.tags ?? [])];
        if (args.registry && (typeof args.imageRef !== "string" || args.imageRef.startsWith(`${args.registry.server}/`))) {
            tags.push(this.createTag(name, args.stack, args.registry, imageRef, args.tags ?? []));
        }
        // What deploys the release pulls the digest only once every tag on it is written.
        this.imageRef = afterTagged(imageRef, tags);
        this.registerOutputs({ info: this.info });
    }

    /**
     * Every release gets an immutable registry tag on its digest, which the cleanup policy's keep
     * regex always covers (components/gitlab), so no digest a ledger names can be cleaned up. The
     * tag is never deleted: a later release replaces the resource, not the tag.
     */
    private createTag(name: string, stack: string, registry: Registry, imageRef: pulumi.Output<string>, after: RegistryTag[]): RegistryTag {
        const prefix = `${registry.server}/`;
        const pinned = imageRef.apply((ref) => parsePinnedRef(ref)!);
        return new RegistryTag(
            `${name}-tag`,
            {
                server: registry.server,
                repository: pinned.apply((p) => p.repository.slice(prefix.length)),
                digest: pinned.apply((p) => p.digest),
                tag: pulumi.all([this.info, this.ledgerId]).apply(([info, id]) => releaseTag(stack, info.version, id)),
                insecure: registry.insecure,
                mutable: false,
                credentials: registry.pushCredentials,
            },
            { parent: this, retainOnDelete: true, dependsOn: after },
        );
    }
}
