import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "../dynamicResource";

/**
 * The stack's release key: 32 random bytes, created once with the stack and kept in its state
 * only as a secret. Secret settings enter the exported config hash and release id only through
 * an HMAC under this key (release/identity.ts keyedHash), so the same secret gives different hashes in two
 * stacks, and nobody holding the outputs can test a guessed secret offline. The key never
 * changes on later updates, so an unchanged stack keeps its release id.
 *
 * The provider functions are serialized into the state, so they require their modules inside.
 */

export interface ReleaseKeyOutputs {
    /** 64 hex characters; secret. */
    readonly key: string;
}

export const releaseKeyProvider: pulumi.dynamic.ResourceProvider = {
    async create() {
        const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
        return { id: randomBytes(8).toString("hex"), outs: { key: randomBytes(32).toString("hex") } };
    },
    // It has no inputs: nothing can change it, and a refresh keeps what the state holds.
    async diff() {
        return { changes: false };
    },
    async read(id: string, props: ReleaseKeyOutputs) {
        return { id, props };
    },
    async delete() {},
};

export class ReleaseKey extends DynamicResource {
    declare readonly key: pulumi.Output<string>;

    constructor(name: string, opts?: pulumi.CustomResourceOptions) {
        // The type was `…dynamic/delivery:release:ReleaseKey:Resource` before all dynamic types became `…dynamic/<folder>:<Type>`.
        const aliases = [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic/delivery:release:ReleaseKey:Resource" }];
        super(releaseKeyProvider, name, { key: undefined }, { ...opts, additionalSecretOutputs: ["key"], aliases }, "release", "ReleaseKey");
    }
}
