import * as pulumi from "@pulumi/pulumi";
import { isDigestPinned, parsePinnedRef } from "../refs";
import { configHash, releaseId } from "./identity";
import { ReleaseKey } from "./releaseKey";
import { ReleaseRecord } from "./releaseRecord";

/** What a stack exports as `release`, and what a downstream stack promotes. */
export interface ReleaseInfo {
    /** `repository@sha256:...`: the only way a release names its image. */
    readonly imageRef: string;
    readonly digest: string;
    readonly commitSha: string;
    readonly releaseId: string;
    readonly configHash: string;
    readonly createdAt: string;
    readonly stack: string;
    readonly origin: string;
}

export interface ReleaseArgs {
    /** Digest-pinned image ref, from a build (an Output) or a promotion (a string, checked at once). @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly imageRef: pulumi.Input<string>;
    /** The commit the image was built from. */
    readonly commitSha: pulumi.Input<string>;
    /** Plain settings handed to the app. @example { GREETING: "hello" } */
    readonly env: Readonly<Record<string, string>>;
    /** Secret settings; only their HMAC under the stack's release key enters the release id. */
    readonly secretEnv: pulumi.Input<Readonly<Record<string, string>>>;
    /** The stack that makes the release. @example "staging" */
    readonly stack: string;
    /** `build`, `promote:<stack>` or `pin`. @example "promote:staging" */
    readonly origin: string;
}

/**
 * Release = one build (image digest) + one stack's config (Twelve-Factor V). Its id is
 * derived from both, so the same digest with another config is another release, and
 * the id of a release never changes.
 */
export class Release extends pulumi.ComponentResource {
    readonly releaseId: pulumi.Output<string>;
    readonly configHash: pulumi.Output<string>;
    readonly imageRef: pulumi.Output<string>;
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
        this.imageRef =
            typeof args.imageRef === "string"
                ? pulumi.output(args.imageRef)
                : pulumi.output(args.imageRef).apply((ref) => {
                      if (!isDigestPinned(ref)) {
                          throw new pulumi.ResourceError(refused(ref), this);
                      }
                      return ref;
                  });
        // Secret values enter the hash only keyed by the stack's secret release key (see
        // configHash), so the hash is not secret itself. Without secrets the key is not waited
        // for: a first preview then already knows the release id.
        const key = new ReleaseKey(`${name}-key`, { parent: this });
        this.configHash = pulumi.unsecret(
            pulumi
                .output(args.secretEnv)
                .apply((secretEnv) =>
                    Object.keys(secretEnv).length === 0 ? pulumi.output(configHash(args.env)) : key.key.apply((k) => configHash(args.env, secretEnv, k)),
                ),
        );
        this.releaseId = pulumi.all([this.imageRef, this.configHash]).apply(([ref, hash]) => releaseId(parsePinnedRef(ref)!.digest, hash));
        const record = new ReleaseRecord(
            `${name}-record`,
            {
                releaseId: this.releaseId,
                imageRef: this.imageRef,
                commitSha: args.commitSha,
                configHash: this.configHash,
                stack: args.stack,
                origin: args.origin,
            },
            { parent: this },
        );
        this.info = pulumi
            .all([this.imageRef, args.commitSha, this.releaseId, this.configHash, record.createdAt])
            .apply(([imageRef, commitSha, id, hash, createdAt]) => ({
                imageRef,
                digest: parsePinnedRef(imageRef)!.digest,
                commitSha,
                releaseId: id,
                configHash: hash,
                createdAt,
                stack: args.stack,
                origin: args.origin,
            }));
        this.registerOutputs({ info: this.info });
    }
}
