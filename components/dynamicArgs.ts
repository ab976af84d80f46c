import * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic resource's Args: each of its provider's Inputs as a `pulumi.Input`, optional where the
 * input is. The docs live once, on the Inputs (what the provider receives).
 */
export type ArgsOf<I> = { readonly [K in keyof I]: pulumi.Input<I[K]> };
