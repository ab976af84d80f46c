import { createHash, createHmac } from "node:crypto";

/**
 * A release's identity: the hash of its configuration (secrets only keyed, see ReleaseKey) and
 * the id derived from one image digest plus that hash. Pure, so that it is property-tested.
 */

/**
 * A stable digest of a release's configuration. Keys are sorted so that the order in
 * the stack file does not matter. Secret values are included (a config change must make a
 * new release) but only through an HMAC-SHA256 keyed with the stack's release key (a random
 * secret kept in the stack's state, see ReleaseKey): the hash is exported, and an unkeyed hash
 * of a secret would let anyone holding the outputs test a guessed value offline.
 */
export function configHash(env: Record<string, string>, secretEnv: Record<string, string> = {}, secretKey?: string): string {
    const secretNames = Object.keys(secretEnv).sort();
    if (secretNames.length > 0 && !secretKey) {
        throw new Error("configHash: secret settings need the stack's release key (none was given)");
    }
    const h = createHash("sha256");
    for (const key of Object.keys(env).sort()) {
        h.update(`env\0${key}\0${env[key]}\0`);
    }
    for (const key of secretNames) {
        h.update(`secret\0${key}\0${keyedHash(secretKey!, key, secretEnv[key])}\0`);
    }
    return `sha256:${h.digest("hex")}`;
}

/**
 * HMAC-SHA256 of one secret setting (its name and value) under a stack's release key: stable
 * while the key and value stay, useless for guessing without the key.
 */
export function keyedHash(secretKey: string, name: string, value: string): string {
    if (!secretKey) {
        throw new Error("keyedHash: the release key is empty");
    }
    return createHmac("sha256", secretKey).update(`${name}\0${value}`).digest("hex");
}

/** A release is one image digest plus one config: its id is derived from both, so it is immutable. */
export function releaseId(digest: string, cfgHash: string): string {
    const h = createHash("sha256").update(`${digest}\0${cfgHash}`).digest("hex");
    return `r-${h.slice(0, 12)}`;
}
