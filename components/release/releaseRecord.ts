import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { isDigestPinned } from "../refs";

/**
 * An immutable record of one release in the stack's state. Its inputs are the release's
 * identity; any change replaces it, and its `createdAt` is fixed when it is created, so a
 * re-run of `pulumi up` on the same release changes nothing.
 */

export interface ReleaseRecordInputs {
    /** Derived from the digest and the config hash; the record's id. @example "r-0123456789ab" */
    readonly releaseId: string;
    /** Digest-pinned; anything else fails the check. @example "127.0.0.1:5000/delivery/app@sha256:…" */
    readonly imageRef: string;
    /** The commit the image was built from. */
    readonly commitSha: string;
    /** The release's config hash (secrets only keyed). @example "sha256:…" */
    readonly configHash: string;
    /** The stack that made the release. @example "staging" */
    readonly stack: string;
    /** `build`, `promote:<stack>` or `pin`. */
    readonly origin: string;
}

export type ReleaseRecordArgs = ArgsOf<ReleaseRecordInputs>;

const IDENTITY = ["releaseId", "imageRef", "commitSha", "configHash", "stack", "origin"] as const;

export const releaseRecordProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: ReleaseRecordInputs, news: ReleaseRecordInputs) {
        // During a preview the ref is not known yet: the engine sends its "unknown" sentinel.
        const unknown = news.imageRef === pulumi.runtime.unknownValue;
        const failures =
            unknown || isDigestPinned(news.imageRef ?? "")
                ? []
                : [{ property: "imageRef", reason: `"${news.imageRef}" is not pinned by digest; a release names exactly one image (repo@sha256:...)` }];
        return { inputs: news, failures };
    },
    async create(inputs: ReleaseRecordInputs) {
        return { id: inputs.releaseId, outs: { ...inputs, createdAt: new Date().toISOString() } };
    },
    async diff(_id: string, olds: ReleaseRecordInputs, news: ReleaseRecordInputs) {
        const replaces = IDENTITY.filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async delete() {},
};

export class ReleaseRecord extends pulumi.dynamic.Resource {
    declare readonly createdAt: pulumi.Output<string>;
    declare readonly releaseId: pulumi.Output<string>;

    constructor(name: string, args: ReleaseRecordArgs, opts?: pulumi.CustomResourceOptions) {
        const aliases = [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic/delivery:release:ReleaseRecord:Resource" }];
        super(releaseRecordProvider, name, { ...args, createdAt: undefined }, { ...opts, aliases }, "release", "ReleaseRecord");
    }
}
